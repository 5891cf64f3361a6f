"""CO2e and tonnage accounting: the one source of truth.

Pure functions with no Django import, so the optimizer core, the pages, the
deal records and the city dashboard all compute the same figures the same way.

- ``score_flow`` scores one flow (a proposal, a deal, a delivery): its tonnes and
  their category (``classify_tonnes``), each CO2e term (current fate avoided,
  virgin production avoided, treatment at a plant, transport) either a number or
  *not counted*, the net, the net split by the tier of the factors behind it
  (published / proxies and estimates) and a low-high range. docs/accounting.md
  states the method.
- The per-tonne helpers (``net_kg_co2e_saved_per_t``,
  ``processing_net_kg_co2e_saved_per_t``) are the same arithmetic element-wise
  on numpy arrays: the optimizer scores every arc with them at once, a term that
  is not counted entering as 0 (the objective gets nothing for it), exactly as
  ``score_flow`` leaves it out of the net.

Sign convention: an emission factor is what a tonne emits on that route
(kg CO2e per tonne; negative means the route stores or saves carbon). A term of
a breakdown is what it adds to the *saving*: positive is good.

Just over 500 lines: the whole accounting of a flow (factors, categories,
terms, the per-tonne arithmetic the optimizer vectorises) in one Django-free
module, so the kernel contract (import-linter) holds it in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Fates whose tonnes are "kept out of landfill" when the residue moves (unless the
# disposal is banned or the receiver runs a landfill: ``classify_tonnes``).
LANDFILL_FATES = frozenset({"landfill", "open_dump"})
ALREADY_USED = "already_used"

# DEFRA 2025, freighting goods, all HGVs, average laden (direct, no well-to-tank).
DEFAULT_TRANSPORT_KG_CO2E_PER_TKM = 0.10163

# Great-circle distances are multiplied by this to approximate road km.
DEFAULT_ROAD_FACTOR = 1.3

# --- quality of a factor -----------------------------------------------------

PUBLISHED, PROXY, ESTIMATE = "published", "proxy", "estimate"
TIERS = (PUBLISHED, PROXY, ESTIMATE)


@dataclass(frozen=True)
class Factor:
    """One factor as a flow uses it: kg CO2e per tonne, its tier and, for a proxy
    or an estimate, the range the true value plausibly lies in.

    ``ref`` names the row behind it (e.g. ``"ef:12"`` for an emission factor,
    ``"plant:3"`` for a plant's treatment factor), so a figure can be followed to
    its source. A published factor has no range: low and high are the value.
    """

    kg_co2e_per_t: float
    tier: str = PUBLISHED
    low_kg_co2e_per_t: float | None = None
    high_kg_co2e_per_t: float | None = None
    ref: str = ""

    def __post_init__(self):
        if self.tier not in TIERS:
            raise ValueError(f"unknown tier {self.tier!r}")

    @property
    def low(self) -> float:
        if self.low_kg_co2e_per_t is None:
            return self.kg_co2e_per_t
        return min(self.low_kg_co2e_per_t, self.kg_co2e_per_t)

    @property
    def high(self) -> float:
        if self.high_kg_co2e_per_t is None:
            return self.kg_co2e_per_t
        return max(self.high_kg_co2e_per_t, self.kg_co2e_per_t)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict | None) -> Factor | None:
        if raw is None:
            return None
        return cls(
            kg_co2e_per_t=float(raw["kg_co2e_per_t"]),
            tier=raw.get("tier", PUBLISHED),
            low_kg_co2e_per_t=_float_or_none(raw.get("low_kg_co2e_per_t")),
            high_kg_co2e_per_t=_float_or_none(raw.get("high_kg_co2e_per_t")),
            ref=raw.get("ref", ""),
        )


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


# --- what the tonnes are ---------------------------------------------------------

KEPT_OUT_OF_LANDFILL = "kept_out_of_landfill"
BROUGHT_INTO_COMPLIANCE = "brought_into_compliance"
REUSE_CONTINUED = "reuse_continued"
USED_AT_LANDFILL = "used_at_landfill"
PUT_TO_USE = "put_to_use"
PLANT_OUTPUT = "plant_output"
# In the order pages show them.
CATEGORIES = (
    KEPT_OUT_OF_LANDFILL,
    BROUGHT_INTO_COMPLIANCE,
    PUT_TO_USE,
    REUSE_CONTINUED,
    USED_AT_LANDFILL,
    PLANT_OUTPUT,
)
# A plant's output adds credits, never tonnes: its tonnes were counted once, when
# the feedstock left its producer (100 t into compost plus 40 t of compost is 100 t).
TONNES_COUNTED_CATEGORIES = frozenset(CATEGORIES) - {PLANT_OUTPUT}


def is_landfill_fate(fate: str) -> bool:
    return fate in LANDFILL_FATES


def classify_tonnes(
    *,
    fate: str,
    landfill_banned: bool = False,
    receiver_is_landfill_operator: bool = False,
    from_plant_output: bool = False,
) -> str:
    """The category of a flow's tonnes, counted once where they leave their producer.

    - a plant's output: ``plant_output`` (its tonnes are not counted again);
    - into a landfill operator's site (cover, roads): ``used_at_landfill``, apart;
    - a material already used (sold as fodder, given to a recycler): ``reuse_continued``;
    - from landfill or an open dump: ``brought_into_compliance`` where the law bans
      that disposal for the material, else ``kept_out_of_landfill``;
    - everything else moved (stored on the farm, incinerated, other): ``put_to_use``.
    """
    if from_plant_output:
        return PLANT_OUTPUT
    if receiver_is_landfill_operator:
        return USED_AT_LANDFILL
    if fate == ALREADY_USED:
        return REUSE_CONTINUED
    if fate in LANDFILL_FATES:
        return BROUGHT_INTO_COMPLIANCE if landfill_banned else KEPT_OUT_OF_LANDFILL
    return PUT_TO_USE


# --- the terms of a flow's CO2e -----------------------------------------------------

FATE = "fate"  # the residue's current fate, avoided
VIRGIN = "virgin"  # virgin production the receiver no longer needs
TREATMENT = "treatment"  # a compost or digestion plant's own process
OUTPUT_FATE = "output_fate"  # where a plant's output stays until a user takes it
TRANSPORT = "transport"  # trucking
TERMS = (FATE, VIRGIN, TREATMENT, OUTPUT_FATE, TRANSPORT)
PROXY_TIERS = frozenset({PROXY, ESTIMATE})


@dataclass(frozen=True)
class Term:
    """One term of a flow's CO2e, as kg CO2e *saved* (positive is good), or not
    counted (``kg_co2e_saved`` None) where the factor is missing."""

    name: str
    kg_co2e_saved: float | None
    low_kg_co2e_saved: float | None = None
    high_kg_co2e_saved: float | None = None
    tier: str | None = None
    ref: str = ""

    @property
    def counted(self) -> bool:
        return self.kg_co2e_saved is not None


def _term(name: str, factor: Factor | None, multiplier: float, sign: float) -> Term:
    if factor is None:
        return Term(name, None)
    ends = (sign * factor.low * multiplier, sign * factor.high * multiplier)
    return Term(
        name,
        sign * factor.kg_co2e_per_t * multiplier,
        min(ends),
        max(ends),
        factor.tier,
        factor.ref,
    )


@dataclass(frozen=True)
class FlowScore:
    """What moving ``tonnes`` of a residue from its producer to a receiver changes."""

    tonnes: float
    road_km: float
    fate: str
    category: str
    terms: tuple[Term, ...]
    fate_evidence: str = ""

    # -- tonnes
    @property
    def tonnes_counted(self) -> float:
        return self.tonnes if self.category in TONNES_COUNTED_CATEGORIES else 0.0

    @property
    def tonnes_kept_out_of_landfill(self) -> float:
        return self.tonnes if self.category == KEPT_OUT_OF_LANDFILL else 0.0

    # -- terms
    def term(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.name == name), None)

    def _saved(self, name: str) -> float | None:
        term = self.term(name)
        return None if term is None else term.kg_co2e_saved

    @property
    def not_counted(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms if not t.counted)

    @property
    def fate_kg_co2e_avoided(self) -> float | None:
        return self._saved(FATE)

    @property
    def virgin_kg_co2e_avoided(self) -> float | None:
        """None when not counted, and when no virgin material is replaced (into a plant)."""
        return self._saved(VIRGIN)

    @property
    def transport_kg_co2e_added(self) -> float:
        return -self._saved(TRANSPORT)

    @property
    def treatment_kg_co2e_added(self) -> float | None:
        saved = self._saved(TREATMENT)
        return None if saved is None else -saved

    @property
    def output_fate_kg_co2e_added(self) -> float | None:
        saved = self._saved(OUTPUT_FATE)
        return None if saved is None else -saved

    # -- totals: the counted terms only
    def _counted(self):
        return [t for t in self.terms if t.counted]

    @property
    def net_kg_co2e_saved(self) -> float:
        return sum(t.kg_co2e_saved for t in self._counted())

    @property
    def net_published_kg_co2e(self) -> float:
        """The part of the net that rests on published factors (transport included)."""
        return sum(t.kg_co2e_saved for t in self._counted() if t.tier not in PROXY_TIERS)

    @property
    def net_proxy_kg_co2e(self) -> float:
        """The part of the net that rests on proxies and estimates."""
        return sum(t.kg_co2e_saved for t in self._counted() if t.tier in PROXY_TIERS)

    @property
    def net_low_kg_co2e(self) -> float:
        return sum(t.low_kg_co2e_saved for t in self._counted())

    @property
    def net_high_kg_co2e(self) -> float:
        return sum(t.high_kg_co2e_saved for t in self._counted())

    @property
    def refs(self) -> tuple[str, ...]:
        """The rows behind the counted terms (for the methodology page)."""
        return tuple(t.ref for t in self._counted() if t.ref)

    def as_dict(self) -> dict:
        return {
            "tonnes": self.tonnes,
            "road_km": self.road_km,
            "fate": self.fate,
            "fate_evidence": self.fate_evidence,
            "category": self.category,
            "tonnes_counted": self.tonnes_counted,
            "tonnes_kept_out_of_landfill": self.tonnes_kept_out_of_landfill,
            "terms": [asdict(t) for t in self.terms],
            "not_counted": list(self.not_counted),
            "net_kg_co2e_saved": self.net_kg_co2e_saved,
            "net_published_kg_co2e": self.net_published_kg_co2e,
            "net_proxy_kg_co2e": self.net_proxy_kg_co2e,
            "net_low_kg_co2e": self.net_low_kg_co2e,
            "net_high_kg_co2e": self.net_high_kg_co2e,
        }


def score_flow(
    *,
    tonnes: float,
    road_km: float,
    fate: str,
    fate_factor: Factor | None,
    credit: Factor | None,
    transport_kg_co2e_per_tkm: float = DEFAULT_TRANSPORT_KG_CO2E_PER_TKM,
    fate_evidence: str = "",
    landfill_banned: bool = False,
    receiver_is_landfill_operator: bool = False,
    from_plant_output: bool = False,
    into_plant: bool = False,
    treatment: Factor | None = None,
    output_yield: float = 0.0,
    output_fate_factor: Factor | None = None,
) -> FlowScore:
    """The one scoring of a flow; every page, the optimizer's proposals and the
    city's roll-up read their figures from it.

    ``fate_factor`` is the factor of the supply's current ``fate`` for its material
    (None: no factor, the term is *not counted*); ``credit`` the virgin production
    one tonne received saves (None: not counted, except into a plant, where no
    virgin material is replaced and the term does not apply: the plant's output
    earns the credits where it is used). Into a plant, ``treatment`` is the plant's
    own factor per input tonne (None: not counted) and, where the plant has an
    output (``output_yield`` above 0), ``output_yield`` x the factor of the
    output's fate is what the output emits where it stays until a user takes it
    (the output's own flow earns it back as its fate avoided; None: not counted).
    Transport is always counted.

    Both ``from_plant_output`` and ``into_plant`` (a chain: one plant's output into
    another plant): the output's fate is the fate avoided, the receiving plant's
    credit, treatment and yield x its output's fate apply, and the tonnes are
    ``plant_output`` (counted once, on the way into the first plant).

    The net is the sum of the counted terms: a missing factor adds nothing and
    is listed in ``not_counted``, never a silent 0 and never a silent credit.
    """
    if tonnes < 0:
        raise ValueError("tonnes must not be negative")
    if road_km < 0:
        raise ValueError("road_km must not be negative")
    if output_yield < 0:
        raise ValueError("output_yield must not be negative")
    terms = [_term(FATE, fate_factor, tonnes, 1.0)]
    if credit is not None or not into_plant:
        terms.append(_term(VIRGIN, credit, tonnes, 1.0))
    if into_plant:
        terms.append(_term(TREATMENT, treatment, tonnes, -1.0))
        if output_yield > 0:  # a plant with an output: its fate's factor, or not counted
            terms.append(_term(OUTPUT_FATE, output_fate_factor, tonnes * output_yield, -1.0))
    transport = transport_kg_co2e_per_t(
        road_km=road_km, transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm
    )
    transport_factor = Factor(transport, PUBLISHED, ref="transport")
    terms.append(_term(TRANSPORT, transport_factor, tonnes, -1.0))
    return FlowScore(
        tonnes=tonnes,
        road_km=road_km,
        fate=fate,
        category=classify_tonnes(
            fate=fate,
            landfill_banned=landfill_banned,
            receiver_is_landfill_operator=receiver_is_landfill_operator,
            from_plant_output=from_plant_output,
        ),
        terms=tuple(terms),
        fate_evidence=fate_evidence,
    )


# --- the same arithmetic per tonne, element-wise (the optimizer's arcs) ------------


def transport_kg_co2e_per_t(*, road_km, transport_kg_co2e_per_tkm):
    """Trucking emissions for one tonne over ``road_km``."""
    return transport_kg_co2e_per_tkm * road_km


def net_kg_co2e_saved_per_t(
    *, road_km, fate_kg_co2e_per_t, credit_kg_co2e_per_t, transport_kg_co2e_per_tkm
):
    """Net saving of moving one tonne: fate avoided + virgin avoided - transport.

    ``score_flow``'s net per tonne, a term not counted entering as 0. Works
    element-wise on numpy arrays.
    """
    return (
        fate_kg_co2e_per_t
        + credit_kg_co2e_per_t
        - transport_kg_co2e_per_t(
            road_km=road_km, transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm
        )
    )


def storage_kg_co2e_per_t_period(
    *, kg_co2e_per_t_period, loss_fraction_per_period=0.0, lost_saving_kg_co2e_per_t=0.0
):
    """What one tonne held in a store from one period into the next costs, in kg CO2e:
    the store's own emission per tonne and period (methane from stored organic
    matter) plus, for the fraction lost before the next period, the saving per tonne
    that was counted on delivery and that a lost tonne never makes
    (``lost_saving_kg_co2e_per_t``; 0 at a supply, whose lost tonnes simply stay at
    their fate). Element-wise on numpy arrays.
    """
    return kg_co2e_per_t_period + loss_fraction_per_period * lost_saving_kg_co2e_per_t


def processing_net_kg_co2e_saved_per_t(
    *,
    road_km,
    fate_kg_co2e_per_t,
    treatment_kg_co2e_per_t,
    transport_kg_co2e_per_tkm,
    credit_kg_co2e_per_t=0.0,
    output_yield=0.0,
    output_fate_kg_co2e_per_t=0.0,
):
    """Net saving of sending one tonne of residue to a processor (a compost or
    anaerobic-digestion plant), before its output finds a user.

    fate avoided + credit at the processor - transport - treatment - yield x the
    output's own fate factor: ``score_flow``'s net per tonne into a plant, a term
    not counted entering as 0. ``treatment_kg_co2e_per_t`` is the process's own
    factor per input tonne (WARM composting of food waste: -167.7, i.e. negative
    = stores or saves carbon). Works element-wise on numpy arrays.
    """
    return (
        net_kg_co2e_saved_per_t(
            road_km=road_km,
            fate_kg_co2e_per_t=fate_kg_co2e_per_t,
            credit_kg_co2e_per_t=credit_kg_co2e_per_t,
            transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm,
        )
        - treatment_kg_co2e_per_t
        - output_yield * output_fate_kg_co2e_per_t
    )


# --- the breakdowns of every term counted (tests, benchmarks, the CLI) -----------


@dataclass(frozen=True)
class ImpactBreakdown:
    """What moving ``tonnes`` from a supply to a demand changes, in kg CO2e."""

    tonnes: float
    road_km: float
    tonnes_diverted_from_landfill: float
    fate_kg_co2e_avoided: float
    transport_kg_co2e_added: float
    virgin_kg_co2e_avoided: float
    net_kg_co2e_saved: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def exchange_impact(
    *,
    tonnes: float,
    road_km: float,
    fate: str,
    fate_kg_co2e_per_t: float,
    credit_kg_co2e_per_t: float,
    transport_kg_co2e_per_tkm: float = DEFAULT_TRANSPORT_KG_CO2E_PER_TKM,
) -> ImpactBreakdown:
    """``score_flow`` of a direct exchange whose factors are all known, as numbers.

    ``tonnes_diverted_from_landfill`` is every tonne from a landfill fate (no ban or
    receiver known here): ``score_flow``'s category says more.
    """
    score = score_flow(
        tonnes=tonnes,
        road_km=road_km,
        fate=fate,
        fate_factor=Factor(fate_kg_co2e_per_t),
        credit=Factor(credit_kg_co2e_per_t),
        transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm,
    )
    return ImpactBreakdown(
        tonnes=tonnes,
        road_km=road_km,
        tonnes_diverted_from_landfill=tonnes if is_landfill_fate(fate) else 0.0,
        fate_kg_co2e_avoided=score.fate_kg_co2e_avoided,
        transport_kg_co2e_added=score.transport_kg_co2e_added,
        virgin_kg_co2e_avoided=score.virgin_kg_co2e_avoided,
        net_kg_co2e_saved=score.net_kg_co2e_saved,
    )


@dataclass(frozen=True)
class ProcessingBreakdown:
    """What sending ``tonnes`` of a residue to a processor changes, in kg CO2e."""

    tonnes: float
    road_km: float
    tonnes_diverted_from_landfill: float
    fate_kg_co2e_avoided: float
    transport_kg_co2e_added: float
    treatment_kg_co2e_added: float
    output_fate_kg_co2e_added: float  # yield x tonnes x the output's fate factor
    virgin_kg_co2e_avoided: float  # the processor's own credit per input tonne, if any
    net_kg_co2e_saved: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def processing_impact(
    *,
    tonnes: float,
    road_km: float,
    fate: str,
    fate_kg_co2e_per_t: float,
    treatment_kg_co2e_per_t: float,
    credit_kg_co2e_per_t: float = 0.0,
    output_yield: float = 0.0,
    output_fate_kg_co2e_per_t: float = 0.0,
    transport_kg_co2e_per_tkm: float = DEFAULT_TRANSPORT_KG_CO2E_PER_TKM,
) -> ProcessingBreakdown:
    """``score_flow`` of a residue into a processor whose factors are all known.

    The processor's output going on to a demand is an ordinary exchange: use
    ``exchange_impact`` with the output's fate factor as ``fate_kg_co2e_per_t``.
    """
    score = score_flow(
        tonnes=tonnes,
        road_km=road_km,
        fate=fate,
        fate_factor=Factor(fate_kg_co2e_per_t),
        credit=Factor(credit_kg_co2e_per_t),
        transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm,
        into_plant=True,
        treatment=Factor(treatment_kg_co2e_per_t),
        output_yield=output_yield,
        output_fate_factor=Factor(output_fate_kg_co2e_per_t),
    )
    return ProcessingBreakdown(
        tonnes=tonnes,
        road_km=road_km,
        tonnes_diverted_from_landfill=tonnes if is_landfill_fate(fate) else 0.0,
        fate_kg_co2e_avoided=score.fate_kg_co2e_avoided,
        transport_kg_co2e_added=score.transport_kg_co2e_added,
        treatment_kg_co2e_added=score.treatment_kg_co2e_added,
        output_fate_kg_co2e_added=score.output_fate_kg_co2e_added or 0.0,
        virgin_kg_co2e_avoided=score.virgin_kg_co2e_avoided,
        net_kg_co2e_saved=score.net_kg_co2e_saved,
    )
