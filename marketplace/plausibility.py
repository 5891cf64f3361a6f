"""When a delivery is implausible, so that it waits for a facilitator's review.

Pure rules, no database: ``marketplace.services`` reads the deal and the tonnes
already logged in the delivery's period and asks ``held_checks``. What it finds
is stored on the delivery as codes and numbers (``Delivery.held_reason``);
``held_reason_text`` renders the sentence in the reader's language when it is
shown, so a Russian reader of an English logger's delivery reads Russian.

- **Per load**: more than ``settings.DELIVERY_MAX_TONNES_PER_LOAD`` x the number
  of loads (a loaded truck carries at most about 40 t).
- **Per period**: the deal's period total with this delivery above the agreed
  tonnes x (1 + ``settings.DELIVERY_PERIOD_TOLERANCE``). The period of a monthly
  deal is the calendar month of the delivery; of a yearly deal, the 12-month
  deal year it falls in, counted from the start date (the last deal year is
  prorated, as the deal's total is); of a one-off deal, the whole deal.

- **Permit**: a delivery of a hazardous waste (national code with a permit rule,
  ``symbiosis.permits``) dated on a day the receiver holds no valid permit for the
  code: after its permit ended, or with none at all.

Exactly at a limit passes.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext

from marketplace.templatetags.marketplace_tags import plain_number
from symbiosis.models.listings import Recurrence

PER_LOAD = "per_load"
PERIOD = "period"
PERMIT = "permit"


@dataclass(frozen=True)
class PeriodWindow:
    """The days of the deal's period a delivery falls in, and the tonnes agreed for it."""

    first: date
    last: date
    agreed_tonnes: Decimal


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def period_window(
    *, period: str, start_date: date, end_date: date, tonnes_per_period, tonnes_total, day: date
) -> PeriodWindow:
    tonnes = Decimal(tonnes_per_period)
    if period == Recurrence.MONTHLY:
        last_day = calendar.monthrange(day.year, day.month)[1]
        return PeriodWindow(day.replace(day=1), day.replace(day=last_day), tonnes)
    if period == Recurrence.YEARLY:
        years = day.year - start_date.year
        if _add_years(start_date, years) > day:
            years -= 1
        first = _add_years(start_date, years)
        last = _add_years(start_date, years + 1) - timedelta(days=1)
        # The deal's total is per year x months / 12: what is left of it after the
        # full years before this one, at most a year's tonnes.
        agreed = min(tonnes, Decimal(tonnes_total) - tonnes * years)
        return PeriodWindow(first, last, max(agreed, Decimal(0)))
    return PeriodWindow(start_date, end_date, Decimal(tonnes_total))


def held_checks(
    *,
    tonnes,
    loads: int,
    max_tonnes_per_load,
    window: PeriodWindow,
    period_tonnes_before,
    tolerance,
) -> list[dict]:
    """What makes a delivery implausible (empty: nothing), as codes and numbers.

    ``period_tonnes_before``: the tonnes already counted in ``window`` without
    this delivery. Numbers are stored as strings, exactly as written.
    """
    tonnes = Decimal(tonnes)
    found = []
    per_load = Decimal(max_tonnes_per_load)
    load_limit = per_load * loads
    if tonnes > load_limit:
        found.append(
            {
                "code": PER_LOAD,
                "tonnes": plain_number(tonnes),
                "loads": loads,
                "max_per_load": plain_number(per_load),
                "limit": plain_number(load_limit),
            }
        )
    tolerance = Decimal(tolerance)
    total = Decimal(period_tonnes_before) + tonnes
    limit = window.agreed_tonnes * (1 + tolerance)
    if total > limit:
        found.append(
            {
                "code": PERIOD,
                "first": window.first.isoformat(),
                "last": window.last.isoformat(),
                "total": plain_number(total),
                "agreed": plain_number(window.agreed_tonnes),
                "tolerance_percent": plain_number(tolerance * 100),
                "limit": plain_number(limit),
            }
        )
    return found


def permit_check(*, code: str, day: date, permitted: bool, expired_on: date | None) -> list[dict]:
    """The hold of a hazardous delivery on ``day`` without a valid permit (empty: none).
    ``expired_on``: the end of the receiver's last permit for the code, if it ended."""
    if permitted:
        return []
    return [
        {
            "code": PERMIT,
            "waste_code": code,
            "day": day.isoformat(),
            "expired_on": expired_on.isoformat() if expired_on else None,
        }
    ]


def _sentence(check: dict) -> str:
    if check.get("code") == PER_LOAD:
        if int(check["loads"]) == 1:
            return gettext(
                "%(tonnes)s t in one load is more than the %(max)s t one vehicle carries at most."
            ) % {"tonnes": check["tonnes"], "max": check["max_per_load"]}
        return gettext(
            "%(tonnes)s t in %(loads)s loads is more than %(limit)s t, at most %(max)s t "
            "per vehicle."
        ) % {
            "tonnes": check["tonnes"],
            "loads": check["loads"],
            "limit": check["limit"],
            "max": check["max_per_load"],
        }
    if check.get("code") == PERIOD:
        return gettext(
            "With this delivery, deliveries from %(first)s to %(last)s would come to "
            "%(total)s t: more than the agreed %(agreed)s t plus %(tolerance)s %% "
            "(%(limit)s t)."
        ) % {
            "first": check["first"],
            "last": check["last"],
            "total": check["total"],
            "agreed": check["agreed"],
            "tolerance": check["tolerance_percent"],
            "limit": check["limit"],
        }
    if check.get("code") == PERMIT:
        if check.get("expired_on"):
            return gettext(
                "The receiver's permit for hazardous waste %(code)s ended on %(expired)s; "
                "this delivery is dated %(day)s."
            ) % {"code": check["waste_code"], "expired": check["expired_on"], "day": check["day"]}
        return gettext(
            "The receiver holds no verified permit for hazardous waste %(code)s valid on %(day)s."
        ) % {"code": check["waste_code"], "day": check["day"]}
    return gettext("The figures are implausible.")


def held_reason_text(checks) -> str:
    """Why a delivery is held, in the current language ("" when it is not)."""
    return " ".join(_sentence(check) for check in checks or [])
