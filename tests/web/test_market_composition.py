"""The market's composition filters: the same rule as the optimizer's (the listing's
own value, else its material's), checked against a plain Python recomputation over
listings with random compositions."""

import random
from decimal import Decimal

import pytest

from tests import factories
from tests.web.test_market import ids_in

pytestmark = pytest.mark.django_db

CONTAMINANTS = ["plastics", "glass", "metal", "stones"]


@pytest.fixture
def world(company_b, site_b):
    rng = random.Random(21)
    materials = [
        factories.MaterialFactory(
            slug="wet", moisture_percent=Decimal("80"), carbon_to_nitrogen_ratio=Decimal("15")
        ),
        factories.MaterialFactory(
            slug="dry", moisture_percent=Decimal("20"), carbon_to_nitrogen_ratio=Decimal("35")
        ),
        factories.MaterialFactory(slug="unknown"),  # no typical moisture, C:N
        # Hazardous by the national classifier only, and by the EWC flag only.
        factories.MaterialFactory(slug="oil", ewc_code="13 02 05", kz_code="13 02 05*"),
        factories.MaterialFactory(slug="acid", ewc_code="06 01 01", hazardous=True),
    ]
    materials[3].kz_hazardous = True
    materials[3].save()
    supplies = []
    for _ in range(18):  # fewer than a page (20)
        maybe = lambda value: value if rng.random() < 0.6 else None  # noqa: E731
        supplies.append(
            factories.SupplyListingFactory(
                organization=company_b,
                site=site_b,
                material=rng.choice(materials),
                moisture_percent=maybe(Decimal(rng.randint(5, 95))),
                cn_ratio=maybe(Decimal(rng.randint(5, 60))),
                contamination_percent=maybe(Decimal(rng.randint(0, 20))),
                particle_size_mm=maybe(Decimal(rng.randint(1, 100))),
                contaminants=",".join(rng.sample(CONTAMINANTS, rng.randint(0, 2))),
            )
        )
    demand = factories.DemandListingFactory(
        organization=company_b, site=site_b, materials=[materials[0]]
    )
    return {"supplies": supplies, "demand": demand}


def effective(supply, name):
    own = {"moisture": supply.moisture_percent, "cn": supply.cn_ratio}[name]
    typical = {
        "moisture": supply.material.moisture_percent,
        "cn": supply.material.carbon_to_nitrogen_ratio or None,
    }[name]
    return own if own is not None else typical


def passes(supply, query) -> bool:
    checks = {
        "max_moisture_percent": lambda v: (
            (m := effective(supply, "moisture")) is not None and m <= v
        ),
        "min_cn_ratio": lambda v: (c := effective(supply, "cn")) is not None and c >= v,
        "max_cn_ratio": lambda v: (c := effective(supply, "cn")) is not None and c <= v,
        "max_contamination_percent": lambda v: (
            supply.contamination_percent is not None and supply.contamination_percent <= v
        ),
        "max_particle_size_mm": lambda v: (
            supply.particle_size_mm is not None and supply.particle_size_mm <= v
        ),
    }
    for name, value in query.items():
        if name == "without_contaminants":
            present = set(filter(None, supply.contaminants.split(",")))
            if present & set(value):
                return False
        elif name == "non_hazardous":
            if supply.material.hazardous or supply.material.kz_hazardous:
                return False
        elif not checks[name](Decimal(value)):
            return False
    return True


OPTIONS = [
    "max_moisture_percent",
    "min_cn_ratio",
    "max_cn_ratio",
    "max_contamination_percent",
    "max_particle_size_mm",
    "without_contaminants",
    "non_hazardous",
]


@pytest.mark.parametrize("seed", range(len(OPTIONS) + 8))
def test_the_page_lists_exactly_the_supplies_the_rule_passes(client_as, member_a, world, seed):
    """Each filter alone (seeds 0-6), then random pairs; the seed replays a failure."""
    rng = random.Random(seed)
    options = {
        "max_moisture_percent": lambda: str(rng.randint(10, 90)),
        "min_cn_ratio": lambda: str(rng.randint(5, 30)),
        "max_cn_ratio": lambda: str(rng.randint(30, 60)),
        "max_contamination_percent": lambda: str(rng.randint(0, 20)),
        "max_particle_size_mm": lambda: str(rng.randint(1, 100)),
        "without_contaminants": lambda: rng.sample(CONTAMINANTS, rng.randint(1, 2)),
        "non_hazardous": lambda: "on",
    }
    names = [OPTIONS[seed]] if seed < len(OPTIONS) else rng.sample(OPTIONS, 2)
    query = {name: options[name]() for name in names}
    expected = {s.pk for s in world["supplies"] if passes(s, query)}

    response = client_as(member_a).get("/market/", {**query, "kind": "supply"})

    assert response.status_code == 200
    assert ids_in(response) == expected, f"seed {seed}: {query}"


def test_a_composition_limit_leaves_demands_out(client_as, member_a, world):
    client = client_as(member_a)
    assert ids_in(client.get("/market/", {"kind": "demand"}), "demand") == {world["demand"].pk}
    limited = client.get("/market/", {"kind": "demand", "max_moisture_percent": "50"})
    assert ids_in(limited, "demand") == set()


def test_a_c_n_range_upside_down_is_an_inline_error(client_as, member_a, world):
    response = client_as(member_a).get("/market/", {"min_cn_ratio": "40", "max_cn_ratio": "20"})

    assert response.status_code == 200
    assert "The highest C:N is below the lowest." in response.content.decode()


def test_the_api_filters_by_the_same_rule(client_as, member_a, world):
    found = client_as(member_a).get("/api/v1/supplies/", {"max_moisture_percent": "50"}).json()
    ids = {row["id"] for row in found["results"]}
    assert ids == {s.pk for s in world["supplies"] if passes(s, {"max_moisture_percent": "50"})}
