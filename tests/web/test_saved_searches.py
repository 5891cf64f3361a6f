"""Saved searches' pages: save from the market, list, rename, pause, delete, and the
digest's unsubscribe link. Each user sees and changes only their own searches."""

from decimal import Decimal

import pytest
from django.utils import timezone

from symbiosis.models import SavedSearch
from tests import factories
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db


def a_search(user, name="Grain", **query):
    return SavedSearch.objects.create(
        user=user, name=name, query=query or {"kind": "supply"}, new_since=timezone.now()
    )


@pytest.fixture
def search_a(member_a, spent_grain):
    return a_search(member_a, "Grain for A", kind="supply", material=str(spent_grain.pk))


@pytest.fixture
def search_b(member_b):
    return a_search(member_b, "B's own search")


# --- saving from the market --------------------------------------------------------------


def test_the_market_offers_to_save_the_search(client_as, member_a, site_a):
    text = client_as(member_a).get("/market/").content.decode()
    assert 'formaction="/market/saved/new/"' in text
    assert 'hx-get="/market/saved/new/"' in text
    assert 'id="save-search"' in text
    assert 'href="/market/saved/"' in text


def test_the_save_form_carries_the_markets_filters(client_as, member_a, site_a, spent_grain):
    url = f"/market/saved/new/?kind=supply&material={spent_grain.pk}&max_km=25&min_tonnes=3"
    response = client_as(member_a).get(url, **HTMX)
    text = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in text  # a fragment under the filters
    assert f'name="material" value="{spent_grain.pk}"' in text
    assert 'name="max_km" value="25"' in text
    assert 'name="min_tonnes" value="3"' in text
    # The page's default: distances from the member's first site.
    assert f'name="site" value="{site_a.pk}"' in text
    assert "Brewery spent grain" in text  # the suggested name and the summary


def test_no_distances_stays_a_choice_when_saving(client_as, member_a, site_a):
    client = client_as(member_a)
    text = client.get("/market/saved/new/?kind=supply&site=&max_km=5", **HTMX).content.decode()
    assert 'name="site" value=""' in text
    assert 'name="max_km"' not in text  # without a site it filters nothing
    client.post("/market/saved/new/", {"kind": "supply", "site": "", "saved_search_name": "All"})
    assert SavedSearch.objects.get(user=member_a).query == {"kind": "supply"}


def test_saving_stores_the_filters_and_alerts_are_on(client_as, member_a, site_a, spent_grain):
    data = {
        "kind": "supply",
        "material": spent_grain.pk,
        "site": site_a.pk,
        "max_km": "25",
        "min_tonnes": "3",
        "saved_search_name": "Grain near the brewhouse",
    }
    response = client_as(member_a).post("/market/saved/new/", data)

    assert response.status_code == 302
    assert response["Location"] == "/market/saved/"
    search = SavedSearch.objects.get(user=member_a)
    assert search.name == "Grain near the brewhouse"
    assert search.active
    assert search.query == {
        "kind": "supply",
        "material": str(spent_grain.pk),
        "site": str(site_a.pk),
        "max_km": "25",
        "min_tonnes": "3",
    }


def test_saving_over_htmx_answers_with_the_fragment(client_as, member_a, site_a):
    response = client_as(member_a).post(
        "/market/saved/new/", {"kind": "demand", "saved_search_name": "Wanted"}, **HTMX
    )
    assert response.status_code == 200
    assert "Search saved: “Wanted”" in response.content.decode()
    assert SavedSearch.objects.get(user=member_a).query["kind"] == "demand"


def test_a_search_without_a_name_is_refused_inline(client_as, member_a, site_a):
    response = client_as(member_a).post(
        "/market/saved/new/", {"kind": "supply", "saved_search_name": " "}, **HTMX
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Give the search a name." in text
    assert 'name="kind" value="supply"' in text  # nothing lost
    assert not SavedSearch.objects.exists()


def test_another_companys_site_is_not_saved_as_the_origin(client_as, member_a, site_a, site_b):
    client_as(member_a).post(
        "/market/saved/new/",
        {"site": site_b.pk, "max_km": "10", "saved_search_name": "Sneaky"},
    )
    assert SavedSearch.objects.get(user=member_a).query == {}


# --- the list and its changes ---------------------------------------------------------------


def test_the_list_shows_only_ones_own_searches(client_as, member_a, search_a, search_b):
    response = client_as(member_a).get("/market/saved/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Grain for A" in text
    assert "B&#x27;s own search" not in text and "B's own search" not in text
    assert f'id="saved-search-{search_a.pk}"' in text
    assert "Material: Brewery spent grain" in text
    assert f"/market/?kind=supply&amp;material={search_a.query['material']}" in text


def test_rename_pause_resume_delete(client_as, member_a, search_a):
    client = client_as(member_a)
    response = client.post(f"/market/saved/{search_a.pk}/rename/", {"name": "Grain!"}, **HTMX)
    assert response.status_code == 200
    assert 'value="Grain!"' in response.content.decode()

    response = client.post(f"/market/saved/{search_a.pk}/active/", {"active": "0"}, **HTMX)
    assert "Resume alerts" in response.content.decode()
    search_a.refresh_from_db()
    assert search_a.name == "Grain!" and not search_a.active

    before = search_a.new_since
    client.post(f"/market/saved/{search_a.pk}/active/", {"active": "1"})
    search_a.refresh_from_db()
    assert search_a.active and search_a.new_since > before

    response = client.post(f"/market/saved/{search_a.pk}/delete/")
    assert response.status_code == 302
    assert not SavedSearch.objects.filter(pk=search_a.pk).exists()


def test_an_empty_name_is_refused_and_the_old_one_kept(client_as, member_a, search_a):
    response = client_as(member_a).post(
        f"/market/saved/{search_a.pk}/rename/", {"name": ""}, **HTMX
    )
    assert response.status_code == 200
    assert "Give the search a name." in response.content.decode()
    search_a.refresh_from_db()
    assert search_a.name == "Grain for A"


@pytest.mark.parametrize(
    ("action", "data"),
    [("rename", {"name": "Taken"}), ("active", {"active": "0"}), ("delete", {})],
)
def test_nobody_changes_anothers_search(client_as, member_b, search_a, action, data):
    response = client_as(member_b).post(f"/market/saved/{search_a.pk}/{action}/", data)
    assert response.status_code == 404
    search_a.refresh_from_db()
    assert (search_a.name, search_a.active) == ("Grain for A", True)


def test_city_analysts_have_no_market_and_no_saved_searches(client_as, analyst):
    client = client_as(analyst)
    assert client.get("/market/saved/").status_code == 403
    assert client.get("/market/saved/new/").status_code == 403
    assert client.post("/market/saved/new/", {"saved_search_name": "x"}).status_code == 403
    assert not SavedSearch.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, search_a):
    for url in ("/market/saved/", "/market/saved/new/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = client.post(f"/market/saved/{search_a.pk}/delete/")
    assert response["Location"].startswith("/accounts/login/")
    assert SavedSearch.objects.filter(pk=search_a.pk).exists()


# --- unsubscribing from a digest, without logging in ----------------------------------------


def test_the_unsubscribe_link_asks_first_then_stops_that_search_only(client, search_a, member_a):
    other = a_search(member_a, "Another of A's")
    url = f"/market/saved/unsubscribe/{search_a.unsubscribe_token}/"

    response = client.get(url)  # a mail scanner following the link changes nothing
    assert response.status_code == 200
    assert "Stop the daily alerts of your saved search “Grain for A”?" in response.content.decode()
    search_a.refresh_from_db()
    assert search_a.active

    response = client.post(url)
    assert response.status_code == 200
    assert "are stopped" in response.content.decode()
    search_a.refresh_from_db()
    other.refresh_from_db()
    assert not search_a.active
    assert other.active


def test_a_token_touches_only_its_own_search(client, search_a, search_b):
    # A token is the whole key: a search's id in the path chooses nothing.
    response = client.post(f"/market/saved/unsubscribe/{search_b.unsubscribe_token}/")
    assert "B&#x27;s own search" in response.content.decode()
    search_a.refresh_from_db()
    assert search_a.active
    for forged in ("nope", search_a.unsubscribe_token[:-1], search_a.unsubscribe_token + "x"):
        response = client.post(f"/market/saved/unsubscribe/{forged}/")
        assert response.status_code == 404
    search_a.refresh_from_db()
    assert search_a.active


def test_the_unsubscribe_page_speaks_the_users_language(client, member_a, search_a):
    member_a.language = "ru"
    member_a.save()
    response = client.get(f"/market/saved/unsubscribe/{search_a.unsubscribe_token}/")
    assert '<html lang="ru"' in response.content.decode()


# --- the market's minimum quantity -----------------------------------------------------------


def test_the_market_filters_by_minimum_tonnes(client_as, member_a, company_b, site_b, spent_grain):
    small = factories.SupplyListingFactory(
        organization=company_b, site=site_b, material=spent_grain, quantity=Decimal("4")
    )
    big = factories.SupplyListingFactory(
        organization=company_b, site=site_b, material=spent_grain, quantity=Decimal("40")
    )
    text = client_as(member_a).get("/market/?min_tonnes=10").content.decode()
    assert f'id="market-supply-{big.pk}"' in text
    assert f'id="market-supply-{small.pk}"' not in text
    # A value the form refuses filters nothing, as the other filters.
    text = client_as(member_a).get("/market/?min_tonnes=lots").content.decode()
    assert f'id="market-supply-{small.pk}"' in text


def test_without_javascript_the_save_form_is_a_page_of_its_own(client_as, member_a, site_a):
    response = client_as(member_a).get("/market/saved/new/?kind=demand&min_tonnes=2")
    text = response.content.decode()
    assert response.status_code == 200
    assert "<html" in text and "Save this search" in text
    assert 'name="kind" value="demand"' in text
    assert 'action="/market/saved/new/"' in text
