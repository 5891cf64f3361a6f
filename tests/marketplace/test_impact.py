"""A deal's figures against an independent computation from its deliveries.

By hand: the market's sites are (43.25, 76.90) and (43.30, 76.95); the
haversine distance between them times the road factor 1.3 is the road km.
Landfill 500 kg CO2e/t, animal-feed credit 100 kg CO2e/t, transport
0.1 kg CO2e per tonne-km.
"""

import math
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from marketplace import selectors, services
from marketplace.models import Deal
from symbiosis.models import EmissionFactor
from tests.marketplace.conftest import SITE_A, SITE_B

pytestmark = pytest.mark.django_db


def haversine_km(a, b, radius_km=6371.0088):
    lat1, lon1, lat2, lon2 = map(math.radians, (*map(float, a), *map(float, b)))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * radius_km * math.asin(math.sqrt(h))


ROAD_KM = haversine_km(SITE_A, SITE_B) * 1.3


def net_by_hand(tonnes, fate=500.0, credit=100.0, tkm=0.1):
    return tonnes * fate + tonnes * credit - tonnes * ROAD_KM * tkm


@pytest.fixture
def delivered(make_deal, actors):
    """30 t/month through 2026 (360 t agreed); deliveries in every status, 27.5 t in
    April: within the month's agreed tonnes, so none is held for review."""
    deal = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("30"))
    loads = [
        ("T1", "12.5", "confirm"),
        ("T2", "7.5", "confirm"),
        ("T3", "5", None),
        ("T4", "3", "dispute"),
    ]
    for ticket, tonnes, verdict in loads:
        delivery = services.delivery_log(
            user=actors["supplier"],
            deal=deal,
            date=date(2026, 4, 1),
            tonnes=Decimal(tonnes),
            ticket_number=ticket,
        )
        if verdict == "confirm":
            services.delivery_confirm(user=actors["receiver"], delivery=delivery)
        elif verdict == "dispute":
            services.delivery_dispute(user=actors["receiver"], delivery=delivery, reason="wet")
    return deal


def test_road_km_is_the_great_circle_times_the_road_factor(market):
    assert ROAD_KM == pytest.approx(8.94, abs=0.01)  # a sanity check of the hand figure
    got = selectors.road_km_between(market.site_a, market.site_b)
    assert got == pytest.approx(ROAD_KM, rel=1e-9)


def test_figures_equal_a_computation_from_the_deliveries(delivered):
    confirmed = [d for d in delivered.deliveries.all() if d.status == "confirmed"]
    tonnes_confirmed = float(sum(d.tonnes for d in confirmed))
    assert tonnes_confirmed == 20.0

    impact = selectors.deal_impact(deal=delivered)

    assert impact.tonnes_delivered == Decimal("20")
    assert impact.tonnes_awaiting_confirmation == Decimal("5")
    assert impact.tonnes_disputed == Decimal("3")
    assert impact.road_km == pytest.approx(ROAD_KM, rel=1e-9)
    so_far = impact.so_far
    assert so_far.tonnes == 20.0
    assert so_far.tonnes_diverted_from_landfill == 20.0
    assert so_far.fate_kg_co2e_avoided == pytest.approx(20 * 500)
    assert so_far.virgin_kg_co2e_avoided == pytest.approx(20 * 100)
    assert so_far.transport_kg_co2e_added == pytest.approx(20 * ROAD_KM * 0.1)
    assert so_far.net_kg_co2e_saved == pytest.approx(net_by_hand(20))
    assert so_far.net_kg_co2e_saved == pytest.approx(11_982.12, abs=0.01)
    expected = impact.expected
    assert impact.tonnes_expected == Decimal("360")
    assert expected.net_kg_co2e_saved == pytest.approx(net_by_hand(360))
    assert impact.not_counted == []
    assert (impact.credit_use, impact.factor_set_version) == ("Animal feed", "test-1")


def test_a_missing_fate_factor_is_not_counted_never_zero(delivered, market):
    """The term is not counted and the net is the counted terms, as the optimizer
    scores it (its objective gets 0 for that term): never a silent zero."""
    EmissionFactor.objects.filter(material=market.grain).delete()

    impact = selectors.deal_impact(deal=delivered)

    assert impact.so_far.fate_kg_co2e_avoided is None
    assert impact.so_far.not_counted == ("fate",)
    assert impact.so_far.net_kg_co2e_saved == pytest.approx(net_by_hand(20, fate=0.0))
    assert impact.expected.net_kg_co2e_saved == pytest.approx(net_by_hand(360, fate=0.0))
    assert impact.so_far.virgin_kg_co2e_avoided == pytest.approx(2000)
    assert any("no factor" in reason for reason in impact.not_counted)


def test_a_missing_credit_leaves_the_saving_out_and_says_so(delivered, market):
    market.demand.uses.clear()

    impact = selectors.deal_impact(deal=delivered)

    assert impact.so_far.virgin_kg_co2e_avoided is None
    assert impact.net_excludes_credit
    assert impact.so_far.net_kg_co2e_saved == pytest.approx(net_by_hand(20, credit=0.0))
    assert any("Virgin production" in reason for reason in impact.not_counted)


def test_without_a_factor_set_nothing_is_counted(delivered):
    Deal.objects.filter(pk=delivered.pk).update(factor_set=None)
    delivered.refresh_from_db()

    impact = selectors.deal_impact(deal=delivered)

    assert impact.so_far is None and impact.expected is None
    assert impact.tonnes_delivered == Decimal("20")
    assert impact.not_counted


def test_the_best_known_credit_among_the_demand_uses_counts(delivered, market):
    from tests import factories

    compost = factories.UseFactory(slug="compost-feedstock", name_en="Compost")
    factories.CompatibilityRuleFactory(
        material=market.grain, use=compost, credit_kg_co2e_per_t=Decimal("40")
    )
    market.demand.uses.add(compost)

    impact = selectors.deal_impact(deal=delivered)

    assert impact.credit_kg_co2e_per_t == Decimal("100")
    assert impact.credit_use == "Animal feed"


def test_what_is_not_counted_is_said_in_russian_on_the_russian_page(delivered, market):
    EmissionFactor.objects.filter(material=market.grain).delete()
    market.demand.uses.clear()

    with translation.override("ru"):
        reasons = selectors.deal_impact(deal=delivered).not_counted
        grain = market.grain.name
    assert len(reasons) == 2
    assert reasons[0].startswith("Выбросы текущего обращения (")
    assert f"для материала «{grain}»: в наборе test-1 нет коэффициента" in reasons[0]
    assert reasons[1] == (
        f"Предотвращённое первичное производство: зачёт за использование материала «{grain}» "
        "получателем неизвестен; чистое сокращение его не включает."
    )
    assert not any("Emissions" in r or "Virgin" in r or "net saving" in r for r in reasons)

    Deal.objects.filter(pk=delivered.pk).update(factor_set=None)
    delivered.refresh_from_db()
    with translation.override("ru"):
        reasons = selectors.deal_impact(deal=delivered).not_counted
    assert reasons == ["Нет набора коэффициентов выбросов: CO2-экв. по этой сделке не учитывается."]
