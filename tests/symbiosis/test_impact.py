"""impact.py against figures computed by hand."""

import numpy as np
import pytest

from symbiosis import impact


def test_spent_grain_to_feed_by_hand():
    # 100 t over 25 km; landfill 552.8 kg/t, credit 350 kg/t, 0.1 kg/tkm:
    # fate 55,280; virgin 35,000; transport 100*25*0.1 = 250; net 90,030.
    b = impact.exchange_impact(
        tonnes=100,
        road_km=25,
        fate="landfill",
        fate_kg_co2e_per_t=552.8,
        credit_kg_co2e_per_t=350,
        transport_kg_co2e_per_tkm=0.1,
    )
    assert b.tonnes_diverted_from_landfill == 100
    assert b.fate_kg_co2e_avoided == pytest.approx(55_280)
    assert b.virgin_kg_co2e_avoided == pytest.approx(35_000)
    assert b.transport_kg_co2e_added == pytest.approx(250)
    assert b.net_kg_co2e_saved == pytest.approx(90_030)


def test_incinerated_residue_is_not_diverted_from_landfill():
    b = impact.exchange_impact(
        tonnes=10,
        road_km=0,
        fate="incineration",
        fate_kg_co2e_per_t=0,
        credit_kg_co2e_per_t=0,
    )
    assert b.tonnes_diverted_from_landfill == 0
    assert b.net_kg_co2e_saved == 0


def test_wood_landfill_credit_makes_diversion_cost_carbon():
    # WARM credits landfilled wood with storage (-1017.9 kg/t): moving 1 t 10 km
    # with no virgin credit loses 1017.9 + 10*0.10163.
    b = impact.exchange_impact(
        tonnes=1,
        road_km=10,
        fate="landfill",
        fate_kg_co2e_per_t=-1017.9,
        credit_kg_co2e_per_t=0,
    )
    assert b.net_kg_co2e_saved == pytest.approx(-1017.9 - 1.0163)


def test_default_transport_factor_is_defra_2025_hgv_average():
    assert impact.DEFAULT_TRANSPORT_KG_CO2E_PER_TKM == pytest.approx(0.10163)


def test_per_tonne_saving_is_elementwise_on_arrays():
    km = np.array([0.0, 10.0, 100.0])
    got = impact.net_kg_co2e_saved_per_t(
        road_km=km,
        fate_kg_co2e_per_t=np.array([500.0, 500.0, 0.0]),
        credit_kg_co2e_per_t=np.array([0.0, 100.0, 20.0]),
        transport_kg_co2e_per_tkm=0.2,
    )
    np.testing.assert_allclose(got, [500.0, 598.0, 0.0])


def test_breakdown_totals_match_per_tonne_helper():
    b = impact.exchange_impact(
        tonnes=37.5,
        road_km=61.2,
        fate="open_dump",
        fate_kg_co2e_per_t=221.1,
        credit_kg_co2e_per_t=486.2,
        transport_kg_co2e_per_tkm=0.07800,
    )
    per_t = 221.1 + 486.2 - 0.078 * 61.2
    assert b.net_kg_co2e_saved == pytest.approx(37.5 * per_t)
    assert b.tonnes_diverted_from_landfill == 37.5


@pytest.mark.parametrize("kwargs", [{"tonnes": -1, "road_km": 1}, {"tonnes": 1, "road_km": -1}])
def test_negative_inputs_are_refused(kwargs):
    with pytest.raises(ValueError):
        impact.exchange_impact(
            fate="landfill", fate_kg_co2e_per_t=1, credit_kg_co2e_per_t=1, **kwargs
        )


# --- score_flow, by hand -----------------------------------------------------------


def _f(value, tier=impact.PUBLISHED, low=None, high=None):
    return impact.Factor(value, tier, low, high, ref=f"test:{value}")


def test_a_flow_splits_its_net_by_tier_and_sums_the_ranges_by_hand():
    # 10 t, 50 road km: fate 500 kg/t (a proxy, 200-700), credit 100 kg/t (published),
    # trucking 0.1 kg per t·km.
    score = impact.score_flow(
        tonnes=10,
        road_km=50,
        fate="landfill",
        fate_factor=_f(500, impact.PROXY, 200, 700),
        credit=_f(100),
        transport_kg_co2e_per_tkm=0.1,
    )
    assert score.category == impact.KEPT_OUT_OF_LANDFILL
    assert score.tonnes_kept_out_of_landfill == 10
    assert score.net_kg_co2e_saved == pytest.approx(5000 + 1000 - 50)
    assert score.net_proxy_kg_co2e == pytest.approx(5000)
    assert score.net_published_kg_co2e == pytest.approx(1000 - 50)
    assert score.net_low_kg_co2e == pytest.approx(2000 + 1000 - 50)
    assert score.net_high_kg_co2e == pytest.approx(7000 + 1000 - 50)
    assert score.not_counted == ()


@pytest.mark.parametrize(
    ("kwargs", "category"),
    [
        ({"fate": "landfill"}, impact.KEPT_OUT_OF_LANDFILL),
        ({"fate": "open_dump"}, impact.KEPT_OUT_OF_LANDFILL),
        ({"fate": "landfill", "landfill_banned": True}, impact.BROUGHT_INTO_COMPLIANCE),
        ({"fate": "landfill", "receiver_is_landfill_operator": True}, impact.USED_AT_LANDFILL),
        ({"fate": "already_used"}, impact.REUSE_CONTINUED),
        ({"fate": "stored_on_farm"}, impact.PUT_TO_USE),
        ({"fate": "incineration"}, impact.PUT_TO_USE),
        ({"fate": "landfill", "from_plant_output": True}, impact.PLANT_OUTPUT),
    ],
)
def test_the_tonnes_fall_in_one_category_and_a_plants_output_adds_none(kwargs, category):
    score = impact.score_flow(tonnes=4, road_km=0, fate_factor=None, credit=None, **kwargs)
    assert score.category == category
    assert score.tonnes_counted == (0 if category == impact.PLANT_OUTPUT else 4)
    assert score.tonnes_kept_out_of_landfill == (
        4 if category == impact.KEPT_OUT_OF_LANDFILL else 0
    )


def test_a_missing_factor_is_not_counted_never_a_silent_zero_or_credit():
    score = impact.score_flow(
        tonnes=2,
        road_km=10,
        fate="other",
        fate_factor=None,
        credit=None,
        transport_kg_co2e_per_tkm=0.1,
    )
    assert score.not_counted == (impact.FATE, impact.VIRGIN)
    assert score.fate_kg_co2e_avoided is None and score.virgin_kg_co2e_avoided is None
    assert score.net_kg_co2e_saved == pytest.approx(-2.0)  # only the trucking is counted


def test_into_a_plant_the_output_fate_without_a_factor_is_not_counted():
    # 10 t into compost, 40 % output whose fate has no factor; treatment -167.7 kg/t.
    score = impact.score_flow(
        tonnes=10,
        road_km=0,
        fate="landfill",
        fate_factor=_f(552.8),
        credit=None,
        into_plant=True,
        treatment=_f(-167.7),
        output_yield=0.4,
        output_fate_factor=None,
    )
    assert score.not_counted == (impact.OUTPUT_FATE,)
    assert score.net_kg_co2e_saved == pytest.approx(5528 + 1677)
    with_factor = impact.score_flow(
        tonnes=10,
        road_km=0,
        fate="landfill",
        fate_factor=_f(552.8),
        credit=None,
        into_plant=True,
        treatment=_f(-167.7),
        output_yield=0.4,
        output_fate_factor=_f(20),
    )
    assert with_factor.not_counted == ()
    assert with_factor.net_kg_co2e_saved == pytest.approx(5528 + 1677 - 4 * 20)
    # A plant without an output has no such term at all.
    no_output = impact.score_flow(
        tonnes=10,
        road_km=0,
        fate="landfill",
        fate_factor=_f(552.8),
        credit=None,
        into_plant=True,
        treatment=_f(-167.7),
    )
    assert impact.OUTPUT_FATE not in [t.name for t in no_output.terms]


def test_a_chain_flow_is_a_plant_output_into_a_plant():
    """20 t of compost (its fate 15 kg/t) into a substrate plant: credit 40, treatment
    10, 0.5 t of output per t (fate 6 kg/t), 12 km at 0.1 kg/t km. By hand:
    20 x (15 + 40 - 0.1 x 12 - 10 - 0.5 x 6) = 20 x 40.8 = 816; its tonnes were
    counted going into the first plant: none kept out of landfill, none counted."""
    score = impact.score_flow(
        tonnes=20,
        road_km=12,
        fate="landfill",
        fate_factor=_f(15),
        credit=_f(40),
        transport_kg_co2e_per_tkm=0.1,
        from_plant_output=True,
        into_plant=True,
        treatment=_f(10),
        output_yield=0.5,
        output_fate_factor=_f(6),
    )
    assert score.category == impact.PLANT_OUTPUT
    assert score.tonnes_counted == 0 and score.tonnes_kept_out_of_landfill == 0
    assert score.fate_kg_co2e_avoided == pytest.approx(300)
    assert score.virgin_kg_co2e_avoided == pytest.approx(800)
    assert score.treatment_kg_co2e_added == pytest.approx(200)
    assert score.output_fate_kg_co2e_added == pytest.approx(60)
    assert score.transport_kg_co2e_added == pytest.approx(24)
    assert score.net_kg_co2e_saved == pytest.approx(816)
    # The per-tonne arithmetic the optimizer's chain arcs use gives the same.
    per_t = impact.processing_net_kg_co2e_saved_per_t(
        road_km=12,
        fate_kg_co2e_per_t=15,
        treatment_kg_co2e_per_t=10,
        transport_kg_co2e_per_tkm=0.1,
        credit_kg_co2e_per_t=40,
        output_yield=0.5,
        output_fate_kg_co2e_per_t=6,
    )
    assert 20 * per_t == pytest.approx(816)
