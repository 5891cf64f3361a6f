"""The methodology page lists exactly the factors a confirmed delivery or a proposal
rests on, each with its source, tier and range (issue 16, "Done when").

The world below is built so that which rows each flow uses is known from its
construction, not read back from the code:

- used by confirmed deliveries: grain's landfill factor and its virgin-production
  row (the credit of the feed rule, which the set holds), slag's landfill estimate
  and the road-base rule's own credit (one the set does not hold), the active set's
  transport factor; bread's landfill factor of an OLD, inactive set (the set that
  deal was made under) and that set's transport factor;
- used by a proposal only: food waste into a compost plant, i.e. food's landfill
  factor, the plant's own treatment factor, the landfill factor of the plant's
  output (compost, where it stays until a user takes it), the active transport;
- used by nothing: bread's landfill factor of the active set (its deal has only
  logged, held and disputed deliveries), cardboard's (its one confirmed delivery
  was voided by a confirmed reversal), wood's and grain's open-dump factors (no
  flow), the old set's grain factor.
"""

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse

from marketplace import services as market
from marketplace.models import Delivery
from marketplace.selectors import road_km_between
from optimizer.models import MatchProposal, OptimizationRun, ProcessingPlant
from optimizer.services import clean_run_parameters
from optimizer.snapshot import PROCESSOR_PREFIX, SnapshotReader, apply_breakdown, build_snapshot
from symbiosis.models import EmissionFactor, FactorSet
from tests import factories
from tests.dashboard.conftest import deliver, make_deal

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:methodology")


def _factor(factor_set, material, kind, kg, source, tier="published", low=None, high=None):
    return EmissionFactor.objects.create(
        factor_set=factor_set,
        material=material,
        kind=kind,
        kg_co2e_per_t=Decimal(kg),
        source=source,
        tier=tier,
        is_estimate=tier != "published",
        low_kg_co2e_per_t=None if low is None else Decimal(low),
        high_kg_co2e_per_t=None if high is None else Decimal(high),
        basis=f"basis of {source}" if tier != "published" else "",
    )


def _site(organization, lat, lon):
    return factories.SiteFactory(
        organization=organization, latitude=Decimal(lat), longitude=Decimal(lon)
    )


def _demand(organization, site, material, use):
    demand = factories.DemandListingFactory(
        organization=organization, site=site, materials=[material], tonnes=Decimal("5000")
    )
    demand.uses.set([use])
    return demand


@pytest.fixture
def world(db):
    old = FactorSet.objects.create(
        version="meth-old",
        name="Old factors",
        transport_kg_co2e_per_tkm=Decimal("0.2"),
        transport_source="old transport source",
        is_active=False,
    )
    active = FactorSet.objects.create(
        version="meth-active",
        name="Active factors",
        transport_kg_co2e_per_tkm=Decimal("0.12"),
        transport_source="active transport source",
        is_active=True,
    )
    m = {
        slug: factories.MaterialFactory(slug=slug, name_en=name)
        for slug, name in [
            ("grain", "Spent grain"),
            ("slag", "Steel slag"),
            ("bread", "Old bread"),
            ("cardboard", "Cardboard"),
            ("wood", "Wood"),
            ("food", "Food waste"),
            ("compost", "Compost"),
        ]
    }
    feed = factories.UseFactory(slug="feed", name_en="Animal feed")
    base = factories.UseFactory(slug="base", name_en="Road base")
    feedstock = factories.UseFactory(slug="feedstock", name_en="Compost feedstock")
    pulp = factories.UseFactory(slug="pulp", name_en="Paper pulp")
    factories.CompatibilityRuleFactory(material=m["grain"], use=feed, credit_kg_co2e_per_t=100)
    slag_rule = factories.CompatibilityRuleFactory(
        material=m["slag"], use=base, credit_kg_co2e_per_t=30, source="slag rule source"
    )
    # A treatment route, as in the fixtures: no virgin material is replaced.
    factories.CompatibilityRuleFactory(material=m["food"], use=feedstock, credit_kg_co2e_per_t=None)
    factories.CompatibilityRuleFactory(material=m["cardboard"], use=pulp, credit_kg_co2e_per_t=None)

    f = SimpleNamespace(
        grain_landfill=_factor(active, m["grain"], "landfill", "500", "grain landfill source"),
        grain_virgin=_factor(
            active, m["grain"], "virgin_production", "100", "grain virgin source", "proxy", 50, 150
        ),
        grain_dump=_factor(
            active, m["grain"], "open_dump", "200", "grain dump source", "estimate", 100, 400
        ),
        slag_landfill=_factor(
            active, m["slag"], "landfill", "20", "slag landfill source", "estimate", 10, 40
        ),
        bread_landfill=_factor(active, m["bread"], "landfill", "900", "bread landfill source"),
        cardboard_landfill=_factor(
            active, m["cardboard"], "landfill", "200", "cardboard landfill source"
        ),
        wood_landfill=_factor(active, m["wood"], "landfill", "925", "wood landfill source"),
        food_landfill=_factor(active, m["food"], "landfill", "552.8", "food landfill source"),
        compost_landfill=_factor(
            active, m["compost"], "landfill", "50", "compost landfill source", "estimate", 0, 100
        ),
        old_grain_landfill=_factor(old, m["grain"], "landfill", "480", "old grain landfill"),
    )
    # Flagged an estimate before tiers existed, with no range: shown as a proxy.
    f.old_bread_landfill = EmissionFactor.objects.create(
        factor_set=old,
        material=m["bread"],
        kind="landfill",
        kg_co2e_per_t=Decimal("850"),
        source="old bread landfill source",
        is_estimate=True,
    )

    farm = factories.OrganizationFactory(name="Farm")
    farm_site = _site(farm, "43.34", "76.99")
    feed_demand = _demand(farm, farm_site, m["grain"], feed)
    base_demand = _demand(farm, farm_site, m["slag"], base)
    mill = factories.OrganizationFactory(name="Paper mill")
    mill_site = _site(mill, "43.30", "76.80")
    pulp_demand = _demand(mill, mill_site, m["cardboard"], pulp)

    def supply(material, lat, lon, fate="landfill"):
        org = factories.OrganizationFactory(name=f"{material.name_en} producer")
        return factories.SupplyListingFactory(
            organization=org, site=_site(org, lat, lon), material=material, fate=fate
        )

    s = {
        "grain": supply(m["grain"], "43.25", "76.90"),
        "slag": supply(m["slag"], "43.22", "76.85"),
        "bread_old": supply(m["bread"], "43.26", "76.94"),
        "bread": supply(m["bread"], "43.27", "76.95"),
        "cardboard": supply(m["cardboard"], "43.21", "76.88"),
        "wood": supply(m["wood"], "43.20", "76.87"),
        "food": supply(m["food"], "43.24", "76.93"),
    }
    deals = {
        "grain": make_deal(
            supply=s["grain"], receiver_site=farm_site, demand=feed_demand, factor_set=active
        ),
        "slag": make_deal(
            supply=s["slag"], receiver_site=farm_site, demand=base_demand, factor_set=active
        ),
        # Made under the old set: its figures rest on the old set's rows.
        "bread_old": make_deal(
            supply=s["bread_old"], receiver_site=farm_site, demand=None, factor_set=old
        ),
        "bread": make_deal(
            supply=s["bread"], receiver_site=farm_site, demand=None, factor_set=active
        ),
        "cardboard": make_deal(
            supply=s["cardboard"], receiver_site=mill_site, demand=pulp_demand, factor_set=active
        ),
        # A deal whose residue has no delivery at all.
        "wood": make_deal(
            supply=s["wood"], receiver_site=farm_site, demand=None, factor_set=active
        ),
    }
    deliver(deals["grain"], date(2026, 1, 10), "12.5")
    deliver(deals["grain"], date(2026, 2, 10), "7.5")
    deliver(deals["slag"], date(2026, 2, 14), "40")
    deliver(deals["bread_old"], date(2026, 3, 2), "5")
    for status in ("logged", "held", "disputed"):
        deliver(deals["bread"], date(2026, 3, 3), "9", status=status)
    voided = deliver(deals["cardboard"], date(2026, 3, 4), "3")
    supplier = factories.MembershipFactory(organization=deals["cardboard"].supplier).user
    receiver = factories.MembershipFactory(organization=mill).user
    reversal, replacement = market.delivery_correct(
        user=supplier, delivery=voided, reason="logged twice", void=True
    )
    assert replacement is None
    market.delivery_confirm(user=receiver, delivery=reversal)
    assert Delivery.objects.get(pk=reversal.pk).status == "confirmed"

    # A compost plant, and a proposal of a run to send it the food waste.
    compost_works = factories.OrganizationFactory(name="Compost works")
    works_site = _site(compost_works, "43.31", "77.00")
    intake = _demand(compost_works, works_site, m["food"], feedstock)
    output = factories.SupplyListingFactory(
        organization=compost_works, site=works_site, material=m["compost"], fate="landfill"
    )
    plant = ProcessingPlant.objects.create(
        intake=intake,
        output=output,
        output_yield=0.4,
        treatment_kg_co2e_per_t=-167.7,
        treatment_source="plant treatment source",
        treatment_tier="proxy",
        treatment_low_kg_co2e_per_t=-200.0,
        treatment_high_kg_co2e_per_t=-100.0,
    )
    run = OptimizationRun.objects.create(status="succeeded", factor_set=active)
    snapshot = build_snapshot(factor_set=active, parameters=clean_run_parameters({}))
    road_km = road_km_between(s["food"].site, works_site)
    score = SnapshotReader(snapshot.instance).score(
        str(s["food"].pk), f"{PROCESSOR_PREFIX}{intake.pk}", tonnes=80.0, road_km=road_km
    )
    proposal = MatchProposal(
        run=run, kind="to_processor", supply=s["food"], demand=intake, material=m["food"]
    )
    apply_breakdown(proposal, score).save()

    return SimpleNamespace(
        active=active,
        old=old,
        materials=m,
        factors=f,
        plant=plant,
        slag_rule=slag_rule,
        deals=deals,
        farm=farm,
        farm_site=farm_site,
    )


def ef(factor) -> str:
    return f"ef:{factor.pk}"


def used_rows(w) -> dict[str, dict]:
    """The rows the world's flows rest on, from its construction: the ref, the
    material slug of the flows using it, its tier, range and source, and how many
    confirmed exchanges and proposals use it."""
    f = w.factors
    return {
        ef(f.grain_landfill): dict(
            flows={"grain"},
            tier="Published",
            range=None,
            text="grain landfill source",
            version="meth-active",
            used=(1, 0),
        ),
        ef(f.grain_virgin): dict(
            flows={"grain"},
            tier="Proxy",
            range="50.00 – 150.00",
            text="grain virgin source",
            version="meth-active",
            used=(1, 0),
        ),
        ef(f.slag_landfill): dict(
            flows={"slag"},
            tier="Estimate",
            range="10.00 – 40.00",
            text="slag landfill source",
            version="meth-active",
            used=(1, 0),
        ),
        f"rule:{w.slag_rule.pk}": dict(
            flows={"slag"},
            tier="Published",
            range=None,
            text="slag rule source",
            version=None,
            used=(1, 0),
        ),
        ef(f.old_bread_landfill): dict(
            flows={"bread"},
            tier="Proxy",
            range="none stated",
            text="old bread landfill source",
            version="meth-old",
            used=(1, 0),
        ),
        ef(f.food_landfill): dict(
            flows={"food"},
            tier="Published",
            range=None,
            text="food landfill source",
            version="meth-active",
            used=(0, 1),
        ),
        f"plant:{w.plant.pk}": dict(
            flows={"food"},
            tier="Proxy",
            range="-200.00 – -100.00",
            text="plant treatment source",
            version=None,
            used=(0, 1),
        ),
        # The plant's output stays on a landfill until a user takes it: the food's
        # flow into the plant carries that term, so the row is behind food's figures.
        ef(f.compost_landfill): dict(
            flows={"food"},
            tier="Estimate",
            range="0.00 – 100.00",
            text="compost landfill source",
            version="meth-active",
            used=(0, 1),
        ),
        f"transport:{w.active.pk}": dict(
            flows={"grain", "slag", "food"},
            tier="Published",
            range=None,
            text="active transport source",
            version="meth-active",
            used=(2, 1),
        ),
        f"transport:{w.old.pk}": dict(
            flows={"bread"},
            tier="Published",
            range=None,
            text="old transport source",
            version="meth-old",
            used=(1, 0),
        ),
    }


ROW = re.compile(r'<tr id="factor-[^"]*" data-ref="([^"]+)" data-tier="([^"]+)">(.*?)</tr>', re.S)
CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)


def page_rows(client, **query) -> dict[str, list[str]]:
    """The factors table of the page: ref -> the text of its cells."""
    response = client.get(URL, query)
    assert response.status_code == 200
    text = response.content.decode()
    table = re.search(r'<table class="city-table" id="factors-table">(.*?)</table>', text, re.S)
    assert table, "no factors table"
    rows = {}
    for ref, _tier, body in ROW.findall(table.group(1)):
        assert ref not in rows, f"{ref} listed twice"
        rows[ref] = [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in CELL.findall(body)
        ]
    return rows


def test_the_page_lists_exactly_the_factors_in_use(client, world, analyst):
    client.force_login(analyst)
    rows = page_rows(client)
    expected = used_rows(world)
    assert set(rows) == set(expected)
    f = world.factors
    for unused in (
        f.bread_landfill,  # logged, held and disputed deliveries only
        f.cardboard_landfill,  # a confirmed delivery, voided by a confirmed reversal
        f.wood_landfill,  # a deal with no delivery
        f.grain_dump,  # no supply with that fate
        f.old_grain_landfill,  # a row of the inactive set that no flow used
    ):
        assert ef(unused) not in rows


def test_each_row_states_its_source_tier_range_and_use(client, world, analyst):
    client.force_login(analyst)
    rows = page_rows(client)
    for ref, want in used_rows(world).items():
        # Material, route, value, tier, range, basis and source, version, used by
        _material, _route, _value, tier, range_text, source, version, used = rows[ref]
        assert tier == want["tier"], ref
        assert want["text"] in source, ref
        if want["range"] is None:
            assert range_text == "–", ref
        else:
            assert range_text.startswith(want["range"]), (ref, range_text)
        assert version == (want["version"] or "–"), ref
        exchanges, proposals = want["used"]
        assert used == f"{exchanges} exchanges, {proposals} proposals", ref


def test_the_values_are_the_rows_applied(client, world, analyst):
    client.force_login(analyst)
    rows = page_rows(client)
    f = world.factors
    assert rows[ef(f.grain_landfill)][:3] == ["Spent grain", "Landfill", "500.00"]
    assert rows[ef(f.grain_virgin)][:3] == [
        "Spent grain",
        "Credit: virgin production avoided",
        "100.00",
    ]
    assert rows[f"rule:{world.slag_rule.pk}"][:3] == [
        "Steel slag",
        "Credit: virgin production avoided (Road base)",
        "30.00",
    ]
    assert rows[f"plant:{world.plant.pk}"][2] == "-167.70"
    # Transport is per tonne-km, each set's own.
    assert rows[f"transport:{world.active.pk}"][2] == "0.12000 kg CO2e / t·km"
    assert rows[f"transport:{world.old.pk}"][2] == "0.20000 kg CO2e / t·km"


@pytest.mark.parametrize("slug", ["grain", "slag", "bread", "food", "compost", "wood", "nothing"])
def test_material_filter_keeps_the_rows_behind_that_materials_flows(client, world, analyst, slug):
    client.force_login(analyst)
    rows = page_rows(client, material=slug)
    expected = {ref for ref, want in used_rows(world).items() if slug in want["flows"]}
    assert set(rows) == expected
    # The counts are those of the material's own flows.
    transport = rows.get(f"transport:{world.active.pk}")
    if transport is not None:
        flows = {"grain": (1, 0), "slag": (1, 0), "food": (0, 1)}[slug]
        assert transport[-1] == f"{flows[0]} exchanges, {flows[1]} proposals"


@pytest.mark.parametrize(
    "tier, shown",
    [("published", {"Published"}), ("proxy", {"Proxy", "Estimate"}), ("bogus", None)],
)
def test_tier_filter(client, world, analyst, tier, shown):
    client.force_login(analyst)
    rows = page_rows(client, tier=tier)
    expected = {
        ref for ref, want in used_rows(world).items() if shown is None or want["tier"] in shown
    }
    assert set(rows) == expected


def test_a_new_confirmed_delivery_adds_its_rows(client, world, analyst):
    client.force_login(analyst)
    assert ef(world.factors.bread_landfill) not in page_rows(client)
    logged = Delivery.objects.get(deal=world.deals["bread"], status="logged")
    market.delivery_confirm(
        user=factories.MembershipFactory(organization=world.farm).user, delivery=logged
    )
    rows = page_rows(client)
    assert ef(world.factors.bread_landfill) in rows
    assert rows[f"transport:{world.active.pk}"][-1] == "3 exchanges, 1 proposals"


def test_an_estimate_rules_own_credit_is_listed(client, world, analyst):
    panels = factories.MaterialFactory(slug="panels", name_en="Facade panels")
    reuse = factories.UseFactory(slug="panel-reuse", name_en="Panel reuse")
    rule = factories.CompatibilityRuleFactory(
        material=panels, use=reuse, credit_kg_co2e_per_t=40, is_estimate=True, source="panel rule"
    )
    org = factories.OrganizationFactory()
    supply = factories.SupplyListingFactory(
        organization=org, site=_site(org, "43.23", "76.86"), material=panels
    )
    demand = _demand(world.farm, world.farm_site, panels, reuse)
    deal = make_deal(
        supply=supply, receiver_site=world.farm_site, demand=demand, factor_set=world.active
    )
    deliver(deal, date(2026, 4, 1), "10")
    client.force_login(analyst)
    rows = page_rows(client, material="panels")
    # An estimate of the rule's own may be worth nothing: its range runs from 0.
    assert rows[f"rule:{rule.pk}"][3:5] == ["Estimate", "0.00 – 40.00"]


def test_a_company_member_is_refused(client, world, member_a):
    client.force_login(member_a)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_facilitator_reads_it(client, world, facilitator):
    client.force_login(facilitator)
    assert set(page_rows(client)) == set(used_rows(world))
