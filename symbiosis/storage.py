"""What holding a material from one month to the next costs (issue 19): the fraction
lost per month and the kg CO2e per tonne held a month, for the optimizer's stores.

A material's own figures (``Material.storage_*``, with their source) come first.
Without them, an estimate by what the material is, always flagged ``estimate``:

* minerals, metals, plastics and fossil residues (slag, crushed concrete, scrap,
  panels): inert, nothing decays, so 0 loss and 0 emissions;
* biomass: it rots. Wet residues (moisture 60 % or more, e.g. spent grain at about
  77 %, which sours within days) lose half a month's stock, drier ones a fifth;
  methane from a heap: about 10 kg CO2e per tonne and month, of the order of IPCC
  2019 solid storage of manure (methane conversion factor 2-5 % of about 0.24 m3 CH4
  per kg volatile solids, 0.2 t volatile solids per wet tonne, GWP 27, spread over a
  few months). Not sourced for these residues: an estimate;
* mixed residues: not known, so no store is offered (a silent 0 would flatter it).
"""

from __future__ import annotations

from dataclasses import dataclass

from symbiosis.impact import ESTIMATE, PUBLISHED

INERT_CATEGORIES = frozenset({"minerals", "metals", "plastics", "fossil"})
WET_MOISTURE_PERCENT = 60
BIOMASS_KG_CO2E_PER_T_MONTH = 10.0


@dataclass(frozen=True)
class StorageFactors:
    loss_fraction_per_month: float
    kg_co2e_per_t_month: float
    tier: str
    basis: str


def storage_factors(material) -> StorageFactors | None:
    """The material's store figures, or None where they are not known."""
    loss, kg = material.storage_loss_fraction_per_month, material.storage_kg_co2e_per_t_month
    if loss is not None and kg is not None:
        return StorageFactors(float(loss), float(kg), PUBLISHED, material.storage_source)
    if material.category in INERT_CATEGORIES:
        return StorageFactors(0.0, 0.0, ESTIMATE, "inert material: nothing decays")
    if material.category == "biomass":
        moisture = material.moisture_percent
        wet = moisture is None or float(moisture) >= WET_MOISTURE_PERCENT
        return StorageFactors(
            0.5 if wet else 0.2,
            BIOMASS_KG_CO2E_PER_T_MONTH,
            ESTIMATE,
            "organic matter rots: estimate (symbiosis.storage)",
        )
    return None
