"""The Almaty demo's processing plants: the compost works and the biogas plant.

Their treatment factors come from the active factor set (WARM v16 composting and
the WARM v15-derived digestion factor of food waste), applied per input tonne as
a labelled proxy for every feedstock.
"""

from optimizer.models import ProcessingPlant
from symbiosis.demo import listing_marker
from symbiosis.models import DemandListing, EmissionFactor, SupplyListing
from symbiosis.taxonomy import active_factor_set

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
    },
    {
        "intake": "ili-biogas/feedstock",
        "output": None,  # digestate is not in the taxonomy yet
        "output_yield": 0.0,
        "kind": EmissionFactor.Kind.ANAEROBIC_DIGESTION,
    },
]


def _listing(model, key: str):
    return model.objects.get(description__endswith=listing_marker(key))


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
                    f"factor of set {factor_set.version}: {factor.source}"
                ),
                "cn_min": spec.get("cn_min"),
                "cn_max": spec.get("cn_max"),
                "moisture_max_percent": spec.get("moisture_max_percent"),
            },
        )
    return ProcessingPlant.objects.count()
