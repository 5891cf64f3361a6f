"""Sewage sludge stays out of the food chain: no path through the compatibility rules, nor
through what a treatment makes of it, reaches a food or feed use (the Almaty analysis
warns of heavy metals in sludge)."""

import importlib

import pytest
from django.apps import apps

from optimizer.demo import PLANTS
from symbiosis.models import CompatibilityRule
from symbiosis.taxonomy import read_csv
from tests import factories

SLUDGE = "sewage-sludge"
# Uses whose product people or animals eat, or whose field grows their food.
FOOD_OR_FEED = {
    "animal-feed",
    "bakery-ingredient",
    "brewing-adjunct",
    "mushroom-substrate",
    "soil-improver",
}
# What a use makes of its input that is offered on again (the demo's compost works sells
# compost; a mushroom farm gives away its spent substrate). Other uses make nothing a
# rule takes on: their product leaves the platform.
MAKES = {
    "compost-feedstock": {"compost"},
    "mushroom-substrate": {"mushroom-spent-substrate"},
}
OTHER_USES = {row["slug"] for row in read_csv("uses.csv")} - FOOD_OR_FEED - set(MAKES)


def _paths_to_food(rules: list[tuple[str, str]], start: str) -> list[list[str]]:
    """Every path from ``start`` through rules and what their uses make to a food or
    feed use, as [material, use, material, use, ...]."""
    uses_of: dict[str, set[str]] = {}
    for material, use in rules:
        uses_of.setdefault(material, set()).add(use)
    found, stack, seen = [], [[start]], set()
    while stack:
        path = stack.pop()
        for use in sorted(uses_of.get(path[-1], ())):
            if use in FOOD_OR_FEED:
                found.append([*path, use])
            for made in MAKES.get(use, ()):
                if made not in seen:
                    seen.add(made)
                    stack.append([*path, use, made])
    return found


def _fixture_rules() -> list[tuple[str, str]]:
    return [(row["material"], row["use"]) for row in read_csv("compatibility_rules.csv")]


def test_every_use_is_classified():
    """A new use must be placed here: food or feed, a treatment that makes a material,
    or neither; otherwise this walk could miss a new way into the food chain."""
    assert OTHER_USES >= {"anaerobic-digestion", "road-base-aggregate", "paper-pulp"}
    assert not OTHER_USES & {"animal-feed", "mushroom-substrate"}
    known = FOOD_OR_FEED | set(MAKES) | OTHER_USES
    assert {use for _material, use in _fixture_rules()} <= known


def test_the_walk_finds_a_path_through_compost():
    """The walk itself: sludge into compost, compost into mushroom substrate is found."""
    rules = [(SLUDGE, "compost-feedstock"), ("compost", "mushroom-substrate")]
    assert _paths_to_food(rules, SLUDGE) == [
        [SLUDGE, "compost-feedstock", "compost", "mushroom-substrate"]
    ]


def test_the_compost_works_makes_compost():
    """The demo plant the walk assumes: compost feedstock in, compost out."""
    compost_works = next(p for p in PLANTS if p["output"])
    assert compost_works["intake"].endswith("/feedstock") and "compost" in compost_works["output"]


def test_no_rule_leads_sludge_to_a_food_or_feed_use():
    rules = _fixture_rules()
    assert (SLUDGE, "anaerobic-digestion") in rules
    assert _paths_to_food(rules, SLUDGE) == []


@pytest.mark.django_db
def test_the_loaded_rules_lead_sludge_nowhere_near_food(demo):
    rules = list(CompatibilityRule.objects.values_list("material__slug", "use__slug"))
    assert _paths_to_food(rules, SLUDGE) == []


@pytest.mark.django_db
def test_the_migration_removes_sludge_rules_into_the_food_chain():
    migration = importlib.import_module("symbiosis.migrations.0006_fate_review")
    sludge = factories.MaterialFactory(slug=SLUDGE)
    kept = factories.CompatibilityRuleFactory(
        material=sludge, use=factories.UseFactory(slug="anaerobic-digestion")
    )
    for use in ("compost-feedstock", "animal-feed", "soil-improver"):
        factories.CompatibilityRuleFactory(material=sludge, use=factories.UseFactory(slug=use))

    migration.sludge_out_of_the_food_chain(apps, None)

    assert list(CompatibilityRule.objects.filter(material=sludge)) == [kept]
