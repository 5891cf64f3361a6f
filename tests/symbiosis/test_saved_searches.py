"""Saved searches' digests against the database: what is sent, to whom, once.

The digest is evaluated with the market's own query (``symbiosis.market_query``)
and shown through the visibility rule; it goes through ``notifications.notify``
(in the app, and by e-mail in the recipient's language once the transaction commits).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.http import QueryDict
from django.utils import timezone

from symbiosis import saved_searches
from symbiosis.celery import app
from symbiosis.forms import MarketFilterForm
from symbiosis.market_query import market_form
from symbiosis.models import Notification, SavedSearch, SavedSearchHit
from symbiosis.models.accounts import CITY_ANALYST_GROUP
from symbiosis.visibility import viewer_for
from tests import factories

pytestmark = pytest.mark.django_db

OWNER_NAME = "Hidden Owner Bakery LLP"
OWNER_SITE = "Secret oven yard"


@pytest.fixture
def world():
    """A (the searcher, a site in central Almaty) and B (the lister, two sites:
    one 5 km away, one 40 km away)."""
    grain = factories.MaterialFactory(
        slug="brewery-spent-grain",
        name_en="Brewery spent grain",
        name_ru="Пивная дробина",
        category="biomass",
    )
    slag = factories.MaterialFactory(
        slug="steel-slag", name_en="Steel slag", name_ru="Шлак", category="minerals"
    )
    company_a = factories.OrganizationFactory(name="Searching Feed Mill")
    company_b = factories.OrganizationFactory(name=OWNER_NAME)
    searcher = factories.MembershipFactory(organization=company_a, role="member").user
    lister = factories.MembershipFactory(organization=company_b, role="member").user
    site_a = factories.SiteFactory(
        organization=company_a, latitude=Decimal("43.2380"), longitude=Decimal("76.9450")
    )
    near = factories.SiteFactory(
        organization=company_b,
        name=OWNER_SITE,
        district="bostandyk",
        latitude=Decimal("43.2000"),
        longitude=Decimal("76.9000"),
    )
    far = factories.SiteFactory(
        organization=company_b,
        name="Far yard",
        district="almaty_region",
        latitude=Decimal("43.6000"),
        longitude=Decimal("77.2000"),
    )
    return {
        "grain": grain,
        "slag": slag,
        "a": company_a,
        "b": company_b,
        "searcher": searcher,
        "lister": lister,
        "site_a": site_a,
        "near": near,
        "far": far,
    }


def save(world, user=None, name="Grain near me", **filters):
    user = user or world["searcher"]
    data = QueryDict(mutable=True)
    for key, value in filters.items():
        data[key] = str(value)
    form = market_form(viewer_for(user), data)
    return saved_searches.saved_search_create(user=user, name=name, form=form)


def grain_search(world, **extra):
    filters = {
        "kind": "supply",
        "material": world["grain"].pk,
        "site": world["site_a"].pk,
        "max_km": 20,
        "min_tonnes": 5,
    }
    return save(world, **{**filters, **extra})


def listing(world, *, site="near", material="grain", tonnes="50", **fields):
    return factories.SupplyListingFactory(
        organization=world["b"],
        site=world[site],
        material=world[material],
        quantity=Decimal(tonnes),
        tonnes=Decimal(tonnes),
        **fields,
    )


def run(django_capture_on_commit_callbacks, **kwargs):
    """The daily pass, with its e-mails sent as after a commit."""
    with django_capture_on_commit_callbacks(execute=True):
        return saved_searches.saved_search_digests_send(**kwargs)


def digests(user):
    return list(Notification.objects.filter(recipient=user, kind=saved_searches.DIGEST_KIND))


def test_the_saved_query_holds_the_forms_valid_filters(world):
    search = grain_search(world, district="", sort="newest")
    assert search.query == {
        "kind": "supply",
        "material": str(world["grain"].pk),
        "site": str(world["site_a"].pk),
        "max_km": "20",
        "min_tonnes": "5",
        "sort": "newest",
    }
    assert search.active and search.last_sent_at is None
    assert len(search.unsubscribe_token) >= 40


def test_fields_the_form_gains_are_saved_without_knowing_them(world):
    """Fields other parts add (a text query, a map box, facets) are stored as the
    form cleaned them, and a value the form refuses is not."""

    class WiderForm(MarketFilterForm):
        q = forms.CharField(required=False)
        facet = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
        has_photos = forms.BooleanField(required=False)

    data = QueryDict("q=пивная+дробина&facet=a&facet=b&has_photos=&max_km=-3&kind=demand")
    form = WiderForm(data, user=viewer_for(world["searcher"]))
    assert saved_searches.query_from_form(form) == {
        "kind": "demand",
        "q": "пивная дробина",
        "facet": ["a", "b"],
    }
    replayed = saved_searches.query_dict({"q": "пивная дробина", "facet": ["a", "b"]})
    assert replayed.getlist("facet") == ["a", "b"]
    assert replayed["q"] == "пивная дробина"


def test_a_distance_limit_without_a_site_is_not_saved(world):
    search = save(world, kind="supply", site="", max_km=20)
    assert search.query == {"kind": "supply"}


def test_a_new_matching_listing_gives_one_digest_naming_it(
    world, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://symbiosis.example.kz"
    search = grain_search(world)
    new = listing(world)

    result = run(django_capture_on_commit_callbacks)

    assert result == {"users": 1, "listings": 1}
    (digest,) = digests(world["searcher"])
    assert digest.url == f"/market/supply/{new.pk}/"
    assert digest.params["count"] == 1
    (item,) = digest.params["searches"][0]["listings"]
    assert item["url"] == f"/market/supply/{new.pk}/"
    assert item["owner"] == OWNER_NAME  # a public listing names its owner
    assert item["km"] == 6
    (email,) = mail.outbox
    assert email.to == [world["searcher"].email]
    assert "1 listing matches your saved searches" in email.subject
    assert f"https://symbiosis.example.kz/market/supply/{new.pk}/" in email.body
    assert "Brewery spent grain, 50.0\u00a0t" in email.body
    assert "“Grain near me”: 1 new listing" in email.body
    unsubscribe = (
        f"https://symbiosis.example.kz/market/saved/unsubscribe/{search.unsubscribe_token}/"
    )
    assert unsubscribe in email.body
    search.refresh_from_db()
    assert search.last_sent_at is not None
    assert list(SavedSearchHit.objects.values_list("listing_id", flat=True)) == [new.pk]


def test_only_what_the_market_would_show_for_the_filters_is_sent(
    world, django_capture_on_commit_callbacks
):
    grain_search(world)
    wanted = listing(world)
    listing(world, material="slag")  # another material
    listing(world, tonnes="2")  # below the minimum
    listing(world, site="far")  # beyond 20 km
    listing(world, visibility="private")  # not on the market
    listing(world, status="draft")
    factories.SupplyListingFactory(  # the searcher's own: not on its market
        organization=world["a"], site=world["site_a"], material=world["grain"], tonnes=50
    )

    run(django_capture_on_commit_callbacks)

    (digest,) = digests(world["searcher"])
    assert [i["url"] for i in digest.params["searches"][0]["listings"]] == [
        f"/market/supply/{wanted.pk}/"
    ]


def test_an_anonymous_listing_does_not_name_its_owner(world, django_capture_on_commit_callbacks):
    grain_search(world)
    hidden = listing(world, visibility="anonymous")

    run(django_capture_on_commit_callbacks)

    (digest,) = digests(world["searcher"])
    (item,) = digest.params["searches"][0]["listings"]
    assert item["owner"] is None
    assert item["url"] == f"/market/supply/{hidden.pk}/"
    (email,) = mail.outbox
    for text in (str(digest.params), email.subject, email.body):
        assert OWNER_NAME not in text
        assert OWNER_SITE not in text
    assert "anonymous" in email.body
    assert "Bostandyk" in email.body  # the district, as the market shows it


def test_a_second_run_sends_nothing(world, django_capture_on_commit_callbacks):
    grain_search(world)
    listing(world)
    run(django_capture_on_commit_callbacks)
    mail.outbox.clear()

    result = run(django_capture_on_commit_callbacks)

    assert result == {"users": 0, "listings": 0}
    assert len(digests(world["searcher"])) == 1
    assert mail.outbox == []
    # A listing published after the first run is sent the next time, alone.
    later = listing(world)
    run(django_capture_on_commit_callbacks)
    newest = digests(world["searcher"])[0]
    assert [i["url"] for i in newest.params["searches"][0]["listings"]] == [
        f"/market/supply/{later.pk}/"
    ]


def test_a_listing_drafted_before_and_published_after_a_run_is_sent_once(
    world, django_capture_on_commit_callbacks
):
    grain_search(world)
    draft = listing(world, status="draft")
    run(django_capture_on_commit_callbacks)
    assert digests(world["searcher"]) == []

    draft.status = "active"
    draft.save()
    run(django_capture_on_commit_callbacks)
    run(django_capture_on_commit_callbacks)

    (digest,) = digests(world["searcher"])
    assert digest.url == f"/market/supply/{draft.pk}/"


def test_nothing_listed_before_the_search_was_saved_is_sent(
    world, django_capture_on_commit_callbacks
):
    listing(world)
    grain_search(world)
    run(django_capture_on_commit_callbacks)
    assert digests(world["searcher"]) == []


def test_a_paused_search_sends_nothing_and_resumed_not_the_pause(
    world, django_capture_on_commit_callbacks
):
    search = grain_search(world)
    saved_searches.saved_search_set_active(search=search, active=False)
    listing(world)

    assert run(django_capture_on_commit_callbacks) == {"users": 0, "listings": 0}
    assert digests(world["searcher"]) == []

    saved_searches.saved_search_set_active(
        search=search, active=True, now=timezone.now() + timedelta(seconds=1)
    )
    run(django_capture_on_commit_callbacks)
    assert digests(world["searcher"]) == []
    assert mail.outbox == []


def test_one_digest_per_user_for_all_their_searches(world, django_capture_on_commit_callbacks):
    grain_search(world)
    save(world, name="Any slag", kind="supply", material=world["slag"].pk)
    listing(world)
    listing(world, site="far", material="slag")
    listing(world, site="far", material="slag")

    run(django_capture_on_commit_callbacks)

    (digest,) = digests(world["searcher"])
    assert digest.params["count"] == 3
    assert [s["name"] for s in digest.params["searches"]] == ["Grain near me", "Any slag"]
    assert digest.url == "/market/saved/"
    assert len(mail.outbox) == 1


def test_the_digest_is_written_in_the_users_language(world, django_capture_on_commit_callbacks):
    world["searcher"].language = "ru"
    world["searcher"].save()
    grain_search(world)
    listing(world, recurrence="year")

    run(django_capture_on_commit_callbacks)

    (email,) = mail.outbox
    assert "Пивная дробина" in email.body
    assert "Brewery spent grain" not in email.body
    assert "50,0\u00a0т в год" in email.body
    assert "Бостандыкский" in email.body


def test_a_search_whose_site_is_no_longer_the_users_sends_nothing(
    world, django_capture_on_commit_callbacks
):
    search = grain_search(world)
    # The searcher leaves A: the site filter no longer holds; nothing rather than all.
    world["searcher"].memberships.all().delete()
    other = factories.OrganizationFactory(name="New employer")
    factories.MembershipFactory(organization=other, user=world["searcher"])
    listing(world)

    run(django_capture_on_commit_callbacks)

    assert digests(world["searcher"]) == []
    assert SavedSearch.objects.get(pk=search.pk).last_sent_at is None


def test_a_city_analyst_gets_no_digest(world, django_capture_on_commit_callbacks):
    analyst = factories.UserFactory(email="analyst@example.kz")
    analyst.groups.add(Group.objects.get_or_create(name=CITY_ANALYST_GROUP)[0])
    SavedSearch.objects.create(user=analyst, name="x", query={}, new_since=timezone.now())
    listing(world)

    run(django_capture_on_commit_callbacks)

    assert digests(analyst) == []


def test_unsubscribing_stops_that_search_only(world, django_capture_on_commit_callbacks):
    first = grain_search(world)
    second = save(world, name="Everything")

    assert saved_searches.saved_search_unsubscribe(token=second.unsubscribe_token) == second
    assert saved_searches.saved_search_unsubscribe(token="not-a-token") is None

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.active and not second.active


def test_a_name_is_required_and_bounded(world):
    with pytest.raises(saved_searches.SavedSearchError):
        save(world, name="   ")
    with pytest.raises(saved_searches.SavedSearchError):
        save(world, name="x" * 121)
    assert save(world, name="  Grain   near  ").name == "Grain near"


def test_the_daily_digest_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["saved-search-digests"]
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {settings.SAVED_SEARCH_DIGEST_HOUR}
    assert entry["schedule"].minute == {0}
