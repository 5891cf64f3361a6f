"""The database side of the accounting: what ``symbiosis.impact.score_flow`` needs
to score a flow, read from one factor set.

The optimizer's snapshot, a deal's page and the city's roll-up all gather a
flow's inputs here, so a proposal, a deal and a delivery between the same two
listings get the same factors, the same tiers and ranges and the same
classification of their tonnes:

- the fate factor: the set's factor of the supply's material for its current fate;
- the credit: the best known credit among the receiving demand's uses of the
  material (a compatibility rule); its tier and range are those of the set's
  virgin-production row of the material, which is the credit of its credited use
  (taxonomy.FACTOR_SET_BASIS), where the two agree, else the rule's own flag;
- a plant's treatment: the compost or digestion plant's own factor and quality,
  read through the reverse accessors ``demand.plant`` and ``supply.producing_plant``
  (optimizer.ProcessingPlant), so this core module imports nothing above it;
- the classification inputs: the supply's fate and its evidence, the material's
  landfill ban, whether the receiver runs a landfill.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.core.exceptions import ObjectDoesNotExist

from symbiosis import impact
from symbiosis.models import CompatibilityRule, EmissionFactor, FactorSet, Organization

VIRGIN = EmissionFactor.Kind.VIRGIN_PRODUCTION


def tier_of(factor: EmissionFactor) -> str:
    """The factor's tier; a row flagged as an estimate before tiers existed is a proxy."""
    if factor.tier == EmissionFactor.Tier.PUBLISHED and factor.is_estimate:
        return impact.PROXY
    return factor.tier


def _float(value) -> float | None:
    return None if value is None else float(value)


def factor_of(factor: EmissionFactor) -> impact.Factor:
    return impact.Factor(
        kg_co2e_per_t=float(factor.kg_co2e_per_t),
        tier=tier_of(factor),
        low_kg_co2e_per_t=_float(factor.low_kg_co2e_per_t),
        high_kg_co2e_per_t=_float(factor.high_kg_co2e_per_t),
        ref=f"ef:{factor.pk}",
    )


class FactorTable:
    """A factor set's factors, read once (the snapshot reads thousands of listings)."""

    def __init__(self, factor_set: FactorSet | None):
        self.factor_set = factor_set
        self.rows: dict[tuple[int, str], EmissionFactor] = {}
        if factor_set is not None:
            for row in EmissionFactor.objects.filter(factor_set=factor_set):
                self.rows[(row.material_id, row.kind)] = row

    @property
    def transport_kg_co2e_per_tkm(self) -> float | None:
        return _float(self.factor_set.transport_kg_co2e_per_tkm) if self.factor_set else None

    def factor(self, material_id: int, kind: str) -> impact.Factor | None:
        row = self.rows.get((material_id, kind))
        return None if row is None else factor_of(row)

    def fate(self, material_id: int, fate: str) -> impact.Factor | None:
        """The factor of a supply's current fate; None: not counted (a gap, or a fate
        with no factor kind such as "other" or "already used")."""
        return self.factor(material_id, fate)

    def rule_credit(self, rule: CompatibilityRule) -> impact.Factor | None:
        """The credit of one compatibility rule with its quality, or None (not counted)."""
        if rule.credit_kg_co2e_per_t is None:
            return None
        virgin = self.rows.get((rule.material_id, VIRGIN))
        if virgin is not None and virgin.kg_co2e_per_t == rule.credit_kg_co2e_per_t:
            return factor_of(virgin)
        # A rule whose credit the set does not hold (one added by hand): an estimate
        # may be worth nothing, so its range runs from 0.
        value = float(rule.credit_kg_co2e_per_t)
        if rule.is_estimate:
            return impact.Factor(
                value, impact.ESTIMATE, min(0.0, value), max(0.0, value), ref=f"rule:{rule.pk}"
            )
        return impact.Factor(value, impact.PUBLISHED, ref=f"rule:{rule.pk}")

    def best_credit(self, rules) -> tuple[impact.Factor | None, str]:
        """The best known credit among ``rules`` (a material's rules for the
        receiver's uses), as the optimizer scores a demand, and the use's name."""
        best, use_name = None, ""
        for rule in rules:
            credit = self.rule_credit(rule)
            if credit is not None and (best is None or credit.kg_co2e_per_t > best.kg_co2e_per_t):
                best, use_name = credit, rule.use.name
        return best, use_name


def plant_of_demand(demand):
    """The compost or digestion plant whose intake is this demand listing, or None."""
    if demand is None:
        return None
    try:
        return demand.plant
    except ObjectDoesNotExist:
        return None


def plant_of_output(supply):
    """The plant whose output is this supply listing, or None."""
    try:
        return supply.producing_plant
    except ObjectDoesNotExist:
        return None


def treatment_of(plant) -> impact.Factor:
    """A plant's own treatment factor per input tonne, with its quality."""
    return impact.Factor(
        kg_co2e_per_t=float(plant.treatment_kg_co2e_per_t),
        tier=getattr(plant, "treatment_tier", "") or impact.PROXY,
        low_kg_co2e_per_t=_float(getattr(plant, "treatment_low_kg_co2e_per_t", None)),
        high_kg_co2e_per_t=_float(getattr(plant, "treatment_high_kg_co2e_per_t", None)),
        ref=f"plant:{plant.pk}",
    )


def is_landfill_operator(organization) -> bool:
    return getattr(organization, "kind", "") == Organization.Kind.LANDFILL_OPERATOR


@dataclass(frozen=True)
class FlowInputs:
    """Everything ``impact.score_flow`` takes but the tonnes, for one flow."""

    road_km: float
    fate: str
    fate_factor: impact.Factor | None
    credit: impact.Factor | None
    transport_kg_co2e_per_tkm: float
    fate_evidence: str = ""
    landfill_banned: bool = False
    receiver_is_landfill_operator: bool = False
    from_plant_output: bool = False
    into_plant: bool = False
    treatment: impact.Factor | None = None
    output_yield: float = 0.0
    output_fate_factor: impact.Factor | None = None
    credit_use: str = ""

    def score(self, tonnes: float) -> impact.FlowScore:
        return impact.score_flow(
            tonnes=tonnes,
            road_km=self.road_km,
            fate=self.fate,
            fate_factor=self.fate_factor,
            credit=self.credit,
            transport_kg_co2e_per_tkm=self.transport_kg_co2e_per_tkm,
            fate_evidence=self.fate_evidence,
            landfill_banned=self.landfill_banned,
            receiver_is_landfill_operator=self.receiver_is_landfill_operator,
            from_plant_output=self.from_plant_output,
            into_plant=self.into_plant,
            treatment=self.treatment,
            output_yield=self.output_yield,
            output_fate_factor=self.output_fate_factor,
        )

    def with_road_km(self, road_km: float) -> FlowInputs:
        return replace(self, road_km=road_km)


def flow_inputs(
    *,
    table: FactorTable,
    supply,
    demand,
    material,
    receiver,
    road_km: float,
) -> FlowInputs | None:
    """The inputs of a flow of ``material`` from ``supply`` to ``demand`` (None: the
    receiver has published no demand) of organization ``receiver``; None without a
    factor set (nothing is counted then)."""
    if table.factor_set is None:
        return None
    material_id = getattr(material, "pk", material)
    credit, credit_use = None, ""
    if demand is not None:
        rules = CompatibilityRule.objects.filter(
            material_id=material_id, use__in=demand.uses.all()
        ).select_related("use")
        credit, credit_use = table.best_credit(rules)
    plant = plant_of_demand(demand)
    output_fate_factor = None
    if plant is not None and plant.output_id and plant.output_yield > 0:
        output = plant.output
        output_fate_factor = table.fate(output.material_id, output.fate)
    return FlowInputs(
        road_km=road_km,
        fate=supply.fate,
        fate_factor=table.fate(material_id, supply.fate),
        credit=credit,
        transport_kg_co2e_per_tkm=table.transport_kg_co2e_per_tkm,
        fate_evidence=getattr(supply, "fate_evidence", ""),
        landfill_banned=bool(getattr(material, "landfill_banned", False)),
        receiver_is_landfill_operator=is_landfill_operator(receiver),
        from_plant_output=plant_of_output(supply) is not None,
        into_plant=plant is not None,
        treatment=treatment_of(plant) if plant is not None else None,
        # A plant with no output listing has no output term (as in the snapshot).
        output_yield=plant.output_yield if plant is not None and plant.output_id else 0.0,
        output_fate_factor=output_fate_factor,
        credit_use=credit_use,
    )
