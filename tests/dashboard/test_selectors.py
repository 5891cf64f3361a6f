"""The dashboard's figures equal an independent computation from the raw rows."""

import math
from collections import defaultdict
from datetime import date

import pytest
from django.utils import translation

from dashboard import selectors
from dashboard.selectors import CityFilters
from dashboard.services import figures_reconcile, rates_refresh
from marketplace.models import Delivery

pytestmark = pytest.mark.django_db

FATE_KG = {"grain": 500.0, "slag": 20.0, "bread": None}  # bread's fate has no factor
CREDIT_KG = {"grain": 100.0, "slag": None, "bread": None}  # no known credit: not counted
TRANSPORT = 0.1
ROAD_FACTOR = 1.3


def haversine_km(lat1, lon1, lat2, lon2):
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def expected_rows(city, keep=lambda d: True):
    """(key dict, tonnes, kg CO2e) per confirmed delivery, from the raw rows: the net
    is the counted terms, a missing factor adding nothing (and marked not counted)."""
    name_of = {deal.pk: name for name, deal in city.deals.items()}
    out = []
    for d in Delivery.objects.filter(status="confirmed").select_related(
        "deal__supply__site", "deal__receiver_site", "deal__supplier", "deal__material"
    ):
        if not keep(d):
            continue
        name = name_of[d.deal_id]
        s, r = d.deal.supply.site, d.deal.receiver_site
        km = haversine_km(
            float(s.latitude), float(s.longitude), float(r.latitude), float(r.longitude)
        )
        tonnes = float(d.tonnes)
        fate, credit = FATE_KG[name], CREDIT_KG[name]
        kg = tonnes * ((fate or 0.0) + (credit or 0.0) - km * ROAD_FACTOR * TRANSPORT)
        out.append(
            {
                "category": d.deal.material.category,
                "material": d.deal.material.name_en,
                "sector": d.deal.supplier.sector,
                "district": s.district,
                "month": d.date.strftime("%Y-%m"),
                "tonnes": tonnes,
                "kg": kg,
                "fate_not_counted": fate is None,
                "credit_not_counted": credit is None,
                "deal": d.deal_id,
                # A confirmed reversal (a correction) takes its delivery back.
                "deliveries": -1 if d.kind == "reversal" else 1,
            }
        )
    return out


def totals_by(rows, key):
    out = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        out[row[key]][0] += row["tonnes"]
        out[row[key]][1] += row["kg"]
    return out


def test_headline_equals_independent_computation(city):
    rates_refresh()
    rows = expected_rows(city)
    figures = selectors.headline(CityFilters())
    assert figures["tonnes"] == pytest.approx(sum(r["tonnes"] for r in rows))
    assert figures["tonnes"] == pytest.approx(12.5 + 7.25 + 30 + 40 + 60.125 + 5)
    assert figures["kg_co2e"] == pytest.approx(sum(r["kg"] for r in rows), rel=1e-9)
    # Every factor of the fixture is published but the slag's landfill one (an estimate
    # flagged before tiers, so a proxy without a range).
    slag_kg = sum(r["kg"] for r in rows if r["material"] == "Steel slag")
    slag_fate = 20.0 * (40 + 60.125)
    assert figures["kg_co2e_proxy"] == pytest.approx(slag_fate)
    assert figures["kg_co2e_published"] == pytest.approx(figures["kg_co2e"] - slag_fate)
    assert figures["kg_co2e_low"] == figures["kg_co2e_high"] == pytest.approx(figures["kg_co2e"])
    assert slag_kg < slag_fate  # the trucking of the slag is published, and counted
    # Bread's fate has no factor, slag's and bread's uses no credit: not counted.
    assert figures["tonnes_co2e_not_counted"] == pytest.approx(5.0)
    assert figures["tonnes_credit_not_counted"] == pytest.approx(40 + 60.125 + 5.0)
    assert figures["tonnes_kept_out_of_landfill"] == pytest.approx(12.5 + 7.25 + 30 + 40 + 60.125)
    assert figures["tonnes_put_to_use"] == pytest.approx(5.0)  # bread's fate is "other"
    assert figures["kept_declared"] == pytest.approx(figures["tonnes_kept_out_of_landfill"])
    assert figures["exchanges"] == 3
    assert figures["deliveries"] == 6
    # brewery, builder, bakery and the farm; not the idle company.
    assert figures["companies"] == 4
    assert figures["active_deals"] == 4
    # Like with like: spent grain (a food-processing residue) kept out of landfill
    # against the organic waste landfilled; no flow goes to material recycling.
    organic = 12.5 + 7.25 + 30
    assert figures["organic_tonnes_kept_out_of_landfill"] == pytest.approx(organic)
    assert figures["share_of_organic_landfilled"] == pytest.approx(organic / 600_000)
    assert figures["recycled_tonnes"] == 0.0
    assert figures["share_of_recycled"] == 0.0
    assert "share_of_solid_waste" not in figures


@pytest.mark.parametrize(
    ("table", "key", "label_key"),
    [
        ("category", "category", "category"),
        ("material", "material", "material"),
        ("sector", "sector", "sector"),
        ("district", "district", "district"),
        ("month", "month", "month"),
    ],
)
def test_breakdowns_equal_independent_computation(city, table, key, label_key):
    rates_refresh()
    expected = totals_by(expected_rows(city), key)
    rows = selectors.TABLES[table](CityFilters())
    got = {row[label_key]: (row["tonnes"], row["kg_co2e"]) for row in rows}
    assert set(got) == set(expected)
    for k, (tonnes, kg) in expected.items():
        assert got[k][0] == pytest.approx(tonnes)
        assert got[k][1] == pytest.approx(kg, rel=1e-9)


def test_month_series_is_in_order(city):
    rates_refresh()
    months = [row["month"] for row in selectors.by_month(CityFilters())]
    assert months == ["2026-01", "2026-02", "2026-03"]


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (CityFilters(district="almaly"), lambda d: d.deal.supply.site.district == "almaly"),
        (CityFilters(category="minerals"), lambda d: d.deal.material.category == "minerals"),
        (
            # Whole months: 15 January selects January.
            CityFilters(date_from=date(2026, 1, 15), date_to=date(2026, 2, 1)),
            lambda d: date(2026, 1, 1) <= d.date <= date(2026, 2, 28),
        ),
    ],
)
def test_filters(city, filters, keep):
    rates_refresh()
    rows = expected_rows(city, keep)
    figures = selectors.headline(filters)
    assert figures["tonnes"] == pytest.approx(sum(r["tonnes"] for r in rows))
    assert figures["kg_co2e"] == pytest.approx(sum(r["kg"] for r in rows), rel=1e-9)
    assert figures["exchanges"] == len({r["deal"] for r in rows})


def test_filters_from_query_ignore_bad_values():
    filters = CityFilters.from_query(
        {"from": "2026-13", "to": "2026-02-17", "district": "nowhere", "category": "metals"}
    )
    assert filters == CityFilters(date_to=date(2026, 2, 1), category="metals")
    assert filters.as_query() == {"to": "2026-02", "category": "metals"}


def test_flows_and_exchanges(city):
    rates_refresh()
    flows = selectors.flows(CityFilters())
    grain = next(f for f in flows if f["material"] == "Spent grain")
    assert grain["use"] == "Animal feed"
    assert grain["tonnes"] == pytest.approx(49.75)
    assert {f["use"] for f in flows} == {"Animal feed", "Use not recorded"}
    lines = selectors.exchanges(CityFilters())
    assert len(lines) == 3
    # Ends at cell centres (tests/dashboard/test_exchange_precision.py)
    assert all(
        round(line["from_lat"] / 0.025) * 0.025 == pytest.approx(line["from_lat"]) for line in lines
    )


def test_flows_say_which_tonnes_have_no_counted_co2e(city):
    """Per (sector, material): counted kg CO2e and the tonnes whose CO2e is not
    counted, against the raw rows; bread's fate has no factor, so all its tonnes."""
    rates_refresh()
    expected = defaultdict(lambda: {"tonnes": 0.0, "kg": 0.0, "not_counted": 0.0})
    for row in expected_rows(city):
        entry = expected[(row["sector"], row["material"])]
        entry["tonnes"] += row["tonnes"]
        entry["kg"] += row["kg"]
        entry["not_counted"] += row["tonnes"] if row["fate_not_counted"] else 0.0
    sector_of = {str(label): value for value, label in selectors.SECTOR_LABELS.items()}
    flows = selectors.flows(CityFilters())
    assert len(flows) == len(expected)
    for flow in flows:
        entry = expected[(sector_of[flow["sector"]], flow["material"])]
        assert flow["tonnes"] == pytest.approx(entry["tonnes"])
        assert flow["kg_co2e"] == pytest.approx(entry["kg"], rel=1e-9)
        assert flow["tonnes_co2e_not_counted"] == pytest.approx(entry["not_counted"])
    bread = next(f for f in flows if f["material"] == "Old bread")
    assert bread["tonnes"] == pytest.approx(5.0)
    assert bread["tonnes_co2e_not_counted"] == pytest.approx(5.0)
    # Only its trucking is counted: a small loss the page shows beside "not counted".
    assert bread["kg_co2e"] < 0


def test_use_not_recorded_is_translated(city):
    rates_refresh()
    with translation.override("ru"):
        uses = {f["use"] for f in selectors.flows(CityFilters())}
    assert "Использование не указано" in uses
    assert "Use not recorded" not in uses


def test_a_changed_deal_gets_a_fresh_rate_on_save_and_a_silent_edit_at_reconcile(city):
    rates_refresh()
    before = selectors.headline(CityFilters())["kg_co2e"]
    # An edited factor row sends no signal a deal follows: the reconcile catches it.
    city.factor_set.factors.filter(material=city.materials["slag"]).update(kg_co2e_per_t=40)
    assert selectors.headline(CityFilters())["kg_co2e"] == pytest.approx(before)
    assert figures_reconcile()["rates"] == 3  # the three deals with confirmed deliveries
    after = selectors.headline(CityFilters())["kg_co2e"]
    assert after == pytest.approx(before + 20 * (40 + 60.125))
    # Saving a deal (its terms, an amendment) refreshes its rate at once: no read writes.
    city.factor_set.factors.filter(material=city.materials["slag"]).update(kg_co2e_per_t=60)
    city.deals["slag"].save()
    assert rates_refresh() == 0
    assert selectors.headline(CityFilters())["kg_co2e"] == pytest.approx(
        before + 40 * (40 + 60.125)
    )


def test_a_reviewed_fate_changes_the_city_figures_at_once(city):
    """A facilitator's fate review changes a supply: the deals' rates follow at once,
    so the deal page and the city agree without a read that writes."""
    rates_refresh()
    before = selectors.headline(CityFilters())
    grain = city.deals["grain"].supply
    grain.fate = "already_used"
    grain.save()
    after = selectors.headline(CityFilters())
    grain_tonnes = 12.5 + 7.25 + 30
    assert after["tonnes_kept_out_of_landfill"] == pytest.approx(
        before["tonnes_kept_out_of_landfill"] - grain_tonnes
    )
    assert after["tonnes_reuse_continued"] == pytest.approx(grain_tonnes)
    assert rates_refresh() == 0


def test_a_new_confirmation_rebuilds_the_roll_up(city):
    from dashboard.services import months_refresh
    from tests.dashboard.conftest import deliver

    rates_refresh()
    assert months_refresh() is False
    logged = Delivery.objects.get(status="logged")
    Delivery.objects.filter(pk=logged.pk).update(status="confirmed", confirmed_at=logged.logged_at)
    deliver(city.deals["bread"], date(2026, 4, 2), "1.000", status="logged")
    assert months_refresh() is True
    assert selectors.headline(CityFilters())["tonnes"] == pytest.approx(154.875 + 999)


def test_largest_exchanges_are_the_top_of_all_exchanges(city):
    rates_refresh()
    every = selectors.exchanges(CityFilters())
    top, total = selectors.largest_exchanges(CityFilters(), 2)
    assert total == len(every) == 3
    assert [line["tonnes"] for line in top] == sorted(
        (line["tonnes"] for line in every), reverse=True
    )[:2]
    assert top == every[:2]
    assert selectors.largest_exchanges(CityFilters(), 10) == (every, 3)
    # The total counts every exchange of the filter, not the lines returned.
    one, total_of_one = selectors.largest_exchanges(CityFilters(), 1)
    assert (one, total_of_one) == (every[:1], 3)
    nothing = CityFilters(date_from=date(2999, 1, 1))
    assert selectors.largest_exchanges(nothing, 5) == ([], 0)


def _names_ru(city, **names_ru):
    """Give the fixture's materials these Russian names (slug -> name_ru; "" for none)
    and return name_en -> the name the Russian page must show, by Material.name's rule
    written out: name_ru when there is one, else name_en."""
    for slug, name_ru in names_ru.items():
        city.materials[slug].name_ru = name_ru
        city.materials[slug].save(update_fields=["name_ru"])
    return {m.name_en: m.name_ru or m.name_en for m in city.materials.values()}


LOCALIZED_SELECTORS = [
    selectors.by_material,
    selectors.flows,
    selectors.exchanges,
    lambda filters, **kw: selectors.largest_exchanges(filters, 10, **kw)[0],
]


def _without_material(rows):
    return [{k: v for k, v in row.items() if k != "material"} for row in rows]


@pytest.mark.parametrize("table", LOCALIZED_SELECTORS)
def test_localized_material_names_follow_the_language(city, table):
    """With ``localized`` the material is named in the active language (Russian if
    it has a Russian name, else English); without it (the exports), or in English,
    name_en. Every other value of every row stays the same."""
    shown_ru = _names_ru(city, grain="Пивная дробина", bread="")
    assert shown_ru["Old bread"] == "Old bread" and shown_ru["Spent grain"] == "Пивная дробина"
    rates_refresh()
    with translation.override("en"):
        english = table(CityFilters())
        assert table(CityFilters(), localized=True) == english
    assert {row["material"] for row in english} == set(shown_ru)
    with translation.override("ru"):
        exported = table(CityFilters())
        russian = table(CityFilters(), localized=True)
    assert [row["material"] for row in exported] == [row["material"] for row in english]
    assert russian == [{**row, "material": shown_ru[row["material"]]} for row in exported]
    assert {row["material"] for row in russian} == set(shown_ru.values())


@pytest.mark.parametrize("table", LOCALIZED_SELECTORS)
def test_kazakh_names_fall_back_to_russian_then_english(city, table):
    """In Kazakh: name_kk, else name_ru, else name_en (Material.name's rule)."""
    _names_ru(city, grain="Пивная дробина", bread="")
    Material = type(city.materials["grain"])
    Material.objects.filter(pk=city.materials["grain"].pk).update(name_kk="Сыра сығындысы")
    rates_refresh()
    with translation.override("kk"):
        exported = table(CityFilters())
        kazakh = table(CityFilters(), localized=True)
    shown = {m.name_en: m.name_in("kk") for m in Material.objects.all()}
    assert shown["Spent grain"] == "Сыра сығындысы" and shown["Old bread"] == "Old bread"
    assert kazakh == [{**row, "material": shown[row["material"]]} for row in exported]


@pytest.mark.parametrize("table", LOCALIZED_SELECTORS)
@pytest.mark.parametrize("bread_ru", ["", "Хлеб"])
def test_localized_tables_group_as_the_english_ones(city, table, bread_ru):
    """Materials are unique by slug, not by name: two with one English name and
    different Russian names (or one without) stay one group, as in the export."""
    Material = type(city.materials["grain"])
    Material.objects.filter(pk=city.materials["bread"].pk).update(
        name_en="Spent grain", name_ru=bread_ru
    )
    Material.objects.filter(pk=city.materials["grain"].pk).update(name_ru="Пивная дробина")
    slag = city.materials["slag"]
    rates_refresh()
    with translation.override("ru"):
        english = table(CityFilters())
        russian = table(CityFilters(), localized=True)
    assert _without_material(russian) == _without_material(english)
    for en_row, ru_row in zip(english, russian, strict=True):
        if en_row["material"] == slag.name_en:
            assert ru_row["material"] == slag.name_ru
        else:
            # bread alone (its own sector and site in flows and exchanges) keeps
            # the English name when it has no Russian one
            assert en_row["material"] == "Spent grain"
            assert ru_row["material"] in {"Пивная дробина", bread_ru or "Spent grain"}
    if table is selectors.by_material:
        # grain and bread, both biomass, are one row under their shared English name
        assert len(russian) == 2
        merged = next(row for row in russian if row["material"] != slag.name_ru)
        assert merged["tonnes"] == pytest.approx(49.75 + 5.0)


def test_a_moved_site_changes_the_trucking_at_once(city):
    rates_refresh()
    before = selectors.headline(CityFilters())["kg_co2e"]
    site = city.deals["grain"].receiver_site
    site.latitude = float(site.latitude) + 0.5  # about 55 km further north
    site.save()
    assert selectors.headline(CityFilters())["kg_co2e"] < before
    assert rates_refresh() == 0
