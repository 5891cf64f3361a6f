"""/api/v1/saved-searches/: save the market's filters, list, rename, pause, resume and
delete one's own searches, as the pages do (tests/web/test_saved_searches.py). The
filters go through the market's form: a value it refuses is a 400 under ``query`` and
nothing is saved. Nobody reaches another user's search (404), and no answer carries a
search's unsubscribe token."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from symbiosis import saved_searches
from symbiosis.models import SavedSearch
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/api/v1/saved-searches/"


def detail(search) -> str:
    return f"/api/v1/saved-searches/{search.pk}/"


@pytest.fixture
def site_a(company_a):
    return factories.SiteFactory(organization=company_a, name="Brewhouse")


@pytest.fixture
def site_b(company_b):
    return factories.SiteFactory(
        organization=company_b,
        name="Bakery yard",
        latitude=Decimal("43.220000"),
        longitude=Decimal("76.900000"),
    )


@pytest.fixture
def grain(db):
    return factories.MaterialFactory(
        slug="brewery-spent-grain", name_en="Brewery spent grain", category="biomass"
    )


def a_search(user, name="Grain", **query):
    return SavedSearch.objects.create(
        user=user, name=name, query=query or {"kind": "supply"}, new_since=timezone.now()
    )


@pytest.fixture
def search_a(member_a, grain):
    return a_search(member_a, "Grain for A", kind="supply", material=str(grain.pk))


def call(client_as, user, method, url, data=None):
    client = client_as(user)
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, data, format="json")
    text = response.content.decode()
    return response, (json.loads(text) if text else None), text


def assert_no_token(text: str):
    assert "unsubscribe" not in text
    for token in SavedSearch.objects.values_list("unsubscribe_token", flat=True):
        assert token not in text


# --- saving ------------------------------------------------------------------------------------


def test_saving_stores_the_filters_as_the_page_does(client_as, member_a, site_a, grain):
    body = {
        "name": "Grain near the brewhouse",
        "query": {"kind": "supply", "material": grain.pk, "max_km": 25, "min_tonnes": "3"},
    }
    response, data, text = call(client_as, member_a, "post", LIST, body)

    assert response.status_code == 201, text
    search = SavedSearch.objects.get(user=member_a)
    # The page's default: distances from the member's first site.
    assert search.query == {
        "kind": "supply",
        "material": str(grain.pk),
        "site": str(site_a.pk),
        "max_km": "25",
        "min_tonnes": "3",
    }
    assert search.active
    assert data["id"] == search.pk and data["name"] == "Grain near the brewhouse"
    assert data["query"] == search.query and data["active"] is True
    assert data["broken"] is False
    assert {"label": "Material", "value": "Brewery spent grain"} in data["summary"]
    assert data["market_url"].startswith("/market/?kind=supply")
    assert data["last_sent_at"] is None
    assert_no_token(text)


def test_no_distances_stays_a_choice(client_as, member_a, site_a):
    body = {"name": "All", "query": {"kind": "supply", "site": "", "max_km": 5}}
    response, data, _text = call(client_as, member_a, "post", LIST, body)
    assert response.status_code == 201
    # Without a site a distance filters nothing and is left out, as on the page.
    assert data["query"] == {"kind": "supply"}


def test_a_checkbox_and_a_list_of_one(client_as, member_a, grain):
    body = {"name": "Photos", "query": {"has_photos": True, "material": [grain.pk]}}
    response, data, text = call(client_as, member_a, "post", LIST, body)
    assert response.status_code == 201, text
    # Stored as the page stores a ticked box.
    assert data["query"] == {"has_photos": "True", "material": str(grain.pk)}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"max_km": -1}, "max_km"),
        ({"min_tonnes": "lots"}, "min_tonnes"),
        ({"kind": "services"}, "kind"),
        ({"material": 987654}, "material"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"q": "x" * 1000}, "q"),
        ({"materiel": 3}, "materiel"),
        ({"kind": {"nested": "value"}}, "kind"),
        ({"has_photos": "\x00"}, "has_photos"),
    ],
)
def test_a_bad_filter_is_a_field_error_and_nothing_is_saved(client_as, member_a, query, field):
    response, data, _text = call(client_as, member_a, "post", LIST, {"name": "X", "query": query})
    assert response.status_code == 400
    assert list(data) == ["query"] and field in data["query"]
    assert not SavedSearch.objects.exists()


def test_another_companys_site_is_a_field_error(client_as, member_a, site_a, site_b):
    body = {"name": "Sneaky", "query": {"site": site_b.pk, "max_km": 10}}
    response, data, text = call(client_as, member_a, "post", LIST, body)
    assert response.status_code == 400 and "site" in data["query"]
    assert "Bakery yard" not in text
    assert not SavedSearch.objects.exists()


@pytest.mark.parametrize(("name", "status"), [("", 400), ("   ", 400), ("x" * 121, 400)])
def test_a_name_is_needed(client_as, member_a, name, status):
    response, data, _text = call(
        client_as, member_a, "post", LIST, {"name": name, "query": {"kind": "supply"}}
    )
    assert response.status_code == status
    assert list(data) == ["name"]
    assert not SavedSearch.objects.exists()


def test_the_name_is_required_and_the_query_optional(client_as, member_a):
    response, data, _text = call(client_as, member_a, "post", LIST, {})
    assert response.status_code == 400 and "name" in data
    response, data, _text = call(client_as, member_a, "post", LIST, {"name": " Everything  new "})
    assert response.status_code == 201
    assert data["name"] == "Everything new" and data["query"] == {}


def test_there_is_a_most_one_keeps(client_as, member_a):
    for n in range(saved_searches.MAX_SEARCHES_PER_USER):
        a_search(member_a, f"Search {n}")
    response, data, _text = call(client_as, member_a, "post", LIST, {"name": "One more"})
    assert response.status_code == 400
    assert "non_field_errors" in data
    assert SavedSearch.objects.count() == saved_searches.MAX_SEARCHES_PER_USER


def test_facilitators_save_searches_too(client_as, facilitator):
    response, _data, _text = call(
        client_as, facilitator, "post", LIST, {"name": "Fly ash", "query": {"kind": "demand"}}
    )
    assert response.status_code == 201
    assert SavedSearch.objects.get().user == facilitator


# --- reading and changing one's own -----------------------------------------------------------


def test_the_list_shows_only_ones_own(client_as, member_a, member_b, search_a):
    other = a_search(member_b, "B's own search")
    response, data, text = call(client_as, member_a, "get", LIST)
    assert response.status_code == 200
    assert [row["id"] for row in data["results"]] == [search_a.pk]
    assert "B's own search" not in text
    assert_no_token(text)
    _response, data, _text = call(client_as, member_b, "get", LIST)
    assert [row["id"] for row in data["results"]] == [other.pk]


def test_a_search_whose_material_is_gone_is_broken(client_as, member_a, grain, search_a):
    grain.delete()
    _response, data, _text = call(client_as, member_a, "get", detail(search_a))
    assert data["broken"] is True


def test_rename_pause_resume_delete(client_as, member_a, search_a):
    response, data, text = call(client_as, member_a, "patch", detail(search_a), {"name": "Grain!"})
    assert response.status_code == 200 and data["name"] == "Grain!"
    assert_no_token(text)

    response, data, _text = call(client_as, member_a, "patch", detail(search_a), {"active": False})
    assert data["active"] is False
    search_a.refresh_from_db()
    assert search_a.name == "Grain!" and not search_a.active

    before = search_a.new_since
    call(client_as, member_a, "patch", detail(search_a), {"active": True})
    search_a.refresh_from_db()
    assert search_a.active and search_a.new_since > before

    response, _data, _text = call(client_as, member_a, "delete", detail(search_a))
    assert response.status_code == 204
    assert not SavedSearch.objects.filter(pk=search_a.pk).exists()


def test_a_bad_change_keeps_the_search(client_as, member_a, search_a):
    for body in ({"name": ""}, {"name": "x" * 121}, {"name": "", "active": False}):
        response, data, _text = call(client_as, member_a, "patch", detail(search_a), body)
        assert response.status_code == 400 and "name" in data
    response, data, _text = call(client_as, member_a, "patch", detail(search_a), {"active": "no?"})
    assert response.status_code == 400 and "active" in data
    search_a.refresh_from_db()
    assert (search_a.name, search_a.active) == ("Grain for A", True)


def test_the_query_is_not_changed_nor_replaced(client_as, member_a, search_a):
    before = dict(search_a.query)
    response, _data, _text = call(
        client_as, member_a, "patch", detail(search_a), {"query": {"kind": "demand"}}
    )
    assert response.status_code == 200
    response, _data, _text = call(client_as, member_a, "put", detail(search_a), {"name": "X"})
    assert response.status_code == 405
    search_a.refresh_from_db()
    assert search_a.query == before and search_a.name == "Grain for A"


# --- nobody else's -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member_b", "facilitator", "admin_a"])
@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("patch", {"name": "Taken"}), ("patch", {"active": False}), ("delete", None)],
)
def test_nobody_reaches_anothers_search(request, client_as, search_a, who, method, body):
    # A's administrator no more than B or a facilitator: a search is its user's.
    user = request.getfixturevalue(who)
    response, _data, text = call(client_as, user, method, detail(search_a), body)
    assert response.status_code == 404
    assert "Grain for A" not in text
    search_a.refresh_from_db()
    assert (search_a.name, search_a.active) == ("Grain for A", True)


def test_a_missing_search_is_not_found(client_as, member_a):
    for url in (f"{LIST}987654/", f"{LIST}abc/"):
        response, _data, _text = call(client_as, member_a, "get", url)
        assert response.status_code == 404


def test_city_analysts_have_no_saved_searches(client_as, analyst, search_a):
    for method, url, body in [
        ("get", LIST, None),
        ("post", LIST, {"name": "x"}),
        ("get", detail(search_a), None),
        ("patch", detail(search_a), {"name": "x"}),
        ("delete", detail(search_a), None),
    ]:
        response, _data, _text = call(client_as, analyst, method, url, body)
        assert response.status_code == 403, url
    assert SavedSearch.objects.count() == 1


def test_anonymous_callers_are_refused(client_as, search_a):
    for method, url, body in [
        ("get", LIST, None),
        ("post", LIST, {"name": "x"}),
        ("get", detail(search_a), None),
        ("patch", detail(search_a), {"name": "x"}),
        ("delete", detail(search_a), None),
    ]:
        response, _data, text = call(client_as, None, method, url, body)
        assert response.status_code in (401, 403), url
        assert "Grain for A" not in text
    search_a.refresh_from_db()
    assert search_a.name == "Grain for A"


def test_the_api_routes_are_named():
    assert reverse("api:saved-search-list") == LIST
    assert reverse("api:saved-search-detail", args=[3]) == f"{LIST}3/"
