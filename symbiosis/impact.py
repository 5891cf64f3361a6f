"""CO2e and tonnage accounting: the one source of truth.

Pure functions with no Django import, so the optimizer core, the pages, the
deal records and the city dashboard all compute the same figures the same way.
The arithmetic is plain, so the per-tonne helpers work element-wise on numpy
arrays as well as on floats (the optimizer scores every arc with them at once).

Sign convention: an emission factor is what a tonne emits on that route
(kg CO2e per tonne; negative means the route stores or saves carbon, as WARM
credits landfill carbon storage for wood). A positive *saving* is good.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Fates whose tonnes count as "diverted from landfill" when the residue moves.
LANDFILL_FATES = frozenset({"landfill", "open_dump"})

# DEFRA 2025, freighting goods, all HGVs, average laden (direct, no well-to-tank).
DEFAULT_TRANSPORT_KG_CO2E_PER_TKM = 0.10163

# Great-circle distances are multiplied by this to approximate road km.
DEFAULT_ROAD_FACTOR = 1.3


def is_landfill_fate(fate: str) -> bool:
    return fate in LANDFILL_FATES


def transport_kg_co2e_per_t(*, road_km, transport_kg_co2e_per_tkm):
    """Trucking emissions for one tonne over ``road_km``."""
    return transport_kg_co2e_per_tkm * road_km


def net_kg_co2e_saved_per_t(
    *, road_km, fate_kg_co2e_per_t, credit_kg_co2e_per_t, transport_kg_co2e_per_tkm
):
    """Net saving of moving one tonne: fate avoided + virgin avoided - transport.

    Works element-wise on numpy arrays.
    """
    return (
        fate_kg_co2e_per_t
        + credit_kg_co2e_per_t
        - transport_kg_co2e_per_t(
            road_km=road_km, transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm
        )
    )


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
    output's own fate factor (what the output emits where it stays until a
    demand takes it; each output tonne that does go to a demand earns that
    factor back through ``net_kg_co2e_saved_per_t`` with the output's fate).
    ``treatment_kg_co2e_per_t`` is the process's own factor per input tonne (WARM
    composting of food waste: -167.7, i.e. negative = stores or saves carbon).
    Works element-wise on numpy arrays.
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
    """Impact of moving ``tonnes`` of a residue ``road_km`` to a receiver.

    ``fate`` is the residue's current fate (landfill, incineration, open_dump,
    other) and ``fate_kg_co2e_per_t`` its emission factor; ``credit_kg_co2e_per_t``
    is the virgin production the receiver no longer needs per tonne received.
    """
    if tonnes < 0:
        raise ValueError("tonnes must not be negative")
    if road_km < 0:
        raise ValueError("road_km must not be negative")
    fate_avoided = fate_kg_co2e_per_t * tonnes
    transport_added = (
        transport_kg_co2e_per_t(
            road_km=road_km, transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm
        )
        * tonnes
    )
    virgin_avoided = credit_kg_co2e_per_t * tonnes
    return ImpactBreakdown(
        tonnes=tonnes,
        road_km=road_km,
        tonnes_diverted_from_landfill=tonnes if is_landfill_fate(fate) else 0.0,
        fate_kg_co2e_avoided=fate_avoided,
        transport_kg_co2e_added=transport_added,
        virgin_kg_co2e_avoided=virgin_avoided,
        net_kg_co2e_saved=fate_avoided + virgin_avoided - transport_added,
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
    """Impact of sending ``tonnes`` of a residue ``road_km`` to a processor.

    The processor's output going on to a demand is an ordinary exchange: use
    ``exchange_impact`` with the output's fate factor as ``fate_kg_co2e_per_t``
    (and a fate that is not landfill, so its tonnes are not counted twice).
    """
    if tonnes < 0:
        raise ValueError("tonnes must not be negative")
    if road_km < 0:
        raise ValueError("road_km must not be negative")
    if output_yield < 0:
        raise ValueError("output_yield must not be negative")
    fate_avoided = fate_kg_co2e_per_t * tonnes
    transport_added = (
        transport_kg_co2e_per_t(
            road_km=road_km, transport_kg_co2e_per_tkm=transport_kg_co2e_per_tkm
        )
        * tonnes
    )
    treatment_added = treatment_kg_co2e_per_t * tonnes
    output_added = output_yield * output_fate_kg_co2e_per_t * tonnes
    virgin_avoided = credit_kg_co2e_per_t * tonnes
    return ProcessingBreakdown(
        tonnes=tonnes,
        road_km=road_km,
        tonnes_diverted_from_landfill=tonnes if is_landfill_fate(fate) else 0.0,
        fate_kg_co2e_avoided=fate_avoided,
        transport_kg_co2e_added=transport_added,
        treatment_kg_co2e_added=treatment_added,
        output_fate_kg_co2e_added=output_added,
        virgin_kg_co2e_avoided=virgin_avoided,
        net_kg_co2e_saved=fate_avoided
        + virgin_avoided
        - transport_added
        - treatment_added
        - output_added,
    )
