"""The Almaty demo's processing plants: the compost works and the biogas plant.

Their treatment factors come from the active factor set (WARM v16 composting and
the WARM v15-derived digestion factor of food waste), applied per input tonne to
every feedstock: a proxy, with a range from that figure to the IPCC 2006 default
emissions of the process with nothing credited (Vol.5 Ch.4 Table 4.1, per wet
tonne: composting 4 g CH4 and 0.24 g N2O per kg, digestion 0.8 g CH4 per kg
leaked; GWP100 of AR5, CH4 28 and N2O 265).
"""

from optimizer.models import ProcessingPlant
from symbiosis.demo import demo_listing
from symbiosis.models import DemandListing, EmissionFactor, SupplyListing
from symbiosis.taxonomy import active_factor_set
from symbiosis.validators import SOURCE_MAX_CHARS

PLANTS = [
    {
        "intake": "almaty-compost-works/feedstock",
        "output": "almaty-compost-works/compost",
        # ESTIMATE: windrow composting loses roughly half to two thirds of the
        # wet feedstock mass as water and CO2; 0.4 t compost per t is a middle value.
        "output_yield": 0.4,
        "kind": EmissionFactor.Kind.COMPOSTING,
        # A good compost blend (shared/data/README.md): C:N 20-40, moisture 50-60 %.
        "cn_min": 20.0,
        "cn_max": 40.0,
        "moisture_max_percent": 60.0,
        # 4 x 28 + 0.24 x 265 = 175.6 kg CO2e per tonne, no soil carbon storage credited.
        "high_kg_co2e_per_t": 175.6,
        "range_basis": (
            "Range: WARM's food-waste figure, which credits carbon stored in the soil, to "
            "the IPCC 2006 default composting emissions with nothing credited (4 g CH4 and "
            "0.24 g N2O per kg of wet feedstock: 4 x 28 + 0.24 x 265 = 175.6 kg CO2e/t)."
        ),
    },
    {
        "intake": "ili-biogas/feedstock",
        "output": None,  # digestate is not in the taxonomy yet
        "output_yield": 0.0,
        "kind": EmissionFactor.Kind.ANAEROBIC_DIGESTION,
        # 0.8 x 28 = 22.4 kg CO2e per tonne leaked, no electricity credited.
        "high_kg_co2e_per_t": 22.4,
        "range_basis": (
            "Range: WARM's food-waste figure, which credits the grid electricity the biogas "
            "displaces, to the IPCC 2006 default leakage with nothing credited (0.8 g CH4 per "
            "kg of wet feedstock: 0.8 x 28 = 22.4 kg CO2e/t)."
        ),
    },
]


def _listing(model, key: str):
    return demo_listing(model, key)


def load_demo_plants() -> int:
    """Create or update the demo plants; returns how many exist."""
    factor_set = active_factor_set()
    for spec in PLANTS:
        factor = EmissionFactor.objects.get(
            factor_set=factor_set, material__slug="food-waste", kind=spec["kind"]
        )
        ProcessingPlant.objects.update_or_create(
            intake=_listing(DemandListing, spec["intake"]),
            defaults={
                "output": _listing(SupplyListing, spec["output"]) if spec["output"] else None,
                "output_yield": spec["output_yield"],
                "treatment_kg_co2e_per_t": float(factor.kg_co2e_per_t),
                "treatment_source": (
                    f"PROXY for every feedstock: food waste {factor.get_kind_display()} "
                    f"factor of set {factor_set.version}. {spec['range_basis']} "
                    f"Source: {factor.source}"
                )[:SOURCE_MAX_CHARS],
                "treatment_tier": EmissionFactor.Tier.PROXY,
                "treatment_low_kg_co2e_per_t": float(factor.kg_co2e_per_t),
                "treatment_high_kg_co2e_per_t": spec["high_kg_co2e_per_t"],
                "cn_min": spec.get("cn_min"),
                "cn_max": spec.get("cn_max"),
                "moisture_max_percent": spec.get("moisture_max_percent"),
            },
        )
    return ProcessingPlant.objects.count()
