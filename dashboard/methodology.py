"""The methodology page's rows: exactly the factors the city's figures and the
optimizer's proposals rest on, each with its source, tier and range.

A deal's rate (``DealImpactRate.factor_refs``) and a proposal
(``MatchProposal.factor_refs``) name the rows behind their counted terms
(``symbiosis.impact.Factor.ref``): ``ef:<id>`` a factor of a set, ``plant:<id>``
a plant's treatment factor, ``rule:<id>`` a compatibility rule's own credit (one
the set does not hold), and ``transport`` the road transport factor of the flow's
own set (the deal's, or the proposal's run's), listed here as ``transport:<set id>``.

``?material=`` keeps the rows behind that material's flows (a feedstock's flow into
a plant rests on the plant's treatment and on its output's fate factor too), with
the counts of those flows only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from dashboard.models import DealImpactRate
from optimizer.models import MatchProposal, ProcessingPlant
from symbiosis import impact
from symbiosis.accounting import VIRGIN, FactorTable, tier_of, treatment_of
from symbiosis.models import CompatibilityRule, EmissionFactor, FactorSet


@dataclass
class FactorUse:
    """A factor the figures rest on, with how many confirmed exchanges and
    proposals use it."""

    ref: str
    kind: str  # "factor", "treatment", "credit" (a rule's own), "transport"
    material: str = ""
    material_slug: str = ""
    route: str = ""
    kg_co2e_per_t: float | None = None
    kg_co2e_per_tkm: float | None = None  # the transport row's unit
    tier: str = impact.PUBLISHED
    low: float | None = None
    high: float | None = None
    basis: str = ""
    source: str = ""
    version: str = ""
    exchanges: int = 0
    proposals: int = 0

    @property
    def tier_label(self) -> str:
        return str(dict(EmissionFactor.Tier.choices).get(self.tier, self.tier))

    @property
    def has_range(self) -> bool:
        return self.tier != impact.PUBLISHED and self.low is not None and self.high is not None


def _resolved(refs, factor_set_id) -> set[str]:
    """A flow's refs, ``transport`` named by the flow's factor set (the ref alone
    does not say which set's factor was applied)."""
    out = set()
    for ref in refs or ():
        if ref == "transport":
            if factor_set_id is not None:
                out.add(f"transport:{factor_set_id}")
        else:
            out.add(ref)
    return out


def _ref_counts(material: str = "") -> tuple[dict[str, int], dict[str, int]]:
    """How many deals with confirmed deliveries, and how many proposals, use each row
    (only the flows of ``material``, a slug, when given)."""
    # ConfirmedDeal exists only while a deal's confirmed deliveries net to at least
    # one: logged, held, disputed and fully reversed ones leave no row.
    rates = DealImpactRate.objects.filter(deal__confirmed__isnull=False)
    proposals = MatchProposal.objects.all()
    if material:
        rates = rates.filter(deal__material__slug=material)
        proposals = proposals.filter(material__slug=material)
    exchanges: dict[str, int] = {}
    for refs, set_id in rates.values_list("factor_refs", "deal__factor_set_id"):
        for ref in _resolved(refs, set_id):
            exchanges[ref] = exchanges.get(ref, 0) + 1
    used_by_proposals: dict[str, int] = {}
    for refs, set_id in proposals.values_list("factor_refs", "run__factor_set_id"):
        for ref in _resolved(refs, set_id):
            used_by_proposals[ref] = used_by_proposals.get(ref, 0) + 1
    return exchanges, used_by_proposals


def _ids(refs, prefix: str) -> list[int]:
    return [int(ref.split(":", 1)[1]) for ref in refs if ref.startswith(prefix + ":")]


CREDIT_ROUTE = _("Credit: virgin production avoided")


def factors_in_use(*, material: str = "", tier: str = "") -> list[FactorUse]:
    """Exactly the factors used by at least one confirmed delivery or proposal, each
    with its source, tier and range (``material``: a slug, the rows behind that
    material's flows; ``tier``: ``published`` or ``proxy``, the latter meaning
    proxies and estimates), in a stable order."""
    exchanges, proposals = _ref_counts(material)
    refs = set(exchanges) | set(proposals)
    rows: list[FactorUse] = []
    factors = EmissionFactor.objects.filter(pk__in=_ids(refs, "ef")).select_related(
        "material", "factor_set"
    )
    kinds = dict(EmissionFactor.Kind.choices)
    for f in factors:
        rows.append(
            FactorUse(
                ref=f"ef:{f.pk}",
                kind="factor",
                material=f.material.name,
                material_slug=f.material.slug,
                route=str(CREDIT_ROUTE if f.kind == VIRGIN else kinds.get(f.kind, f.kind)),
                kg_co2e_per_t=float(f.kg_co2e_per_t),
                tier=tier_of(f),
                low=_float(f.low_kg_co2e_per_t),
                high=_float(f.high_kg_co2e_per_t),
                basis=f.basis,
                source=f.source,
                version=f.factor_set.version,
            )
        )
    for plant in ProcessingPlant.objects.filter(pk__in=_ids(refs, "plant")):
        # The quality as the accounting applies it (a plant with no tier is a proxy).
        treatment = treatment_of(plant)
        rows.append(
            FactorUse(
                ref=f"plant:{plant.pk}",
                kind="treatment",
                route=str(_("Treatment at a compost or digestion plant, per input tonne")),
                kg_co2e_per_t=treatment.kg_co2e_per_t,
                tier=treatment.tier,
                low=treatment.low_kg_co2e_per_t,
                high=treatment.high_kg_co2e_per_t,
                basis=plant.treatment_source,
            )
        )
    rules = CompatibilityRule.objects.filter(pk__in=_ids(refs, "rule")).select_related(
        "material", "use"
    )
    own_credits = FactorTable(None)  # a rule's own credit: none of a set's rows matches it
    for rule in rules:
        credit = own_credits.rule_credit(rule)
        if credit is None:
            continue  # the rule's credit was removed since: nothing to state
        rows.append(
            FactorUse(
                ref=f"rule:{rule.pk}",
                kind="credit",
                material=rule.material.name,
                material_slug=rule.material.slug,
                route=f"{CREDIT_ROUTE} ({rule.use.name})",
                kg_co2e_per_t=credit.kg_co2e_per_t,
                tier=credit.tier,
                low=credit.low_kg_co2e_per_t,
                high=credit.high_kg_co2e_per_t,
                source=rule.source,
            )
        )
    for factor_set in FactorSet.objects.filter(pk__in=_ids(refs, "transport")):
        rows.append(
            FactorUse(
                ref=f"transport:{factor_set.pk}",
                kind="transport",
                route=str(_("Road transport, per tonne-km")),
                kg_co2e_per_tkm=float(factor_set.transport_kg_co2e_per_tkm),
                # score_flow counts trucking as a published factor.
                tier=impact.PUBLISHED,
                source=factor_set.transport_source,
                version=factor_set.version,
            )
        )
    for row in rows:
        row.exchanges = exchanges.get(row.ref, 0)
        row.proposals = proposals.get(row.ref, 0)
    if tier == impact.PUBLISHED:
        rows = [row for row in rows if row.tier == impact.PUBLISHED]
    elif tier:
        rows = [row for row in rows if row.tier in impact.PROXY_TIERS]
    kind_order = {"factor": 0, "treatment": 1, "credit": 2, "transport": 3}
    return sorted(rows, key=lambda r: (kind_order[r.kind], r.material, r.route, r.version, r.ref))


def _float(value) -> float | None:
    return None if value is None else float(value)
