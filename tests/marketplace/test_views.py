"""Deal pages: who may open them, what they show, htmx and plain-form answers."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from marketplace import services
from marketplace.models import Deal, Delivery

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def deal(make_deal):
    return make_deal("offered", transport_by="supplier")


@pytest.fixture
def delivery(make_deal, actors):
    # 20 t a month: the 12.5 t load is plausible, not held for review.
    active = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("20"))
    return services.delivery_log(
        user=actors["supplier"],
        deal=active,
        date=date(2026, 3, 2),
        tonnes=Decimal("12.5"),
        ticket_number="WB-1",
        vehicle="A123BC",
    )


def pages(deal, delivery, market):
    """Every page: (name, method, url, data)."""
    return [
        ("deal-list", "get", reverse("marketplace:deal-list"), None),
        ("deal-detail", "get", reverse("marketplace:deal-detail", args=[deal.pk]), None),
        ("deal-new", "get", reverse("marketplace:deal-new") + f"?supply={market.supply.pk}", None),
        (
            "deal-terms",
            "post",
            reverse("marketplace:deal-terms", args=[deal.pk]),
            {"terms-tonnes_per_period": "9"},
        ),
        (
            "deal-transition",
            "post",
            reverse("marketplace:deal-transition", args=[deal.pk, "accept"]),
            {"accept-terms_version": "1"},
        ),
        (
            "delivery-log",
            "post",
            reverse("marketplace:delivery-log", args=[delivery.deal_id]),
            {"delivery-tonnes": "1"},
        ),
        (
            "message-post",
            "post",
            reverse("marketplace:message-post", args=[deal.pk]),
            {"message-body": "hi"},
        ),
        (
            "delivery-confirm",
            "post",
            reverse("marketplace:delivery-confirm", args=[delivery.pk]),
            {},
        ),
        (
            "delivery-dispute",
            "post",
            reverse("marketplace:delivery-dispute", args=[delivery.pk]),
            {f"dispute-{delivery.pk}-reason": "wet"},
        ),
        (
            "delivery-release",
            "post",
            reverse("marketplace:delivery-release", args=[delivery.pk]),
            {},
        ),
        (
            "delivery-reject",
            "post",
            reverse("marketplace:delivery-reject", args=[delivery.pk]),
            {f"reject-{delivery.pk}-reason": "wrong"},
        ),
        (
            "delivery-correct",
            "post",
            reverse("marketplace:delivery-correct", args=[delivery.pk]),
            {f"correct-{delivery.pk}-reason": "typo", f"correct-{delivery.pk}-tonnes": "2"},
        ),
        ("delivery-review", "get", reverse("marketplace:delivery-review"), None),
        (
            "delivery-detail",
            "get",
            reverse("marketplace:delivery-detail", args=[delivery.pk]),
            None,
        ),
        ("delivery-note", "get", reverse("marketplace:delivery-note", args=[delivery.pk]), None),
        (
            "delivery-note-pdf",
            "get",
            reverse("marketplace:delivery-note-pdf", args=[delivery.pk]),
            None,
        ),
        (
            "movement-export",
            "get",
            reverse("marketplace:movement-export"),
            {"from": "2026-01-01", "until": "2026-12-31", "format": "csv"},
        ),
        (
            "delivery-movement",
            "get",
            reverse("marketplace:delivery-movement", args=[delivery.pk]),
            None,
        ),
    ]


PAGE_NAMES = [
    "deal-list",
    "deal-detail",
    "deal-new",
    "deal-terms",
    "deal-transition",
    "delivery-log",
    "message-post",
    "delivery-confirm",
    "delivery-dispute",
    "delivery-release",
    "delivery-reject",
    "delivery-correct",
    "delivery-review",
    "delivery-detail",
    "delivery-note",
    "delivery-note-pdf",
    "movement-export",
    "delivery-movement",
]


def _page(name, deal, delivery, market):
    return next(p for p in pages(deal, delivery, market) if p[0] == name)


def test_every_marketplace_url_is_covered():
    from marketplace.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(PAGE_NAMES)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_anonymous_users_are_sent_to_log_in(client, name, deal, delivery, market):
    _, method, url, data = _page(name, deal, delivery, market)

    response = getattr(client, method)(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_city_analysts_get_403(client, analyst, name, deal, delivery, market):
    client.force_login(analyst)
    _, method, url, data = _page(name, deal, delivery, market)

    assert getattr(client, method)(url, data).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in PAGE_NAMES
        if n not in ("deal-list", "deal-new", "delivery-review", "movement-export")
    ],
)
def test_another_company_gets_404(client, member_c, name, deal, delivery, market):
    client.force_login(member_c)
    _, method, url, data = _page(name, deal, delivery, market)

    assert getattr(client, method)(url, data).status_code == 404
    assert Deal.objects.get(pk=deal.pk).state == "offered"
    assert Delivery.objects.get(pk=delivery.pk).status == "logged"


def test_another_company_lists_none_of_their_deals(client, member_c, deal):
    client.force_login(member_c)

    response = client.get(reverse("marketplace:deal-list"))

    assert response.status_code == 200
    assert f"#{deal.pk} " not in response.content.decode()


def test_the_other_party_does_not_see_a_draft(client, member_b, make_deal):
    draft = make_deal("draft")
    client.force_login(member_b)

    assert client.get(reverse("marketplace:deal-detail", args=[draft.pk])).status_code == 404


def test_my_deals_are_grouped_by_state(client, member_a, make_deal):
    offered = make_deal("offered")
    active = make_deal("active")
    client.force_login(member_a)

    html = client.get(reverse("marketplace:deal-list")).content.decode()

    assert 'id="state-offered"' in html and 'id="state-active"' in html
    assert html.index('id="state-offered"') < html.index('id="state-active"')
    assert reverse("marketplace:deal-detail", args=[offered.pk]) in html
    assert reverse("marketplace:deal-detail", args=[active.pk]) in html


def _buttons(html: str) -> set[str]:
    return set(re.findall(r'/deals/\d+/([a-z_]+)/"', html))


def test_actions_shown_are_the_allowed_ones(client, actors, deal):
    client.force_login(actors["receiver"])
    html = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()
    assert _buttons(html) == {"terms", "accept", "decline", "cancel", "messages"}

    client.force_login(actors["facilitator"])
    html = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()
    assert _buttons(html) == {"cancel", "messages"}


def test_the_deal_page_shows_terms_timeline_deliveries_messages_and_impact(
    client, actors, delivery
):
    services.delivery_confirm(user=actors["receiver"], delivery=delivery)
    services.message_post(user=actors["receiver"], deal=delivery.deal, body="Arrived dry.")
    client.force_login(actors["supplier"])

    html = client.get(reverse("marketplace:deal-detail", args=[delivery.deal_id])).content.decode()

    for section in ("terms", "impact", "deliveries", "messages", "timeline"):
        assert f'id="{section}"' in html
    assert "12.5\u00a0t" in html  # confirmed tonnes, never "1.25E+1"
    assert "Arrived dry." in html
    # The history in words, never its codes.
    assert "Delivery confirmed" in html
    assert "delivery_confirmed" not in html and "active → " not in html
    # 12.5 t x (500 + 100) - 12.5 t x 8.94 km x 0.1: tests/marketplace/test_impact.py
    assert "7,489\u00a0kg" in html  # grouped (symbiosis.numbers), the unit never wrapped
    assert 'name="viewport"' in html  # usable on a phone


def test_every_form_keeps_action_beside_hx_post(client, actors, deal):
    client.force_login(actors["receiver"])
    html = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()

    forms = re.findall(r"<form[^>]*>", html)
    deal_forms = [f for f in forms if "/deals/" in f]
    assert deal_forms
    for form in deal_forms:
        action = re.search(r'action="([^"]+)"', form).group(1)
        assert f'hx-post="{action}"' in form
        assert 'method="post"' in form


def test_accepting_without_htmx_redirects_to_the_deal(client, actors, deal):
    client.force_login(actors["receiver"])

    response = client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "accept"]),
        {"accept-terms_version": "1"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("marketplace:deal-detail", args=[deal.pk])
    assert Deal.objects.get(pk=deal.pk).receiver_accepted_at is not None


def test_accepting_with_htmx_answers_the_deal_partial(client, actors, deal):
    client.force_login(actors["receiver"])

    response = client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "accept"]),
        {"accept-terms_version": "1"},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="deal"')
    assert "<html" not in html
    assert "not yet" in html  # the supplier has not accepted yet


def test_an_htmx_answer_brings_the_menu_counts_up_to_date(client, actors, make_deal):
    from django.utils import timezone

    waiting = make_deal("offered", supplier_accepted_at=timezone.now())  # B's answer awaited
    client.force_login(actors["receiver"])
    page = reverse("marketplace:deal-detail", args=[waiting.pk])
    assert 'Deals <span class="count">1<' in client.get(page).content.decode()

    response = client.post(
        reverse("marketplace:deal-transition", args=[waiting.pk, "accept"]),
        {"accept-terms_version": "1"},
        HTTP_HX_CURRENT_URL=f"http://testserver{page}",
        **HTMX,
    )

    html = response.content.decode()
    assert Deal.objects.get(pk=waiting.pk).state == "accepted"
    # The menu comes along out of band, without the count of what no longer waits,
    # and its language switch returns to the page, not to the action's URL.
    menu = html.split('<nav id="topnav" hx-swap-oob="true">')[1].split("</nav>")[0]
    assert 'data-nav="deals">Deals</a>' in menu
    assert f'name="next" type="hidden" value="{page}"' in menu


def test_errors_are_shown_inline_with_status_200(client, actors, deal):
    client.force_login(actors["receiver"])
    url = reverse("marketplace:deal-transition", args=[deal.pk, "decline"])

    response = client.post(url, {"decline-reason": ""}, **HTMX)

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).state == "offered"


def test_a_stale_acceptance_is_refused_inline(client, actors, deal):
    services.deal_update_terms(user=actors["supplier"], deal=deal, tonnes_per_period=11)
    client.force_login(actors["receiver"])

    response = client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "accept"]),
        {"accept-terms_version": "1"},
    )

    assert response.status_code == 200
    assert "The terms changed" in response.content.decode()


def test_a_forbidden_step_is_403(client, actors, deal):
    client.force_login(actors["facilitator"])

    response = client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "accept"]),
        {"accept-terms_version": "1"},
    )

    assert response.status_code == 403


def test_an_unknown_step_is_404(client, actors, deal):
    client.force_login(actors["receiver"])

    response = client.post(reverse("marketplace:deal-transition", args=[deal.pk, "approve"]))

    assert response.status_code == 404


def test_changing_terms_from_the_page(client, actors, deal):
    client.force_login(actors["receiver"])
    data = {
        "terms-tonnes_per_period": "8",
        "terms-period": "month",
        "terms-price_kzt_per_t": "-500",
        "terms-transport_by": "supplier",
        "terms-start_date": "2026-01-01",
        "terms-end_date": "2026-12-31",
    }

    response = client.post(reverse("marketplace:deal-terms", args=[deal.pk]), data, **HTMX)

    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.tonnes_per_period, deal.terms_version) == (Decimal("8"), 2)


def test_terms_beyond_the_listing_are_refused_inline(client, actors, deal):
    client.force_login(actors["receiver"])
    data = {
        "terms-tonnes_per_period": "500",
        "terms-period": "month",
        "terms-price_kzt_per_t": "0",
        "terms-transport_by": "supplier",
        "terms-start_date": "2026-01-01",
        "terms-end_date": "2026-12-31",
    }

    response = client.post(reverse("marketplace:deal-terms", args=[deal.pk]), data, **HTMX)

    assert response.status_code == 200
    assert "offers only 100 t per month" in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).terms_version == 1


def test_log_confirm_and_dispute_from_the_page(client, actors, make_deal):
    active = make_deal("active", transport_by="supplier", tonnes_per_period=Decimal("20"))
    client.force_login(actors["supplier"])
    response = client.post(
        reverse("marketplace:delivery-log", args=[active.pk]),
        {
            "delivery-date": "2026-03-02",
            "delivery-tonnes": "12.5",
            "delivery-ticket_number": "WB-9",
            "delivery-vehicle": "A123BC",
        },
    )
    assert response.status_code == 302
    first = Delivery.objects.get(ticket_number="WB-9")
    services.delivery_log(
        user=actors["supplier"], deal=active, date=date(2026, 3, 3), tonnes=2, ticket_number="W2"
    )
    second = Delivery.objects.get(ticket_number="W2")

    client.force_login(actors["receiver"])
    assert client.post(reverse("marketplace:delivery-confirm", args=[first.pk])).status_code == 302
    response = client.post(
        reverse("marketplace:delivery-dispute", args=[second.pk]),
        {f"dispute-{second.pk}-reason": ""},
        **HTMX,
    )
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    response = client.post(
        reverse("marketplace:delivery-dispute", args=[second.pk]),
        {f"dispute-{second.pk}-reason": "half of it was plastic"},
        **HTMX,
    )
    assert response.status_code == 200
    assert [d.status for d in Delivery.objects.order_by("pk")] == ["confirmed", "disputed"]
    assert "half of it was plastic" in response.content.decode()


def test_a_bad_delivery_is_refused_inline(client, actors, make_deal):
    active = make_deal("active", transport_by="supplier")
    client.force_login(actors["supplier"])

    response = client.post(
        reverse("marketplace:delivery-log", args=[active.pk]),
        {"delivery-date": "2025-01-01", "delivery-tonnes": "3", "delivery-ticket_number": "X"},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Deliveries on this deal are logged from 2026-01-01" in response.content.decode()
    assert not Delivery.objects.exists()


def test_posting_a_message_mails_the_other_party(
    client, actors, deal, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(actors["supplier"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("marketplace:message-post", args=[deal.pk]), {"message-body": "Monday?"}
        )

    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[actors["receiver"].email]]


def test_the_waste_transfer_note_has_what_a_note_needs(client, actors, delivery, market):
    client.force_login(actors["receiver"])

    response = client.get(reverse("marketplace:delivery-note", args=[delivery.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        market.company_a.name,
        market.company_b.name,
        market.company_a.bin,
        market.company_b.bin,
        "Brewery spent grain",
        "02 07 04",
        "12.5\u00a0t",
        "WB-1",
        "A123BC",
        "signature",
        "@media print",
    ):
        assert text in html or text in _stylesheet(), text


def _stylesheet() -> str:
    from django.contrib.staticfiles import finders

    return open(finders.find("marketplace/marketplace.css")).read()


# --- offering a deal from a listing ---------------------------------------------------


def _offer_data(market, **extra):
    data = {
        "deal-demand": market.demand.pk,
        "deal-tonnes_per_period": "30",
        "deal-period": "month",
        "deal-price_kzt_per_t": "-500",
        "deal-transport_by": "receiver",
        "deal-start_date": "2027-01-01",
        "deal-end_date": "2027-06-30",
        "deal-note": "We collect on Mondays.",
        "send": "offer",
    }
    data.update(extra)
    return data


def test_a_company_offers_a_deal_from_a_public_listing(client, member_b, market, member_a):
    client.force_login(member_b)
    url = reverse("marketplace:deal-new") + f"?supply={market.supply.pk}"

    page = client.get(url)
    assert page.status_code == 200
    assert 'name="deal-tonnes_per_period"' in page.content.decode()

    response = client.post(url, _offer_data(market))

    deal = Deal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("marketplace:deal-detail", args=[deal.pk])
    assert (deal.state, deal.initiator, deal.receiver) == ("offered", "receiver", market.company_b)
    assert deal.events.last().note == "We collect on Mondays."


def test_offering_with_htmx_redirects_the_client(client, member_b, market):
    client.force_login(member_b)
    url = reverse("marketplace:deal-new") + f"?supply={market.supply.pk}"

    response = client.post(url, _offer_data(market, send="draft"), **HTMX)

    deal = Deal.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("marketplace:deal-detail", args=[deal.pk])
    assert deal.state == "draft"


def test_an_offer_with_errors_re_renders_the_form(client, member_b, market):
    client.force_login(member_b)
    url = reverse("marketplace:deal-new") + f"?supply={market.supply.pk}"

    response = client.post(url, _offer_data(market, **{"deal-period": "once"}), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="deal-form"')
    assert "recurring flow" in html
    assert not Deal.objects.exists()


def test_an_offer_failing_at_send_leaves_no_draft(client, member_b, market):
    market.supply.available_until = date(2027, 3, 31)
    market.supply.save()
    client.force_login(member_b)
    url = reverse("marketplace:deal-new") + f"?supply={market.supply.pk}"

    response = client.post(url, _offer_data(market))

    assert response.status_code == 200
    assert "available until" in response.content.decode()
    assert not Deal.objects.exists()


@pytest.mark.parametrize("visibility", ["private", "draft"])
def test_unpublished_listings_cannot_be_offered_on(client, member_b, market, visibility):
    if visibility == "draft":
        market.supply.status = "draft"
    else:
        market.supply.visibility = "private"
    market.supply.save()
    client.force_login(member_b)

    response = client.get(reverse("marketplace:deal-new") + f"?supply={market.supply.pk}")

    assert response.status_code == 404


def test_an_anonymous_listing_points_to_a_facilitator(client, member_b, market):
    market.supply.visibility = "anonymous"
    market.supply.save()
    client.force_login(member_b)
    url = reverse("marketplace:deal-new") + f"?supply={market.supply.pk}"

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "facilitator" in html and '<form id="deal-form"' not in html
    assert market.company_a.name not in html
    assert client.post(url, _offer_data(market)).status_code == 403


def test_the_supplier_sees_no_offer_form_on_its_own_listing(client, member_a, market):
    client.force_login(member_a)

    page = client.get(reverse("marketplace:deal-new") + f"?supply={market.supply.pk}")

    assert page.status_code == 200
    assert "your own listing" in page.content.decode()


def test_the_waste_transfer_note_comes_as_a_pdf_too(client, actors, delivery):
    client.force_login(actors["supplier"])

    response = client.get(reverse("marketplace:delivery-note-pdf", args=[delivery.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content)  # a FileResponse streams
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    assert f"transfer-note-{delivery.ticket_number}.pdf" in response["Content-Disposition"]
    assert b"/Title" in body


def test_the_demand_choice_on_the_deal_form_reads_in_the_page_language(market):
    from marketplace.forms import _demand_label
    from marketplace.templatetags.marketplace_tags import plain_number

    tonnes = plain_number(market.demand.tonnes)
    with translation.override("en"):
        english = _demand_label(market.demand)
    with translation.override("ru"):
        russian = _demand_label(market.demand)
    assert english == f"{tonnes} t per month at Farm (#{market.demand.pk})"
    assert russian == f"{tonnes} т в месяц, площадка Farm (#{market.demand.pk})"
