"""Reads for the review pages: proposals with their parties, totals, map, diffs."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse
from django.utils.translation import gettext, pgettext

from optimizer.decisions import draft_terms
from optimizer.models import AuditEntry, MatchProposal, OptimizationRun, PairRule
from symbiosis.models import Material
from symbiosis.models.accounts import District
from symbiosis.models.materials import localized_name
from symbiosis.numbers import number_text, separators
from symbiosis.roles import organization_ids
from symbiosis.templatetags.seasons import months_span
from symbiosis.visibility import as_viewer, listing_hides_owner, listing_kind


def proposals_with_parties() -> QuerySet[MatchProposal]:
    return (
        MatchProposal.objects.select_related(
            "run",
            "material",
            "supply__organization",
            "supply__site",
            "demand__organization",
            "demand__site",
        )
        # The run's input snapshot (every listing of the run, hundreds of kB)
        # would otherwise be fetched and parsed once per proposal row.
        .defer("run__input_snapshot")
        .annotate(saving_per_t=F("net_kg_co2e_saved") / F("tonnes"))
    )


def run_proposals(run: OptimizationRun) -> QuerySet[MatchProposal]:
    return proposals_with_parties().filter(run=run)


# --- the facilitator's results table ------------------------------------------------------

RESULTS_PER_PAGE = 50
# Column key: (order field, descending by default). "saving" is the former key
# of the CO2e column (older links keep working).
RESULT_COLUMNS = {
    "id": ("pk", False),
    "supplier": ("supply__organization__name", False),
    "receiver": ("demand__organization__name", False),
    "material": ("material__name_en", False),
    "tonnes": ("tonnes", True),
    "km": ("road_km", False),
    "co2e": ("net_kg_co2e_saved", True),
    "per_t": ("saving_per_t", True),
    "status": ("status", False),
}
SORT_ALIASES = {"saving": "co2e"}
DEFAULT_SORT = "co2e"
MAX_MIN_TONNES = 1e9


@dataclass
class ResultsQuery:
    """The results table's GET parameters, checked: a bad one falls back to its
    default and leaves a sentence in ``problems`` for the page to show."""

    sort: str = DEFAULT_SORT
    direction: str = "desc"
    material: str = ""
    status: str = ""
    district: str = ""
    min_tonnes: float | None = None
    min_tonnes_text: str = ""
    page: int = 1
    open_id: int | None = None
    problems: list[str] = field(default_factory=list)

    def params(self, **changes) -> dict[str, str]:
        """The non-default parameters (what the URL keeps), with ``changes``."""
        values = {
            "sort": self.sort if self.sort != DEFAULT_SORT else "",
            "dir": self.direction if self.direction != _default_direction(self.sort) else "",
            "material": self.material,
            "status": self.status,
            "district": self.district,
            "min_tonnes": self.min_tonnes_text,
            "page": str(self.page) if self.page != 1 else "",
        }
        values.update({k: "" if v is None else str(v) for k, v in changes.items()})
        if "sort" in changes and "dir" not in changes:
            values["dir"] = ""
        return {k: v for k, v in values.items() if v}

    def querystring(self, **changes) -> str:
        return urlencode(self.params(**changes))

    @property
    def querystring_without_page(self) -> str:
        return self.querystring(page="")

    def sort_link(self, key: str) -> str:
        """The column header's link: this column, the other way round if it is the current one."""
        if key == self.sort:
            flipped = "asc" if self.direction == "desc" else "desc"
            return self.querystring(sort=key, dir=flipped, page="")
        return self.querystring(sort=key, page="")


def _default_direction(sort: str) -> str:
    return "desc" if RESULT_COLUMNS[sort][1] else "asc"


def results_query(params, *, materials: dict[str, str]) -> ResultsQuery:
    """Check the results table's GET parameters (``params``: a QueryDict or dict)
    against what the run has: ``materials`` maps the run's material slugs to names."""
    q = ResultsQuery()

    def text(name: str) -> str:
        return (params.get(name) or "").strip()[:100]

    sort = SORT_ALIASES.get(text("sort"), text("sort"))
    if sort in RESULT_COLUMNS:
        q.sort = sort
    elif sort:
        q.problems.append(
            gettext("Unknown sort column “%(value)s”: sorted by CO2e saved.") % {"value": sort}
        )
    q.direction = _default_direction(q.sort)
    direction = text("dir")
    if direction in ("asc", "desc"):
        q.direction = direction
    elif direction:
        q.problems.append(gettext("The sort order is “asc” or “desc”."))
    material = text("material")
    if material in materials:
        q.material = material
    elif material:
        q.problems.append(
            gettext("This run has no proposal of the material “%(value)s”: showing all.")
            % {"value": material}
        )
    status = text("status")
    if status in MatchProposal.Status.values:
        q.status = status
    elif status:
        q.problems.append(gettext("Unknown status: showing every status."))
    district = text("district")
    if district in District.values:
        q.district = district
    elif district:
        q.problems.append(gettext("Unknown district: showing every district."))
    min_tonnes = text("min_tonnes").replace(",", ".")
    if min_tonnes:
        try:
            value = float(min_tonnes)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and 0 <= value <= MAX_MIN_TONNES:
            q.min_tonnes, q.min_tonnes_text = value, min_tonnes
        else:
            q.problems.append(
                gettext(
                    "The minimum tonnes must be a number from 0 to 1,000,000,000: "
                    "showing every size."
                )
            )
    page = text("page")
    if page:
        if page.isdigit() and 1 <= int(page) <= 10**6:
            q.page = int(page)
        else:
            q.problems.append(gettext("The page is a whole number from 1: showing page 1."))
    open_id = text("open")
    if open_id.isdigit() and len(open_id) < 12:
        q.open_id = int(open_id)
    return q


def results_ids(run: OptimizationRun, q: ResultsQuery) -> QuerySet:
    """The ids of the run's proposals that pass ``q``'s filters, in its order."""
    rows = MatchProposal.objects.filter(run=run)
    if q.material:
        rows = rows.filter(material__slug=q.material)
    if q.status:
        rows = rows.filter(status=q.status)
    if q.district:
        rows = rows.filter(
            Q(supply__site__district=q.district) | Q(demand__site__district=q.district)
        )
    if q.min_tonnes is not None:
        rows = rows.filter(tonnes__gte=q.min_tonnes)
    column = RESULT_COLUMNS[q.sort][0]
    if q.sort == "per_t":
        rows = rows.annotate(saving_per_t=F("net_kg_co2e_saved") / F("tonnes"))
    if q.sort == "material":
        # By the name the page shows (Material.name: kk → ru → en).
        rows = rows.annotate(material_label=localized_name("material__"))
        column = "material_label"
    order = f"-{column}" if q.direction == "desc" else column
    tie = "-pk" if q.direction == "desc" and q.sort == "id" else "pk"
    return rows.order_by(order, tie).values_list("pk", flat=True)


def results_page(run: OptimizationRun, q: ResultsQuery, *, viewer=None) -> Page:
    """One page of the results table: ``RESULTS_PER_PAGE`` rows. A page past the
    last shows the last one (and says so)."""
    paginator = Paginator(results_ids(run, q), RESULTS_PER_PAGE)
    number = q.page
    if number > paginator.num_pages:
        q.problems.append(
            gettext("There are only %(n)s pages: showing the last.") % {"n": paginator.num_pages}
        )
        number = q.page = paginator.num_pages
    page = paginator.page(number)
    page.object_list = page_proposals(
        run,
        list(page.object_list),
        viewer=viewer,
        next_qs=q.querystring(),
        # The row the URL opens (after a decision without script) shows its panel.
        panel_ids=(q.open_id,) if q.open_id else (),
    )
    return page


# What _proposal_row.html reads (a test counts the page's queries, so a field
# missing here shows as one query per row).
PAGE_ROW_RELATED = (
    "material",
    "supply__organization",
    "supply__site",
    "demand__organization",
    "demand__site",
)


# What a summary line reads (a row with its panel reads everything).
PAGE_ROW_FIELDS = (
    "id",
    "run_id",
    "status",
    "supply_id",
    "demand_id",
    "material_id",
    "tonnes",
    "road_km",
    "kind",
    "tonnes_by_period",
    "net_kg_co2e_saved",
    "material__name_en",
    "material__name_ru",
    *(
        f"{side}__{field}"
        for side in ("supply", "demand")
        for field in ("organization_id", "visibility", "site_id", "organization__name")
    ),
    "supply__site__district",
    "demand__site__district",
)


def page_proposals(
    run: OptimizationRun,
    ids: list[int],
    *,
    viewer=None,
    next_qs: str = "",
    panel_ids: Collection[int] = (),
) -> list[MatchProposal]:
    """One page of the results table, in the order of ``ids``: each row with its
    parties (named, or labelled by district where the visibility rule hides the
    owner), its figures and words formatted and the standing rule on its pair
    (pin or forbid), in a fixed number of queries, without joining the run to
    every row. The draft terms, which only a row's panel shows, are worked out
    for ``panel_ids`` alone: the other rows' panels are fetched when opened
    (``proposal_panel``), with the table's parameters ``next_qs``."""
    rows = (
        MatchProposal.objects.filter(run=run, pk__in=ids)
        .select_related(*PAGE_ROW_RELATED)
        .annotate(saving_per_t=F("net_kg_co2e_saved") / F("tonnes"))
    )
    if not panel_ids:
        # The summary lines read a few columns of six joined rows; building
        # whole listings and sites (dozens of fields each) cost more than the
        # rest of the rows' work.
        rows = rows.only(*PAGE_ROW_FIELDS)
    by_pk = {p.pk: p for p in rows}
    proposals = [by_pk[pk] for pk in ids if pk in by_pk]
    rules = pair_rules(proposals)
    viewer = as_viewer(viewer) if viewer is not None else None
    words = row_words()
    statuses = words["statuses"]
    kinds = {k: str(label) for k, label in MatchProposal.Kind.choices}
    select = gettext("Select proposal #%(n)s")
    run_url = reverse("optimizer:run_detail", args=[run.pk])
    # Every row's links carry the table's parameters, quoted once (and one
    # reverse() for all rows: it cost more than the rest of a row).
    open_prefix = f"{run_url}?{next_qs}&open=" if next_qs else f"{run_url}?open="
    next_param = "?" + urlencode({"next": next_qs}) if next_qs else ""
    panel_head, panel_tail = reverse("optimizer:proposal_panel", args=[0]).rsplit("/0/", 1)
    for p in proposals:
        p.run = run
        p.rule = rules.get((p.supply_id, p.demand_id), "")
        p.supplier_label = party_label(p.supply, viewer)
        p.receiver_label = party_label(p.demand, viewer)
        p.internal = p.supply.organization_id == p.demand.organization_id
        p.material_name = p.material.name
        p.status_label = statuses.get(p.status, p.status)
        # Flows through plants say so in words ("plant to plant"); direct ones need none.
        p.kind_label = "" if p.kind == MatchProposal.Kind.DIRECT else kinds[p.kind]
        # A run by month: the months the pair carries tonnes ("Aug–Oct"); "" otherwise.
        p.months_label = months_span(p.tonnes_by_period)
        p.select_label = select % {"n": p.pk}
        p.open_link = f"{open_prefix}{p.pk}#proposal-{p.pk}"
        p.panel_url = f"{panel_head}/{p.pk}/{panel_tail}{next_param}"
        p.terms = None
        if p.pk in panel_ids and p.status == "proposed" and not p.internal:
            p.terms = draft_terms_text(p)
    return with_texts(proposals)


def row_words() -> dict:
    """The words every row of the results table repeats, translated once per page
    rather than by a ``{% translate %}`` per row (the table's rendering cost)."""
    return {
        "t": pgettext("unit symbol: tonnes", "t"),
        "km": gettext("km"),
        "kg_co2e": gettext("kg CO2e"),
        "internal": gettext("internal reuse"),
        "internal_title": gettext(
            "Both listings belong to this organization: not counted in this run's totals, "
            "and approving it introduces nobody."
        ),
        "pinned": gettext("pinned"),
        "pin_title": gettext("The next run will always include this pair"),
        "forbidden": gettext("forbidden"),
        "forbid_title": gettext("The next run will never propose this pair"),
        "details": gettext("Details"),
        "months_title": gettext("The months of this run by month when the pair carries tonnes"),
        "statuses": {
            MatchProposal.Status.PROPOSED: pgettext("proposal status: not decided yet", "open"),
            MatchProposal.Status.APPROVED: gettext("approved"),
            MatchProposal.Status.REJECTED: gettext("rejected"),
        },
    }


def draft_terms_text(proposal: MatchProposal) -> dict:
    """The draft deal an approval would open (``decisions.draft_terms``), for the row."""
    terms = draft_terms(proposal)
    return {
        **terms,
        "tonnes_text": number_text(terms["tonnes_per_period"], 1),
        "period_label": proposal.supply.get_recurrence_display(),
    }


def pair_rules(proposals: list[MatchProposal]) -> dict[tuple[int, int], str]:
    """The standing rule ("pin" or "forbid") on each proposal's pair, in one query."""
    if not proposals:
        return {}
    rules = PairRule.objects.filter(
        supply_id__in={p.supply_id for p in proposals},
        demand_id__in={p.demand_id for p in proposals},
    ).values_list("supply_id", "demand_id", "kind")
    return {(s, d): kind for s, d, kind in rules}


def party_label(listing, viewer) -> str:
    """The listing's organization, or where the visibility rule hides it from
    ``viewer``, "a supplier in <district>" / "a receiver in <district>"."""
    # Only facilitators read this table today: for them nothing is hidden, and
    # no introduction needs looking up.
    hidden = viewer is not None and listing_hides_owner(
        user=viewer, listing=listing, introduced_ids=set()
    )
    if not hidden:
        return listing.organization.name
    district = dict(District.choices).get(listing.site.district, listing.site.district)
    if listing_kind(listing) == "supply":
        return gettext("a supplier in %(district)s") % {"district": district}
    return gettext("a receiver in %(district)s") % {"district": district}


def with_texts(proposals: list[MatchProposal]) -> list[MatchProposal]:
    """The row's figures as _proposal_row.html shows them, formatted here: the
    template filters cost more than the rest of a row of the results table."""
    seps = separators()
    for p in proposals:
        p.tonnes_text = number_text(p.tonnes, 1, seps=seps)
        p.road_km_text = number_text(p.road_km, 1, grouping=False, seps=seps)
        p.saving_text = number_text(p.net_kg_co2e_saved, 0, seps=seps)
        p.saving_per_t_text = number_text(p.saving_per_t, 0, grouping=False, seps=seps)
    return proposals


def run_materials(run: OptimizationRun) -> list[tuple[str, str]]:
    materials = Material.objects.filter(matchproposal__run=run).distinct().order_by("name_en")
    return [(m.slug, m.name) for m in materials]


def run_totals(run: OptimizationRun) -> dict:
    """The run's result beside its baseline, plus how far the decisions have got."""
    agg = run.proposals.aggregate(
        truck_km=Sum("road_km"),
        proposals=Count("pk"),
        approved=Count("pk", filter=Q(status=MatchProposal.Status.APPROVED)),
        rejected=Count("pk", filter=Q(status=MatchProposal.Status.REJECTED)),
        approved_tonnes=Sum("tonnes", filter=Q(status=MatchProposal.Status.APPROVED)),
        approved_kg_co2e=Sum("net_kg_co2e_saved", filter=Q(status=MatchProposal.Status.APPROVED)),
    )
    return {**agg, "baseline_tonnes": run_supply_tonnes(run)}


def run_supply_tonnes(run: OptimizationRun) -> float:
    """The snapshot's supply tonnes, stored on the run the first time they are
    read (migration 0004 filled the runs made before), so later views parse no
    snapshot."""
    if run.input_supply_tonnes is None:
        runs = OptimizationRun.objects.filter(pk=run.pk)
        snapshot = runs.values_list("input_snapshot", flat=True).first()
        if not snapshot:
            return 0
        run.input_supply_tonnes = float(sum(s["tonnes"] for s in snapshot.get("supplies", [])))
        runs.update(input_supply_tonnes=run.input_supply_tonnes)
    return run.input_supply_tonnes


def compare_runs(a: OptimizationRun, b: OptimizationRun) -> dict:
    """What changed from run a to run b, pair by pair."""

    def pairs(run):
        return {(p.supply_id, p.demand_id): p for p in run_proposals(run)}

    pa, pb = pairs(a), pairs(b)
    rows = []
    for key in sorted(set(pa) | set(pb)):
        before, after = pa.get(key), pb.get(key)
        change = "added" if before is None else "removed" if after is None else "kept"
        if change == "kept" and abs(before.tonnes - after.tonnes) > 1e-6:
            change = "changed"
        rows.append({"before": before, "after": after, "change": change, "any": before or after})
    return {
        "rows": rows,
        "saved_delta_kg_co2e": (b.saved_kg_co2e or 0) - (a.saved_kg_co2e or 0),
        "tonnes_delta": (b.tonnes_moved or 0) - (a.tonnes_moved or 0),
        "counts": {
            c: sum(r["change"] == c for r in rows) for c in ("added", "removed", "changed", "kept")
        },
    }


def company_proposals(user) -> QuerySet[MatchProposal]:
    """Approved proposals involving one of the user's organizations' listings."""
    orgs = organization_ids(user)
    return (
        proposals_with_parties()
        .filter(status=MatchProposal.Status.APPROVED)
        .filter(Q(supply__organization_id__in=orgs) | Q(demand__organization_id__in=orgs))
        .order_by("-decided_at", "-pk")
    )


def audit_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor", "proposal", "run")


def introductions_awaiting(user) -> QuerySet[MatchProposal]:
    """Introductions waiting for an answer from one of ``user``'s organizations (a
    user or a ``Viewer``): approved, that side has not answered, and no side declined
    (a declined one takes no more answers). Counted in the menu and listed in the
    workspace."""
    orgs = as_viewer(user).organization_ids
    if not orgs:
        return MatchProposal.objects.none()
    pending = MatchProposal.Answer.PENDING
    declined = MatchProposal.Answer.DECLINED
    return (
        MatchProposal.objects.filter(status=MatchProposal.Status.APPROVED)
        .filter(
            Q(supply__organization_id__in=orgs, supplier_answer=pending)
            | Q(demand__organization_id__in=orgs, receiver_answer=pending)
        )
        .exclude(supplier_answer=declined)
        .exclude(receiver_answer=declined)
        .order_by("-decided_at", "-pk")
    )
