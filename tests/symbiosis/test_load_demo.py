"""`manage.py load_demo`: idempotent, plausible, and the figures the brief asks for."""

import math
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from symbiosis import models
from symbiosis.demo import ANALYST_EMAIL, DEMO_PASSWORD, FACILITATOR_EMAIL, load_demo
from symbiosis.taxonomy import FIXTURES_DIR, read_csv
from symbiosis.validators import validate_bin
from tests import factories

ALMATY_CENTRE = (43.238, 76.946)
EARTH_RADIUS_KM = 6371.0

SNAPSHOT_MODELS = [
    models.User,
    models.Organization,
    models.Membership,
    models.Site,
    models.Material,
    models.Use,
    models.CompatibilityRule,
    models.FactorSet,
    models.EmissionFactor,
    models.SupplyListing,
    models.DemandListing,
    models.DemandListing.materials.through,
    models.DemandListing.uses.through,
    models.User.groups.through,
    models.User.user_permissions.through,
    Group,
]


def haversine_km(lat1, lon1, lat2, lon2):
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def bin_is_valid(value):
    """The Kazakh BIN check digit, written out again so the test does not trust the app."""
    if len(value) != 12 or not value.isdigit():
        return False
    digits = [int(c) for c in value]
    check = sum(d * w for d, w in zip(digits[:11], range(1, 12), strict=True)) % 11
    if check == 10:
        weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        check = sum(d * w for d, w in zip(digits[:11], weights, strict=True)) % 11
        if check == 10:
            return False
    return check == digits[11]


def snapshot():
    return {
        model.__name__: list(model.objects.order_by("pk").values()) for model in SNAPSHOT_MODELS
    }


def annual_tonnes(listing):
    per_year = {"year": 1, "month": 12, "once": 1}[listing.recurrence]
    return listing.tonnes * per_year


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # PBKDF2 costs about a second per hash and check; the tests check logic.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ``demo`` (tests/conftest.py): load_demo's result, the demo loaded once for the
# module; each test's own writes are rolled back after it.


def test_second_run_creates_and_changes_nothing(demo):
    before = snapshot()
    out = StringIO()
    call_command("load_demo", stdout=out)
    after = snapshot()
    assert {name: len(rows) for name, rows in after.items()} == {
        name: len(rows) for name, rows in before.items()
    }
    assert after == before
    assert " created" not in out.getvalue() and " updated" not in out.getvalue()


def test_minimum_counts(demo):
    assert models.Organization.objects.count() >= 25
    assert models.SupplyListing.objects.count() >= 40
    assert models.DemandListing.objects.count() >= 30
    kinds = set(models.Organization.objects.values_list("kind", flat=True))
    assert kinds == {"company", "processor", "municipality", "landfill_operator"}
    for org in models.Organization.objects.all():
        assert org.sites.exists(), org
        assert org.memberships.filter(role="admin", user__email=org.contact_email).exists(), org


def test_bins_are_checksum_valid(demo):
    bins = list(models.Organization.objects.values_list("bin", flat=True))
    assert len(set(bins)) == len(bins)
    for value in bins:
        assert bin_is_valid(value), value
        validate_bin(value)


def test_sites_are_in_and_around_almaty(demo):
    for site in models.Site.objects.all():
        km = haversine_km(*ALMATY_CENTRE, float(site.latitude), float(site.longitude))
        assert km <= 80, (site, km)
        if site.district != "almaty_region":
            # A city district lies within the city, ~20 km of the centre.
            assert km <= 20, (site, km)
    districts = set(models.Site.objects.values_list("district", flat=True))
    assert districts >= {
        "alatau",
        "almaly",
        "bostandyk",
        "medeu",
        "turksib",
        "zhetysu",
        "almaty_region",
    }


def test_every_supplied_material_has_a_taker(demo):
    for supply in models.SupplyListing.objects.select_related("material"):
        material = supply.material
        served_uses = models.Use.objects.filter(rules__material=material)
        takers = models.DemandListing.objects.filter(materials=material) | (
            models.DemandListing.objects.filter(uses__in=served_uses)
        )
        assert takers.exists(), material.slug


def test_listing_mix(demo):
    supplies = models.SupplyListing.objects.all()
    visibility = Counter(supplies.values_list("visibility", flat=True))
    assert visibility["public"] > supplies.count() / 2
    assert visibility["anonymous"] >= 3 and visibility["private"] >= 1
    status = Counter(supplies.values_list("status", flat=True))
    assert status["active"] > supplies.count() / 2
    assert status["draft"] >= 1 and status["paused"] >= 1
    fates = Counter(supplies.values_list("fate", flat=True))
    assert fates["landfill"] == max(fates.values())
    assert supplies.filter(price_kzt_per_t__lt=0).exists()
    assert supplies.filter(fate_cost_kzt_per_t__gt=0).count() > supplies.count() / 2
    demands = models.DemandListing.objects.all()
    assert Counter(demands.values_list("visibility", flat=True))["public"] > demands.count() / 2
    for listing in [*supplies, *demands]:
        assert listing.available_from <= listing.available_until
    for demand in demands:
        assert demand.materials.exists() or demand.uses.exists(), demand


# The food manufacturers among the demo's companies (the report's "nine food companies").
FOOD_COMPANIES = {
    "Alatau Brewery",
    "Zhetysu Beer Company",
    "Tengri Craft Brewery",
    "Almaty Bread Combine",
    "Baursak Bakery",
    "Tandyr Bakery",
    "Almaty Confectionery Factory",
}
CONSTRUCTION = {"crushed-concrete", "precast-facade-panels", "bricks", "asphalt", "wood"}
DEMOLITION_SITES = {"Aksay panel block demolition site", "Kazakhfilm renovation site"}


def test_tonnages_are_of_companies_not_of_the_city(demo):
    """The report's lines bound the demo (symbiosis/fixtures/README.md): no company
    offers a city's worth, except the one wastewater utility's sludge (S6)."""
    supplies = list(models.SupplyListing.objects.select_related("material", "organization", "site"))
    food = sum(
        annual_tonnes(s)
        for s in supplies
        if s.organization.name in FOOD_COMPANIES and s.material.category == "biomass"
    )
    # Nine food companies alone: 90,000 t a year of organic residues (S4).
    assert Decimal(20_000) <= food <= Decimal(90_000)
    construction = [s for s in supplies if s.material.slug in CONSTRUCTION]
    # About 79,000 t of construction material landfilled a year (S3): the demo is a share.
    assert sum(annual_tonnes(s) for s in construction) <= Decimal("0.2") * 79_000
    # Two demolition sites are not most of the city's construction waste.
    demolition = sum(annual_tonnes(s) for s in construction if s.site.name in DEMOLITION_SITES)
    assert demolition <= Decimal("0.12") * 79_000
    # A cafe's grounds are a few hundred kilograms a month, not tonnes.
    for grounds in (s for s in supplies if s.material.slug == "coffee-grounds"):
        assert grounds.recurrence == "month" and grounds.tonnes <= Decimal("0.5"), grounds
    sludge = [s for s in supplies if s.material.slug == "sewage-sludge"]
    assert [annual_tonnes(s) for s in sludge] == [Decimal(48_000)]  # S6, the city's own


def test_baselines_tell_the_truth(demo):
    """Fates as the report and the law have them: the breweries' spent grain is fodder
    already (reuse continued, not diversion), manure heaped on farms is stored on the
    farm (not a landfill), and board, glass and plastics said to go to landfill are
    banned disposals, with the legal basis on the material."""
    supplies = models.SupplyListing.objects.select_related("material")

    def fate(key):
        found = supplies.get(demo_key=key)
        return found.fate, found.fate_evidence

    assert fate("alatau-brewery/spent-grain") == ("already_used", "declared")
    assert fate("zhetysu-beer/spent-grain") == ("already_used", "declared")
    assert fate("kaskelen-poultry/manure")[0] == "stored_on_farm"
    assert fate("ili-dairy-farm/manure")[0] == "stored_on_farm"
    banned = supplies.filter(material__landfill_banned=True, fate__in=["landfill", "open_dump"])
    assert {s.material.slug for s in banned} == {
        "cardboard",
        "glass",
        "pet",
        "hdpe",
        "mixed-plastics",
    }
    for material in models.Material.objects.filter(landfill_banned=True):
        assert "Environmental Code of the Republic of Kazakhstan" in material.landfill_ban_basis
        assert "not verified" in material.landfill_ban_basis
    assert set(
        models.Material.objects.filter(landfill_banned=True).values_list("slug", flat=True)
    ) == {"paper", "cardboard", "glass", "pet", "hdpe", "mixed-plastics"}
    # Nobody verified a demo fate: only a facilitator does, on the review page.
    assert not supplies.filter(fate_evidence="verified").exists()
    for documented in supplies.filter(fate_evidence="documented"):
        assert documented.fate_evidence_note, documented
    # The landfill is a landfill operator: what it takes in is used at a landfill.
    landfill = models.Organization.objects.get(name="Almaty Solid Waste Landfill")
    assert landfill.kind == "landfill_operator"


def test_residues_of_imported_origin_are_flagged(demo):
    imported = models.SupplyListing.objects.filter(imported_origin=True)
    assert {s.material.slug for s in imported} == {"cocoa-shells", "jute-bags", "coffee-grounds"}
    others = models.SupplyListing.objects.exclude(imported_origin=True)
    assert not others.filter(material__slug__in=["cocoa-shells", "jute-bags", "coffee-grounds"])


def _readme_rows() -> dict[str, str]:
    """The README's table of supply listings: key -> its tonnes a year, as written."""
    readme = (FIXTURES_DIR / "README.md").read_text()
    table = readme.split("## Where the demo's tonnages come from", 1)[1]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_supply_tonnage_says_where_it_comes_from():
    """Each demo supply is in symbiosis/fixtures/README.md with its tonnes a year, its
    seed line or "illustrative", and why that size."""
    rows = _readme_rows()
    supplies = read_csv("demo/supplies.csv")
    assert set(rows) == {row["key"] for row in supplies}
    densities = {row["slug"]: row["density_t_per_m3"] for row in read_csv("materials.csv")}
    for row in supplies:
        quantity = Decimal(row["quantity"])
        tonnes = {
            "t": quantity,
            "kg": quantity / 1000,
            "m3": quantity * Decimal(densities[row["material"]] or 0),
            "pieces": quantity * Decimal(row["piece_mass_kg"] or 0) / 1000,
        }[row["unit"]] * (12 if row["recurrence"] == "month" else 1)
        written = Decimal(rows[row["key"]].replace(",", ""))
        assert abs(written - tonnes) <= max(Decimal("0.05"), tonnes / 100), row["key"]


def test_units_are_normalised(demo):
    jute = models.SupplyListing.objects.get(demo_key="almaty-confectionery/jute-bags")
    assert (jute.unit, jute.tonnes) == ("pieces", Decimal("72"))
    coffee = models.SupplyListing.objects.get(demo_key="kok-tobe-coffee/grounds-al-farabi")
    assert coffee.unit == "m3"
    assert coffee.tonnes == (Decimal("0.4") * coffee.material.density_t_per_m3).quantize(
        Decimal("0.000001")
    )
    panels = models.DemandListing.objects.get(demo_key="almaty-dsk/panels")
    assert panels.tonnes == Decimal("2080")


def test_demo_logins(demo):
    # The command prints the logins (here on the loaded demo: a reload changes nothing).
    out = StringIO()
    call_command("load_demo", stdout=out)
    printed = out.getvalue()
    assert DEMO_PASSWORD in printed
    assert FACILITATOR_EMAIL in printed and ANALYST_EMAIL in printed
    assert demo.password == DEMO_PASSWORD
    assert {FACILITATOR_EMAIL, ANALYST_EMAIL} <= {login.email for login in demo.logins}
    facilitator = models.User.objects.get(email=FACILITATOR_EMAIL)
    assert facilitator.is_staff and not facilitator.is_superuser
    assert facilitator.groups.filter(name="facilitator").exists()
    assert facilitator.has_perm("symbiosis.view_supplylisting")
    assert not facilitator.has_perm("symbiosis.change_user")
    assert facilitator.check_password(DEMO_PASSWORD)
    analyst = models.User.objects.get(email=ANALYST_EMAIL)
    assert analyst.groups.filter(name="city_analyst").exists()
    assert not analyst.is_staff
    assert analyst.check_password(DEMO_PASSWORD)
    company_user = models.Membership.objects.select_related("user").first().user
    assert company_user.email.endswith("@demo.kz") and company_user.email in printed
    assert company_user.check_password(DEMO_PASSWORD)


def test_reload_keeps_a_changed_password(demo):
    user = models.User.objects.get(email=ANALYST_EMAIL)
    user.set_password("changed-by-the-user-1")
    user.save()
    call_command("load_demo", stdout=StringIO())
    user.refresh_from_db()
    assert user.check_password("changed-by-the-user-1")


def _listings():
    return [*models.SupplyListing.objects.all(), *models.DemandListing.objects.all()]


@pytest.mark.parametrize(
    ("today", "straw"),
    [
        (date(2026, 2, 10), (date(2026, 7, 15), date(2026, 12, 31))),
        (date(2026, 11, 20), (date(2026, 11, 20), date(2026, 12, 31))),
        # Less than 30 days of this year's season left: next year's.
        (date(2026, 12, 7), (date(2027, 7, 15), date(2027, 12, 31))),
    ],
)
def test_windows_lie_around_the_day_the_demo_is_loaded(db, today, straw):
    """No window starts before the load day, and every one opens within a year;
    the year-round flows (most of them) run from that day for a year, so a deal
    made from them today can log a delivery today; seasons keep their calendar
    months (straw after the harvest, 15 July to 31 December)."""
    load_demo(today=today)
    listings = _listings()
    a_year_later = today.replace(year=today.year + 1)
    for listing in listings:
        assert today <= listing.available_from < a_year_later, listing
        assert listing.available_from <= listing.available_until, listing
    open_today = [x for x in listings if x.available_from == today]
    assert len(open_today) > len(listings) * 2 / 3
    spent_grain = models.SupplyListing.objects.get(demo_key="alatau-brewery/spent-grain")
    assert (spent_grain.available_from, spent_grain.available_until) == (
        today,
        a_year_later - timedelta(days=1),
    )
    found = models.SupplyListing.objects.get(demo_key="karasay-grain-farm/straw")
    assert (found.available_from, found.available_until) == straw


def test_a_second_run_the_next_day_moves_the_windows_and_adds_nothing(db):
    day = date(2026, 3, 2)
    load_demo(today=day)
    counts = {model.__name__: model.objects.count() for model in SNAPSHOT_MODELS}
    before = {x.demo_key: (x.available_from, x.available_until) for x in _listings()}
    result = load_demo(today=day + timedelta(days=1))
    assert {model.__name__: model.objects.count() for model in SNAPSHOT_MODELS} == counts
    assert not any(" created" in key and n for key, n in result.counts.items())
    for listing in _listings():
        first, last = before[listing.demo_key]
        if first == day:  # under way: it now starts on the new day
            first += timedelta(days=1)
        if last == day.replace(year=day.year + 1) - timedelta(days=1):  # all year
            last += timedelta(days=1)
        assert (listing.available_from, listing.available_until) == (first, last), listing


def test_the_today_option_places_the_windows(db):
    call_command("load_demo", "--today", "2026-08-03", stdout=StringIO())
    grain = models.SupplyListing.objects.get(demo_key="alatau-brewery/spent-grain")
    assert grain.available_from == date(2026, 8, 3)
    with pytest.raises(CommandError, match="--today"):
        call_command("load_demo", "--today", "3 August", stdout=StringIO())


def test_every_supply_has_a_taker_within_reach(demo):
    """Each supply has a demand within both distance limits (great circle x 1.3 road factor)."""
    road_factor = 1.3
    for supply in models.SupplyListing.objects.select_related("site", "material"):
        served_uses = models.Use.objects.filter(rules__material=supply.material)
        takers = (
            (
                models.DemandListing.objects.filter(materials=supply.material)
                | models.DemandListing.objects.filter(uses__in=served_uses)
            )
            .distinct()
            .select_related("site")
        )
        reachable = []
        for demand in takers:
            road_km = road_factor * haversine_km(
                float(supply.site.latitude),
                float(supply.site.longitude),
                float(demand.site.latitude),
                float(demand.site.longitude),
            )
            limits = [float(x) for x in (supply.max_km, demand.max_km) if x is not None]
            if road_km <= min(limits, default=math.inf):
                reachable.append(demand)
        assert reachable, supply.description


def test_demo_keys_live_in_their_field_not_in_the_descriptions(demo, client):
    """Reloads find demo listings by ``demo_key``; no page or API answer shows a marker."""
    supplies = models.SupplyListing.objects.all()
    demands = models.DemandListing.objects.all()
    for listing in [*supplies, *demands]:
        assert listing.demo_key, listing
        assert "[demo:" not in listing.description, listing.demo_key
    keys = [x.demo_key for x in supplies] + [x.demo_key for x in demands]
    assert len(keys) == len(set(keys))
    grain = supplies.get(demo_key="alatau-brewery/spent-grain")
    assert grain.organization.name and grain.material.slug == "brewery-spent-grain"

    client.force_login(models.User.objects.get(email="baursak-bakery@demo.kz"))
    for url in ("/market/", "/market/?kind=demand", "/", "/api/v1/supplies/", "/api/v1/demands/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "[demo:" not in response.content.decode(), url


def test_the_migration_moves_markers_into_the_field(db, company_a):
    """Rows written before the field existed keep their key and lose the marker."""
    migration = import_module("symbiosis.migrations.0007_demo_key")
    site_a = factories.SiteFactory(organization=company_a)
    spent_grain = factories.MaterialFactory()
    marked = factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=spent_grain,
        description="Daily, in bags. [demo:alatau-brewery/spent-grain]",
    )
    bare = factories.DemandListingFactory(
        organization=company_a, site=site_a, materials=[spent_grain], description=" [demo:x/y]"
    )
    quoted = factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=spent_grain,
        description="We write [demo:tags] in the middle, not at the end.",
    )
    migration.markers_to_demo_key(apps, None)
    for listing in (marked, bare, quoted):
        listing.refresh_from_db()
    assert (marked.demo_key, marked.description) == (
        "alatau-brewery/spent-grain",
        "Daily, in bags.",
    )
    assert (bare.demo_key, bare.description) == ("x/y", "")
    assert (quoted.demo_key, quoted.description) == (
        "",
        "We write [demo:tags] in the middle, not at the end.",
    )
    migration.demo_key_to_markers(apps, None)
    marked.refresh_from_db()
    assert marked.description == "Daily, in bags. [demo:alatau-brewery/spent-grain]"
