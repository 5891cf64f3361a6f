"""Deal terms, periods and commitments: what a deal asks of its supply listing.

No over-commitment
------------------
Accepted and active deals (and, for a one-off batch, completed ones) commit
tonnes of their supply listing. The acceptance that makes a deal ``accepted``
is refused when the committed tonnes would exceed what the listing offers,
comparing like with like:

- a one-off batch (recurrence "once") offers its tonnes once: the deals on it
  must be one-off too, and the sum of their tonnes must not exceed the batch;
- a recurring listing (per month or per year) offers a rate: deals on it are
  per month or per year, all rates are converted to tonnes per year (x12 for
  months: exact, no division), and for every calendar month the deal runs in,
  the rates of the committed deals running in that month plus this deal's
  must not exceed the listing's rate. Deals in different months do not
  compete, so a new deal for next year is not refused by this year's.

The check runs with the supply listing row locked, and every transition that
changes what is committed locks it first, so two acceptances at the same
moment are serialised on PostgreSQL and the second sees the first.

A listing lowered or re-periodised after deals were accepted is not refused
here (symbiosis.services owns listing edits); a deal whose period no longer
matches its listing's is counted at its tonnes per the listing's period.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from marketplace.models import Deal
from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.models.listings import Recurrence, Status

State = Deal.State

TERMS_FIELDS = frozenset(
    {"tonnes_per_period", "period", "price_kzt_per_t", "transport_by", "start_date", "end_date"}
)
MONTHS_PER_YEAR = 12
MAX_DEAL_MONTHS = 120
TONNES_QUANTUM = Decimal("0.0001")


def months_spanned(start: date, end: date) -> int:
    """Calendar months a deal runs in, both ends counted (Jan 15 - Mar 14: 3)."""
    return (end.year - start.year) * MONTHS_PER_YEAR + end.month - start.month + 1


def _month_index(day: date) -> int:
    return day.year * MONTHS_PER_YEAR + day.month - 1


def tonnes_total_for(*, tonnes_per_period, period: str, start_date, end_date) -> Decimal:
    """Total tonnes of a deal: per period x the calendar months (or years) it runs in."""
    tonnes = Decimal(tonnes_per_period)
    if period == Recurrence.ONCE:
        return tonnes
    months = months_spanned(start_date, end_date)
    if period == Recurrence.MONTHLY:
        return tonnes * months
    return (tonnes * months / MONTHS_PER_YEAR).quantize(TONNES_QUANTUM)


def tonnes_per_year(tonnes, period: str, listing_period: str) -> Decimal:
    """A rate in tonnes per year; a one-off is read in the listing's period."""
    if period == Recurrence.ONCE:
        period = listing_period
    return Decimal(tonnes) * (MONTHS_PER_YEAR if period == Recurrence.MONTHLY else 1)


def _periods_match(deal_period: str, listing_period: str) -> bool:
    return (deal_period == Recurrence.ONCE) == (listing_period == Recurrence.ONCE)


def _period_label(period: str) -> str:
    """The rate's unit ("per month", "per year") in the current language; "" if one-off."""
    if period not in (Recurrence.MONTHLY, Recurrence.YEARLY):
        return ""
    return str(Recurrence(period).label)


def _in_listing_units(tonnes_per_year_value: Decimal, listing_period: str) -> Decimal:
    if listing_period == Recurrence.MONTHLY:
        return (tonnes_per_year_value / MONTHS_PER_YEAR).quantize(Decimal("0.001"))
    return tonnes_per_year_value.quantize(Decimal("0.001"))


def committing_states(listing_period: str) -> tuple[str, ...]:
    if listing_period == Recurrence.ONCE:
        # A one-off batch is used up by a deal that took it.
        return (State.ACCEPTED, State.ACTIVE, State.COMPLETED)
    return (State.ACCEPTED, State.ACTIVE)


def _committed_deals(supply: SupplyListing, deal: Deal) -> list[Deal]:
    """Other deals that commit tonnes of ``supply`` alongside ``deal``."""
    others = Deal.objects.filter(
        supply_id=supply.pk, state__in=committing_states(supply.recurrence)
    ).exclude(pk=deal.pk)
    if supply.recurrence != Recurrence.ONCE:
        # Deals sharing a calendar month with this one, even on different days.
        first_day = deal.start_date.replace(day=1)
        after_last = (deal.end_date.replace(day=1) + timedelta(days=32)).replace(day=1)
        others = others.filter(start_date__lt=after_last, end_date__gte=first_day)
    return list(
        others.only("tonnes_per_period", "tonnes_total", "period", "start_date", "end_date")
    )


def supply_overcommitment_error(supply: SupplyListing) -> str | None:
    """Why ``supply`` as it stands (e.g. edited down) no longer covers its
    accepted and active deals, or None. Call with the supply row locked."""
    committed = Deal.objects.filter(
        supply_id=supply.pk, state__in=committing_states(supply.recurrence)
    )
    for deal in committed:
        # Only the listing's owner (or a facilitator) edits it: the figures may be named.
        error = overcommitment_error(supply, deal, detailed=True)
        if error:
            return _("Deals already accepted need more than this listing would offer: %(why)s") % {
                "why": error
            }
    return None


def overcommitment_error(
    supply: SupplyListing, deal: Deal, *, detailed: bool = False
) -> str | None:
    """Why committing ``deal`` would over-commit ``supply``, or None.

    The reason names what is left of the listing, which tells how much other
    deals took: only with ``detailed`` (for the listing's owner or a
    facilitator). A counterparty learns only that the listing cannot take this
    much now. Call with the supply row locked (``select_for_update``).
    """
    problem = _overcommitment_detail(supply, deal)
    if problem is None or detailed:
        return problem
    return _("The listing cannot take this much now; ask the supplier what it can offer.")


def _overcommitment_detail(supply: SupplyListing, deal: Deal) -> str | None:
    others = _committed_deals(supply, deal)
    if supply.recurrence == Recurrence.ONCE:
        committed = sum((d.tonnes_total for d in others), Decimal(0))
        if committed + deal.tonnes_total > supply.tonnes:
            return _(
                "Only %(left)s t of this one-off batch of %(offered)s t are not yet committed; "
                "this deal needs %(need)s t."
            ) % {
                "left": plain_number(max(supply.tonnes - committed, Decimal(0))),
                "offered": plain_number(supply.tonnes),
                "need": plain_number(deal.tonnes_total),
            }
        return None
    capacity = tonnes_per_year(supply.tonnes, supply.recurrence, supply.recurrence)
    need = tonnes_per_year(deal.tonnes_per_period, deal.period, supply.recurrence)
    spans = [(_month_index(d.start_date), _month_index(d.end_date), d) for d in others]
    first, last = _month_index(deal.start_date), _month_index(deal.end_date)
    for month in range(first, last + 1):
        committed = sum(
            (
                tonnes_per_year(d.tonnes_per_period, d.period, supply.recurrence)
                for start, end, d in spans
                if start <= month <= end
            ),
            Decimal(0),
        )
        if committed + need > capacity:
            unit = _period_label(supply.recurrence)
            return _(
                "In %(month)s only %(left)s t %(unit)s of this listing's %(offered)s t "
                "%(unit)s are not yet committed; this deal needs %(need)s t %(unit)s."
            ) % {
                "month": date(month // MONTHS_PER_YEAR, month % MONTHS_PER_YEAR + 1, 1).strftime(
                    "%B %Y"
                ),
                "left": _in_listing_units(max(capacity - committed, Decimal(0)), supply.recurrence),
                "offered": plain_number(supply.tonnes),
                "need": _in_listing_units(need, supply.recurrence),
                "unit": unit,
            }
    return None


_RELATIONS = [
    "supplier",
    "receiver",
    "supply",
    "demand",
    "receiver_site",
    "material",
    "proposal",
    "factor_set",
    "created_by",
]


def terms_errors(deal: Deal, supply: SupplyListing) -> dict:
    """Field errors of the deal's terms against its supply listing; sets ``tonnes_total``."""
    errors: dict[str, list] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    try:
        deal.clean_fields(exclude=[*_RELATIONS, "tonnes_total"])
    except ValidationError as exc:
        # Missing or malformed values: nothing below can be checked.
        return exc.update_error_dict(errors)
    try:
        deal.clean()
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if supply.status != Status.ACTIVE:
        add("supply", _("This supply listing is not active."))
    if not _periods_match(deal.period, supply.recurrence):
        if supply.recurrence == Recurrence.ONCE:
            add("period", _("The listing is a one-off batch: the deal must be one-off too."))
        else:
            add("period", _("The listing is a recurring flow: agree tonnes per month or year."))
    if "period" not in errors:
        if supply.recurrence == Recurrence.ONCE:
            too_much = deal.tonnes_per_period > supply.tonnes
        else:
            too_much = tonnes_per_year(
                deal.tonnes_per_period, deal.period, supply.recurrence
            ) > tonnes_per_year(supply.tonnes, supply.recurrence, supply.recurrence)
        if too_much:
            add(
                "tonnes_per_period",
                _("The listing offers only %(t)s t %(unit)s.")
                % {"t": plain_number(supply.tonnes), "unit": _period_label(supply.recurrence)},
            )
    if "end_date" in errors:
        return errors
    months = months_spanned(deal.start_date, deal.end_date)
    if months > MAX_DEAL_MONTHS:
        add("end_date", _("A deal runs at most %(n)s years.") % {"n": MAX_DEAL_MONTHS // 12})
    if supply.available_from and deal.start_date < supply.available_from:
        add(
            "start_date",
            _("The residue is available from %(day)s.") % {"day": supply.available_from},
        )
    if supply.available_until and deal.end_date > supply.available_until:
        add(
            "end_date",
            _("The residue is available until %(day)s.") % {"day": supply.available_until},
        )
    deal.tonnes_total = tonnes_total_for(
        tonnes_per_period=deal.tonnes_per_period,
        period=deal.period,
        start_date=deal.start_date,
        end_date=deal.end_date,
    )
    return errors


def raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def demand_accepts(demand: DemandListing, material) -> bool:
    if demand.materials.filter(pk=material.pk).exists():
        return True
    return demand.uses.filter(rules__material=material).exists()
