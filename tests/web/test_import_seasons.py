"""Issue 19 in the import: a season (a preset or 12 monthly shares) and a storage
capacity per row, as the listing form takes them; a bad value stops the whole file."""

import re
from decimal import Decimal

import pytest

from symbiosis import profiles
from symbiosis.models import DemandListing, SupplyListing
from tests.web.conftest import HTMX
from tests.web.test_import import commit_url, csv_file, preview, xlsx_file

pytestmark = pytest.mark.django_db

HARVEST = [0.0] * 7 + [1.0, 1.0, 1.0] + [0.0, 0.0]


@pytest.fixture
def member(client_as, member_a, site_a, spent_grain, food_waste):
    return client_as(member_a)


def _import(member, upload, kind="supply"):
    text = preview(member, upload, kind=kind).content.decode()
    assert "ready to import" in text, text
    member.post(commit_url(text), **HTMX)


def test_presets_shares_and_storage_are_imported(member):
    text = (
        "material,site,quantity,season,monthly_profile,storage_capacity_tonnes\n"
        "food-waste,Brewhouse,1,,,\n"
        "food-waste,Brewhouse,2,harvest,,40\n"
        "food-waste,Brewhouse,3,Heating,,\n"
        "food-waste,Brewhouse,4,spring_mar_may,,\n"
        "food-waste,Brewhouse,5,all-year,,\n"
        'food-waste,Brewhouse,6,,"0;0;0;0;0;0;0;30;30;30;0;0","12,5"\n'
        "food-waste,Brewhouse,7,,1;2;3;4;5;6;7;8;9;10;11;0.5,\n"
        'food-waste,Brewhouse,8,Custom,"0,5;0;0;0;0;0;0;0;0;0;0;0",\n'
    )
    _import(member, csv_file(text))
    by_quantity = {int(s.quantity): s for s in SupplyListing.objects.all()}
    assert len(by_quantity) == 8
    assert by_quantity[1].monthly_profile is None
    assert by_quantity[5].monthly_profile is None
    assert by_quantity[2].monthly_profile == HARVEST
    assert by_quantity[3].monthly_profile == list(profiles.PRESETS["heating_oct_apr"])
    assert by_quantity[4].monthly_profile == list(profiles.PRESETS["spring_mar_may"])
    assert by_quantity[6].monthly_profile == [0.0] * 7 + [30.0] * 3 + [0.0] * 2
    assert by_quantity[7].monthly_profile == [*map(float, range(1, 12)), 0.5]
    assert by_quantity[8].monthly_profile == [0.5] + [0.0] * 11  # decimal comma
    assert by_quantity[2].storage_capacity_tonnes == Decimal(40)
    assert by_quantity[6].storage_capacity_tonnes == Decimal("12.5")
    assert by_quantity[1].storage_capacity_tonnes is None


def test_a_demand_sheet_takes_them_too(member):
    rows = [
        ["materials", "site", "quantity", "monthly_profile", "storage_capacity_tonnes"],
        ["food-waste", "Brewhouse", 9, "1;1;1;0;0;0;0;0;0;0;0;0", 3],
    ]
    _import(member, xlsx_file(rows), kind="demand")
    demand = DemandListing.objects.get()
    assert demand.monthly_profile == [1.0, 1.0, 1.0] + [0.0] * 9
    assert demand.storage_capacity_tonnes == Decimal(3)


@pytest.mark.parametrize(
    ("cells", "words"),
    [
        ("winter,,", "unknown season “winter”"),
        ("harvest,0;0;0;0;0;0;0;1;1;1;0;0,", "either a season or the monthly shares"),
        (",1;1;1,", "Give 12 numbers"),
        (",1;1;1;1;1;1;1;1;1;1;1;1;1,", "Give 12 numbers"),
        (",1;1;1;1;1;1;x;1;1;1;1;1,", "Each month's share is a number"),
        (",1;1;1;1;1;1;nan;1;1;1;1;1,", "Each month's share is a number"),
        (",1;1;1;1;1;1;-1;1;1;1;1;1,", "cannot be negative"),
        (",0;0;0;0;0;0;0;0;0;0;0;0,", "above zero"),
        ("custom,,", "Give 12 numbers"),
        (",,-3", "storage capacity cannot be negative"),
        (",,lots", "storage_capacity_tonnes"),
    ],
)
def test_a_bad_season_or_storage_is_named_on_its_line_and_nothing_is_imported(member, cells, words):
    text = (
        "material,site,quantity,season,monthly_profile,storage_capacity_tonnes\n"
        "food-waste,Brewhouse,1,harvest,,\n"
        f"food-waste,Brewhouse,2,{cells}\n"
    )
    page = preview(member, csv_file(text)).content.decode()
    assert "1 row has errors: nothing was imported" in page
    line_3 = page.split('id="import-line-3"', 1)[1].split("</tr>", 1)[0]
    assert words in line_3.replace("&#x27;", "'"), line_3
    assert not re.search(r'action="/listings/import/\d+/import/"', page)
    assert not SupplyListing.objects.exists()


def test_the_page_and_templates_name_the_new_columns(member):
    page = member.get("/listings/import/").content.decode()
    for name in ("season", "monthly_profile", "storage_capacity_tonnes"):
        assert f"<code>{name}</code>" in page
    header = member.get("/listings/import/template/demand.csv").content.decode("utf-8-sig")
    assert {"season", "monthly_profile", "storage_capacity_tonnes"} <= set(
        header.splitlines()[0].split(",")
    )
