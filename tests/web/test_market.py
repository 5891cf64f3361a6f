"""The market: others' published listings, filters, distances, privacy of anonymous owners."""

from decimal import Decimal

import pytest

from symbiosis import geo
from tests import factories
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


@pytest.fixture
def listings(company_a, company_b, site_a, site_b, spent_grain, steel_slag, food_waste):
    """Company B offers three things and needs one; company A offers one."""
    far = factories.SiteFactory(
        organization=company_b,
        name="Far depot",
        district="almaty_region",
        latitude=Decimal("43.600000"),
        longitude=Decimal("77.400000"),
    )
    return {
        "public": factories.SupplyListingFactory(
            organization=company_b, site=site_b, material=spent_grain, tonnes=Decimal("10")
        ),
        "anonymous": factories.SupplyListingFactory(
            organization=company_b,
            site=far,
            material=steel_slag,
            visibility="anonymous",
            quantity=Decimal("500"),
            tonnes=Decimal("500"),
        ),
        "private": factories.SupplyListingFactory(
            organization=company_b, site=site_b, material=food_waste, visibility="private"
        ),
        "paused": factories.SupplyListingFactory(
            organization=company_b, site=site_b, material=food_waste, status="paused"
        ),
        "own": factories.SupplyListingFactory(
            organization=company_a, site=site_a, material=spent_grain
        ),
        "demand": factories.DemandListingFactory(
            organization=company_b, site=site_b, materials=[spent_grain], visibility="anonymous"
        ),
    }


def ids_in(response, kind="supply"):
    text = response.content.decode()
    return {int(part.split('"', 1)[0]) for part in text.split(f'id="market-{kind}-')[1:]}


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in ("/market/", "/market/supply/1/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_city_analysts_see_aggregates_not_the_market(client_as, analyst):
    assert client_as(analyst).get("/market/").status_code == 403


def test_a_member_sees_others_active_published_supplies_only(client_as, member_a, listings):
    response = client_as(member_a).get("/market/")
    assert response.status_code == 200
    assert ids_in(response) == {listings["public"].pk, listings["anonymous"].pk}


def test_an_anonymous_listing_never_shows_its_owner(client_as, member_a, listings):
    text = client_as(member_a).get("/market/").content.decode()
    row = text.split(f'id="market-supply-{listings["anonymous"].pk}"', 1)[1].split("</li>", 1)[0]
    assert "Steel slag" in row
    assert "500\u00a0t" in row  # symbiosis.numbers: the unit never wrapped
    assert "Almaty Region" in row
    assert "Anonymous" in row
    assert "Company B" not in row
    assert "Far depot" not in row
    public = text.split(f'id="market-supply-{listings["public"].pk}"', 1)[1].split("</li>", 1)[0]
    assert "Company B" in public
    assert "Bakery yard" in public


def test_the_anonymous_detail_page_hides_owner_and_description(client_as, member_a, listings):
    anonymous = listings["anonymous"]
    anonymous.description = "Call Company B's yard manager"
    anonymous.save()
    response = client_as(member_a).get(f"/market/supply/{anonymous.pk}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Steel slag" in text
    assert "Company B" not in text
    assert "Far depot" not in text
    assert "yard manager" not in text


def test_a_facilitator_sees_the_owner_of_an_anonymous_listing(client_as, facilitator, listings):
    text = client_as(facilitator).get(f"/market/supply/{listings['anonymous'].pk}/").content
    assert b"Company B" in text


@pytest.mark.parametrize("which", ["private", "paused"])
def test_another_companys_unpublished_listing_is_404(client_as, member_a, listings, which):
    response = client_as(member_a).get(f"/market/supply/{listings[which].pk}/")
    assert response.status_code == 404


def test_own_private_listing_opens_with_an_edit_link(client_as, member_b, listings):
    response = client_as(member_b).get(f"/market/supply/{listings['private'].pk}/")
    assert response.status_code == 200
    assert f"/listings/supply/{listings['private'].pk}/edit/".encode() in response.content


def test_demands_are_listed_and_anonymous_ones_hide_their_owner(client_as, member_a, listings):
    response = client_as(member_a).get("/market/", {"kind": "demand"})
    assert ids_in(response, "demand") == {listings["demand"].pk}
    assert b"Company B" not in response.content
    detail = client_as(member_a).get(f"/market/demand/{listings['demand'].pk}/")
    assert detail.status_code == 200
    assert b"Brewery spent grain" in detail.content
    assert b"Company B" not in detail.content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "minerals"}, {"anonymous"}),
        ({"category": "biomass"}, {"public"}),
        ({"district": "bostandyk"}, {"public"}),
        ({"district": "medeu"}, set()),
        ({"max_km": "10"}, {"public"}),
        ({"max_km": "100"}, {"public", "anonymous"}),
    ],
)
def test_filters(client_as, member_a, listings, params, expected):
    response = client_as(member_a).get("/market/", params)
    assert ids_in(response) == {listings[key].pk for key in expected}


def test_filter_by_material(client_as, member_a, listings, steel_slag):
    response = client_as(member_a).get("/market/", {"material": steel_slag.pk})
    assert ids_in(response) == {listings["anonymous"].pk}


def test_filter_demands_by_category_and_material(client_as, member_a, listings, spent_grain):
    client = client_as(member_a)
    params = {"kind": "demand", "category": "biomass", "material": spent_grain.pk}
    assert ids_in(client.get("/market/", params), "demand") == {listings["demand"].pk}
    params["category"] = "metals"
    assert ids_in(client.get("/market/", params), "demand") == set()


def _order(response):
    text = response.content.decode()
    return [int(part.split('"', 1)[0]) for part in text.split('id="market-supply-')[1:]]


def test_sorted_by_distance_from_my_site_by_default(client_as, member_a, listings):
    response = client_as(member_a).get("/market/")
    assert _order(response) == [listings["public"].pk, listings["anonymous"].pk]
    assert b"distances from Brewhouse" in response.content


def test_sorted_by_tonnes(client_as, member_a, listings):
    response = client_as(member_a).get("/market/", {"sort": "tonnes"})
    assert _order(response) == [listings["anonymous"].pk, listings["public"].pk]


def test_no_distances_without_a_site(client_as, member_a, listings):
    response = client_as(member_a).get("/market/", {"site": ""})
    assert b" km</span>" not in response.content
    assert _order(response) == [listings["anonymous"].pk, listings["public"].pk]


def test_another_companys_site_cannot_be_the_origin(client_as, member_a, listings, site_b):
    response = client_as(member_a).get("/market/", {"site": site_b.pk, "max_km": "1"})
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    # The bad origin is ignored: no distances, so no distance filter either.
    assert ids_in(response) == {listings["public"].pk, listings["anonymous"].pk}


def test_the_distance_to_an_anonymous_listing_is_measured_to_a_coarse_cell(
    client_as, member_a, listings, site_a
):
    site = listings["anonymous"].site
    exact = geo.great_circle_km(site_a.latitude, site_a.longitude, site.latitude, site.longitude)
    lat, lon = geo.coarse(site.latitude, site.longitude)
    coarse = geo.great_circle_km(site_a.latitude, site_a.longitude, lat, lon)
    assert round(exact) != round(coarse)
    text = client_as(member_a).get("/market/").content.decode()
    assert f"≈ {round(coarse)} km" in text


def test_pagination_keeps_the_filters(client_as, member_a, company_b, site_b, spent_grain):
    for _ in range(23):
        factories.SupplyListingFactory(organization=company_b, site=site_b, material=spent_grain)
    client = client_as(member_a)
    first = client.get("/market/", {"category": "biomass", "sort": "tonnes"})
    assert len(_order(first)) == 20
    assert "?category=biomass&amp;sort=tonnes&amp;page=2" in first.content.decode()
    second = client.get("/market/", {"category": "biomass", "sort": "tonnes", "page": 2})
    assert len(_order(second)) == 3


def test_htmx_gets_the_results_partial(client_as, member_a, listings):
    response = client_as(member_a).get("/market/", {"sort": "tonnes"}, **HTMX)
    text = response.content.decode()
    assert text.startswith('<section id="market-results"')
    assert "<html" not in text
    assert "HX-Request" in response["Vary"]


def test_public_supply_of_another_company_links_to_the_deal_offer(client, member_b):
    listing = factories.SupplyListingFactory(visibility="public")
    client.force_login(member_b)
    html = client.get(f"/market/supply/{listing.pk}/").content.decode()
    assert f"/deals/new/?supply={listing.pk}" in html


def test_anonymous_supply_has_no_deal_link(client, member_b):
    listing = factories.SupplyListingFactory(visibility="anonymous")
    client.force_login(member_b)
    html = client.get(f"/market/supply/{listing.pk}/").content.decode()
    assert "/deals/new/" not in html


def test_an_anonymous_supply_shows_what_how_much_and_where_roughly_only(
    client_as, member_a, listings
):
    """Every page showing another company's anonymous supply reads it through its
    card: material, quantity, district, window, composition (issue 18: it names no
    owner); never note, price or limits."""
    anonymous = listings["anonymous"]
    anonymous.description = "Slag from Company B's furnace 3"
    anonymous.price_kzt_per_t = Decimal("2718")
    anonymous.moisture_percent = Decimal("12.5")
    anonymous.max_km = Decimal("61.7")
    anonymous.save()
    client = client_as(member_a)
    row = client.get("/market/", {"sort": "tonnes"}, **HTMX).content.decode()
    row = row.split(f'id="market-supply-{anonymous.pk}"', 1)[1].split("</li>", 1)[0]
    pages = {
        "row": row,
        "detail": client.get(f"/market/supply/{anonymous.pk}/").content.decode(),
        "offer": client.get(f"/deals/new/?supply={anonymous.pk}").content.decode(),
    }
    for name, text in pages.items():
        assert "Steel slag" in text and "500" in text and "Almaty Region" in text, name
        for secret in ("furnace 3", "2718", "2,718", "61.7", "Far depot", "Company B"):
            assert secret not in text, (name, secret)
    assert 'data-testid="moisture">12.5<' in pages["detail"]


def test_an_anonymous_demand_shows_no_note_or_price(client_as, member_a, listings):
    demand = listings["demand"]
    demand.description = "Company B's bakery line needs it"
    demand.max_price_kzt_per_t = Decimal("3141")
    demand.min_lot_tonnes = Decimal("7.5")
    demand.save()

    text = client_as(member_a).get(f"/market/demand/{demand.pk}/").content.decode()

    assert "Brewery spent grain" in text
    for secret in ("bakery line", "3141", "3,141", "7.5", "Company B", "Bakery yard"):
        assert secret not in text, secret


# --- search, facets and what a row shows (issue 18) -------------------------------------------


@pytest.mark.parametrize("query", ["пивная дробена", "Brewery spent grian", "020704", "02 07 04"])
def test_the_search_box_finds_by_name_with_a_typo_or_by_ewc_code(
    client_as, member_a, listings, query
):
    response = client_as(member_a).get("/market/", {"q": query})
    assert response.status_code == 200
    assert ids_in(response) == {listings["public"].pk}


def test_the_search_box_comes_first_and_keeps_the_query(client_as, member_a, listings):
    text = client_as(member_a).get("/market/", {"q": "slag"}).content.decode()
    form = text.split('<form class="card filters"', 1)[1]
    assert form.index('name="q"') < form.index('name="kind"')
    assert 'type="search"' in form and 'value="slag"' in form


def test_a_hidden_description_is_not_searchable_by_another_company(
    client_as, member_a, facilitator, listings
):
    anonymous = listings["anonymous"]
    anonymous.description = "Slag of the zebrawood furnace"
    anonymous.save()
    outsider = client_as(member_a).get("/market/", {"q": "zebrawood"})
    assert ids_in(outsider) == set()
    assert b"0 listings" in outsider.content
    # Its title is searchable by everyone.
    assert ids_in(client_as(member_a).get("/market/", {"q": "steel slag"})) == {anonymous.pk}
    assert ids_in(client_as(facilitator).get("/market/", {"q": "zebrawood"})) == {anonymous.pk}


def test_best_match_is_the_default_order_with_a_query(
    client_as, member_a, company_b, site_b, listings, food_waste
):
    """A title match before a description match, whatever the tonnes or distance."""
    by_description = factories.SupplyListingFactory(
        organization=company_b,
        site=site_b,
        material=food_waste,
        tonnes=Decimal("900"),
        quantity=Decimal("900"),
        description="Soup kitchen waste with some spent grain",
    )
    client = client_as(member_a)
    response = client.get("/market/", {"q": "spent grain"})
    assert _order(response) == [listings["public"].pk, by_description.pk]
    assert b'<option value="" selected>Best match first</option>' in response.content
    # Another sort still applies to the results of a search.
    response = client.get("/market/", {"q": "spent grain", "sort": "tonnes"})
    assert _order(response) == [by_description.pk, listings["public"].pk]
    # Without a query the default is the nearest first (from the first own site).
    nearest = _order(client.get("/market/", {"sort": "distance"}))
    assert _order(client.get("/market/", {"sort": ""})) == nearest


def test_search_with_a_distance_limit_and_htmx(client_as, member_a, listings):
    params = {"q": "slag", "max_km": "10"}
    assert ids_in(client_as(member_a).get("/market/", params, **HTMX)) == set()
    params["max_km"] = "100"
    assert ids_in(client_as(member_a).get("/market/", params, **HTMX)) == {listings["anonymous"].pk}


def test_a_query_too_long_is_said_and_ignored(client_as, member_a, listings):
    response = client_as(member_a).get("/market/", {"q": "x" * 201})
    assert response.status_code == 200
    assert b"Ensure this value has at most 200 characters" in response.content
    assert ids_in(response) == {listings["public"].pk, listings["anonymous"].pk}


def test_the_recurrence_facet(client_as, member_a, listings):
    monthly = listings["public"]
    monthly.recurrence = "month"
    monthly.save()
    client = client_as(member_a)
    assert ids_in(client.get("/market/", {"recurrence": "month"})) == {monthly.pk}
    assert ids_in(client.get("/market/", {"recurrence": "year"})) == {listings["anonymous"].pk}
    assert ids_in(client.get("/market/", {"recurrence": "once"})) == set()


def test_photo_and_data_quality_facets_filter_the_list(
    client_as, member_a, member_b, listings, attachment_storage
):
    from symbiosis import attachments
    from tests.attachment_files import picture, upload

    anonymous, public = listings["anonymous"], listings["public"]
    attachments.photo_add(user=member_b, listing=anonymous, upload=upload(picture()))
    public.data_quality = "verified"
    public.save()
    client = client_as(member_a)

    page = client.get("/market/", {"has_photos": "on"})
    assert ids_in(page) == {anonymous.pk}
    assert 'class="listing-thumb"' in _row(page, anonymous)
    assert ids_in(client.get("/market/", {"data_quality": "lab_tested"})) == {public.pk}
    assert public.pk in ids_in(client.get("/market/", {"data_quality": "declared"}))


def _row(response, listing, kind="supply"):
    text = response.content.decode()
    return text.split(f'id="market-{kind}-{listing.pk}"', 1)[1].split("</li>", 1)[0]


def test_a_row_shows_price_window_quantity_and_recurrence(client_as, member_a, listings):
    public = listings["public"]
    public.price_kzt_per_t = Decimal("2500")
    public.save()
    row = _row(client_as(member_a).get("/market/"), public)
    assert "2,500\u00a0KZT/t" in row
    assert "Available 01/01/2027 – 12/31/2027" in row
    assert "100\u00a0t per year" in row  # saved: the tonnes follow the quantity
    assert 'class="listing-thumb"' in row


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        ("-1500", "Gate fee: the supplier pays 1,500\u00a0KZT/t"),
        ("0", "Free of charge"),
    ],
)
def test_a_negative_price_is_a_gate_fee_in_the_row(client_as, member_a, listings, price, shown):
    public = listings["public"]
    public.price_kzt_per_t = Decimal(price)
    public.save()
    assert shown in _row(client_as(member_a).get("/market/"), public)


def test_a_demand_row_shows_its_maximum_price_unless_the_owner_is_hidden(
    client_as, member_a, company_b, site_b, spent_grain, listings
):
    public = factories.DemandListingFactory(
        organization=company_b, site=site_b, materials=[spent_grain], visibility="public"
    )
    public.max_price_kzt_per_t = Decimal("-700")
    public.save()
    hidden = listings["demand"]
    hidden.max_price_kzt_per_t = Decimal("4321")
    hidden.save()
    response = client_as(member_a).get("/market/", {"kind": "demand"})
    assert "Gate fee: takes it if paid at least 700\u00a0KZT/t" in _row(response, public, "demand")
    hidden_row = _row(response, hidden, "demand")
    assert "4,321" not in hidden_row and "4321" not in hidden_row
    assert 'data-testid="price"' not in hidden_row


def test_an_anonymous_rows_price_is_hidden_but_shown_to_a_facilitator(
    client_as, member_a, facilitator, listings
):
    anonymous = listings["anonymous"]
    anonymous.price_kzt_per_t = Decimal("2718")
    anonymous.save()
    row = _row(client_as(member_a).get("/market/"), anonymous)
    assert "2,718" not in row and 'data-testid="price"' not in row
    assert "Available" in row  # the window is shown to everyone
    assert "2,718\u00a0KZT/t" in _row(client_as(facilitator).get("/market/"), anonymous)
