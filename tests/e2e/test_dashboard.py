"""The demo city analyst opens the city dashboard after a few confirmed deliveries."""

import json
import re
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from marketplace import selectors as market_selectors
from marketplace import services
from marketplace.models import Delivery
from symbiosis.demo import ANALYST_EMAIL, DEMO_PASSWORD, FACILITATOR_EMAIL
from symbiosis.models import DemandListing, Membership, Organization, SupplyListing, User
from tests.demo_snapshot import load_demo
from tests.e2e.conftest import SCREENSHOTS, login, screenshot

pytestmark = pytest.mark.e2e


def _member(organization):
    return Membership.objects.filter(organization=organization).first().user


def _pairs(count: int):
    """Public demo supplies with a public demand of another company that accepts them."""
    found = []
    # The demo's availability windows start next year: open them so loads can
    # have arrived already.
    SupplyListing.objects.update(available_from=None, available_until=None)
    available = SupplyListing.objects.filter(visibility="public", status="active")
    for supply in available.order_by("pk"):
        demand = (
            DemandListing.objects.filter(
                visibility="public", status="active", materials=supply.material
            )
            .exclude(organization=supply.organization)
            .order_by("pk")
            .first()
        )
        if demand is not None and supply.material_id not in {s.material_id for s, _ in found}:
            found.append((supply, demand))
        if len(found) == count:
            break
    return found


def _confirmed_deal(supply, demand, loads):
    facilitator = User.objects.get(email=FACILITATOR_EMAIL)
    supplier, receiver = _member(supply.organization), _member(demand.organization)
    today = timezone.localdate()
    deal = services.deal_create(
        user=facilitator,
        supply=supply,
        demand=demand,
        # The listing's whole rate: the loads below are plausible for it, not held
        # for a facilitator's review (marketplace.plausibility).
        tonnes_per_period=supply.tonnes.quantize(Decimal("0.0001"), rounding=ROUND_DOWN),
        period=supply.recurrence,
        start_date=today - timedelta(days=60),
        end_date=today + timedelta(days=30),
    )
    # A facilitator's draft: a company sends it (accepting it), the other accepts.
    deal = services.deal_offer(user=supplier, deal=deal)
    deal = services.deal_accept(user=receiver, deal=deal, terms_version=deal.terms_version)
    # Deliveries from the agreed start: the loads below are dated in the past.
    deal = services.deal_activate(user=supplier, deal=deal, start_date=deal.start_date)
    for i, tonnes in enumerate(loads):
        delivery = services.delivery_log(
            user=supplier,
            deal=deal,
            date=today - timedelta(days=40 - 15 * i),
            tonnes=Decimal(tonnes),
            ticket_number=f"E2E-{deal.pk}-{i}",
        )
        services.delivery_confirm(user=receiver, delivery=delivery)
    # One more load, logged but never confirmed: it must not count.
    services.delivery_log(
        user=supplier, deal=deal, date=today, tonnes=Decimal("500"), ticket_number="E2E-open"
    )
    return deal


def _confirmed_flows() -> set[tuple[str, str, str]]:
    """(supplier sector, material, use) of every confirmed delivery, read from the
    raw rows; the use as the deal page names it (marketplace.selectors)."""
    sectors = dict(Organization.Sector.choices)
    confirmed = Delivery.objects.filter(status=Delivery.Status.CONFIRMED).select_related(
        "deal__supplier", "deal__material"
    )
    return {
        (
            str(sectors[d.deal.supplier.sector]),
            d.deal.material.name_en,
            market_selectors.deal_impact(deal=d.deal).credit_use,
        )
        for d in confirmed
    }


def _tonnes_by_tooltip() -> dict[str, list[float]]:
    """Tooltip name (a node's, or a link's "source → target") -> [confirmed tonnes,
    tonnes whose CO2e is not counted], from the raw rows and the deal page's own
    figure (marketplace.selectors: where the fate has no factor, that term is not
    counted and the net is the counted terms)."""
    sectors = dict(Organization.Sector.choices)
    out: dict[str, list[float]] = {}
    confirmed = Delivery.objects.filter(status=Delivery.Status.CONFIRMED).select_related(
        "deal__supplier", "deal__material"
    )
    for d in confirmed:
        impact = market_selectors.deal_impact(deal=d.deal)
        sector = str(sectors[d.deal.supplier.sector])
        material = d.deal.material.name_en
        use = impact.credit_use or "Use not recorded"  # the English page's label
        not_counted = float(d.tonnes) if "fate" in impact.so_far.not_counted else 0.0
        for name in (sector, material, use, f"{sector} → {material}", f"{material} → {use}"):
            entry = out.setdefault(name, [0.0, 0.0])
            entry[0] += float(d.tonnes)
            entry[1] += not_counted
    return out


def _check_tooltip(title: str, expected: dict[str, list[float]]) -> None:
    """ "name: 12.0 t, 3.0 t CO2e", with "; current fate's CO2e not counted for 5.0 t"
    for the tonnes whose current fate has no factor: the CO2e shown is the counted
    terms (trucking, a credit), never a silent zero for the missing one."""
    name, _, figures = title.rpartition(": ")
    tonnes, not_counted = expected[name]
    counted = rf"{re.escape(f'{tonnes:,.1f}')} t, -?[\d.,]+ t CO2e"
    note = re.escape(f"current fate's CO2e not counted for {not_counted:,.1f} t")
    if not not_counted:
        assert re.fullmatch(counted, figures), title
    else:
        assert re.fullmatch(f"{counted}; {note}", figures), title


def _check_sankey(page) -> list[str]:
    """The Sankey is drawn by city_sankey.js: one link per (sector, material) and
    per (material, use) pair of confirmed deliveries, weighted by their tonnes."""
    flows = _confirmed_flows()
    confirmed = Delivery.objects.filter(status=Delivery.Status.CONFIRMED)
    confirmed_tonnes = float(sum(d.tonnes for d in confirmed))
    sankey = page.locator("#sankey-chart svg#sankey")
    links = len({(s, m) for s, m, _ in flows}) + len({(m, u) for _, m, u in flows})
    expect(sankey.locator("path.sankey-link")).to_have_count(links)
    # Each node's tooltip starts with its full name; its label is the name or,
    # when the column is too narrow, the name cut short with an ellipsis.
    nodes = sankey.locator("g.sankey-node-group").evaluate_all(
        "groups => groups.map(g => [g.querySelector('title').textContent,"
        " g.querySelector('text.sankey-label').textContent])"
    )
    names = [name for _, material, use in flows for name in (material, use) if name]
    names += [sector for sector, _, _ in flows]
    for name in names:
        shown = [label for title, label in nodes if title.startswith(f"{name}: ")]
        assert len(shown) == 1, f"{name!r} should be one node of the Sankey"
        label = shown[0]
        assert label == name or (label.endswith("…") and name.startswith(label[:-1]))
    data = json.loads(page.locator("#sankey-data").text_content())
    assert len(data) == len(flows)
    assert sum(flow["tonnes"] for flow in data) == pytest.approx(confirmed_tonnes)
    for depth in (0, 1):  # sector -> material, then material -> use
        drawn = sankey.locator(f"path.sankey-link[data-depth='{depth}']").evaluate_all(
            "paths => paths.map(p => Number(p.dataset.tonnes))"
        )
        assert sum(drawn) == pytest.approx(confirmed_tonnes)
    # Every link and node says its tonnes and CO2e when hovered, and which tonnes
    # have no counted CO2e (checked against the raw rows).
    expected = _tonnes_by_tooltip()
    assert sum(flow["tonnes_co2e_not_counted"] for flow in data) == pytest.approx(
        sum(expected[f"{s} → {m}"][1] for s, m in {(s, m) for s, m, _ in flows})
    )
    titles = sankey.locator("path.sankey-link > title").all_text_contents()
    assert len(titles) == links
    titles += [title for title, _ in nodes]
    for title in titles:
        _check_tooltip(title, expected)
    return titles


def _number(text: str) -> float:
    return float(re.search(r"-?[\d,]+(?:\.\d+)?", text).group(0).replace(",", ""))


@pytest.mark.django_db(transaction=True)
def test_demo_analyst_sees_confirmed_figures_charts_sankey_and_map(page):
    load_demo()
    pairs = _pairs(3)
    assert len(pairs) == 3, "the demo data should hold three public supply-demand pairs"
    loads = [["12.5", "20"], ["7.5"], ["30", "4.5"]]
    # The second supply's fate has no emission factor: its tonnes count as
    # diverted, their CO2e as not counted.
    uncounted = pairs[1][0]
    uncounted.fate = "other"
    uncounted.save(update_fields=["fate"])
    deals = [_confirmed_deal(s, d, t) for (s, d), t in zip(pairs, loads, strict=True)]
    expected_tonnes = sum(float(t) for ts in loads for t in ts)
    # The deal pages' own figure (marketplace.selectors), summed deal by deal.
    expected_t_co2e = (
        sum(market_selectors.deal_impact(deal=d).so_far.net_kg_co2e_saved or 0.0 for d in deals)
        / 1000
    )

    login(page, ANALYST_EMAIL, DEMO_PASSWORD)
    page.goto("/city/")
    expect(
        page.get_by_role(
            "heading", name="What the platform has moved, and what it kept out of landfill"
        )
    ).to_be_visible()
    expect(page.get_by_test_id("tonnes-moved")).to_have_text(f"{expected_tonnes:,.1f} t")
    # Kept out of landfill: only tonnes whose supply was landfilled or dumped, where
    # the law does not ban that disposal (the rest is put to use, reuse continued...).
    kept = sum(
        float(t)
        for (supply, _), ts in zip(pairs, loads, strict=True)
        for t in ts
        if supply.fate in ("landfill", "open_dump") and not supply.material.landfill_banned
    )
    expect(page.get_by_test_id("tonnes-diverted")).to_have_text(f"{kept:,.1f} t")
    co2e = _number(page.get_by_test_id("co2e-avoided").inner_text())
    assert co2e == pytest.approx(expected_t_co2e, abs=0.06)
    expect(page.get_by_test_id("exchanges")).to_have_text("3")
    expect(page.locator("#month-chart rect.bar")).not_to_have_count(0)
    titles = _check_sankey(page)
    material = uncounted.material.name_en
    assert any(
        t.startswith(f"{material}: ") and t.endswith("; current fate's CO2e not counted for 7.5 t")
        for t in titles
    ), titles
    expect(page.locator("#city-map path.exchange-line")).to_have_count(3)
    expect(page.locator("body")).not_to_contain_text("KZT")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, "city-dashboard")
    page.locator("#month-chart").screenshot(path=str(SCREENSHOTS / "city-month-chart.png"))
    page.locator("#category-chart").screenshot(path=str(SCREENSHOTS / "city-category-chart.png"))
    page.locator("#sankey-chart").screenshot(path=str(SCREENSHOTS / "city-sankey.png"))
    page.locator("#city-map").screenshot(path=str(SCREENSHOTS / "city-map.png"))

    # A district filter lands in the URL and narrows the figures.
    district = pairs[0][0].site.district
    page.select_option("select[name=district]", district)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"district={district}"))
    narrowed = _number(page.get_by_test_id("tonnes-moved").inner_text())
    assert 0 < narrowed <= expected_tonnes

    page.goto("/city/methodology/")
    expect(page.locator("#factors-table tbody tr")).not_to_have_count(0)
    screenshot(page, "city-methodology")


@pytest.mark.django_db(transaction=True)
def test_sankey_fits_a_phone(phone_page):
    """At 375 px the page does not scroll sideways: the Sankey scrolls in its own box."""
    load_demo()
    for (supply, demand), loads in zip(_pairs(3), [["12.5"], ["7.5"], ["30"]], strict=True):
        _confirmed_deal(supply, demand, loads)
    page = phone_page
    login(page, ANALYST_EMAIL, DEMO_PASSWORD)
    page.goto("/city/")
    _check_sankey(page)
    box = page.locator("#sankey-chart")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the city page scrolls sideways by {overflow} px"
    sizes = box.evaluate("b => [b.scrollWidth, b.clientWidth, b.getBoundingClientRect().right]")
    scroll_width, client_width, right = sizes
    assert right <= 375
    assert scroll_width > client_width, "the chart should scroll inside its box, not shrink"
    box.scroll_into_view_if_needed()
    screenshot(page, "city-dashboard-375")
    box.screenshot(path=str(SCREENSHOTS / "city-sankey-375.png"))
    # Turned sideways the box is wide enough: the chart is redrawn to fill it.
    page.set_viewport_size({"width": 812, "height": 375})
    expect(box.locator("svg#sankey")).to_have_attribute(
        "width", str(box.evaluate("b => b.clientWidth"))
    )
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth")
