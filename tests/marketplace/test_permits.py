"""Hazardous waste in the marketplace (issue 21): an offer cannot be accepted while
the receiver has no valid permit for the code, and a delivery dated when the
receiver holds none (its permit ended, or never was) is held for a facilitator."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace import plausibility, services
from tests import factories

pytestmark = pytest.mark.django_db

OIL = "13 02 05*"


@pytest.fixture
def hazardous(market, attachment_storage):
    """The market's material made hazardous under the national classifier."""
    market.grain.kz_code = OIL
    market.grain.kz_hazardous = True
    market.grain.save()
    return market


def _permit(market, **fields):
    return factories.WastePermitFactory(organization=market.company_b, **fields)


def test_the_receiver_cannot_accept_without_a_permit(hazardous, make_deal, actors):
    deal = make_deal("offered")
    assert "accept" not in services.allowed_actions(user=actors["receiver"], deal=deal)
    assert OIL in services.permit_refusals(deal)["accept"]
    with pytest.raises(ValidationError, match="no verified permit"):
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)
    deal.refresh_from_db()
    assert deal.receiver_accepted_at is None and deal.state == "offered"


def test_the_supplier_cannot_make_it_accepted_either(hazardous, make_deal, actors):
    deal = make_deal("offered", receiver_accepted_at=timezone.now())
    with pytest.raises(ValidationError):
        services.deal_accept(user=actors["supplier"], deal=deal, terms_version=1)


@pytest.mark.parametrize(
    "fields",
    [{"status": "pending"}, {"codes": ["13 02 08*"]}, {"valid_until": date(2025, 12, 31)}],
    ids=["pending", "other-code", "ended"],
)
def test_a_permit_that_does_not_count_changes_nothing(hazardous, make_deal, actors, fields):
    _permit(hazardous, **fields)
    deal = make_deal("offered")
    with pytest.raises(ValidationError):
        services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)


def test_a_verified_permit_lets_the_deal_be_accepted(hazardous, make_deal, actors):
    _permit(hazardous)
    deal = make_deal("offered")
    assert services.permit_refusals(deal) == {}
    services.deal_accept(user=actors["receiver"], deal=deal, terms_version=1)
    deal = services.deal_accept(user=actors["supplier"], deal=deal, terms_version=1)
    assert deal.state == "accepted"


def test_a_plain_material_needs_no_permit(market, make_deal, actors):
    deal = make_deal("offered")
    assert services.permit_refusals(deal) == {}
    assert "accept" in services.allowed_actions(user=actors["receiver"], deal=deal)


def test_the_api_answers_400_with_the_reason(hazardous, make_deal, actors, client_as):
    deal = make_deal("offered")
    response = client_as(actors["receiver"]).post(
        f"/api/v1/deals/{deal.pk}/accept/", {"terms_version": 1}, format="json"
    )
    assert response.status_code == 400
    assert OIL in str(response.json())
    body = client_as(actors["receiver"]).get(f"/api/v1/deals/{deal.pk}/").json()
    assert OIL in body["refused_for_a_date"]["accept"]


def test_the_deal_page_says_why(hazardous, make_deal, actors, client):
    deal = make_deal("offered")
    client.force_login(actors["receiver"])
    html = client.get(reverse("marketplace:deal-detail", args=[deal.pk])).content.decode()
    assert 'data-testid="permit-refusal"' in html and OIL in html
    # A POST from a page read earlier is refused with the same words, nothing changed.
    response = client.post(
        reverse("marketplace:deal-transition", args=[deal.pk, "accept"]),
        {"accept-terms_version": 1},
    )
    assert response.status_code in (200, 302)
    deal.refresh_from_db()
    assert deal.state == "offered" and deal.receiver_accepted_at is None


# --- deliveries ------------------------------------------------------------------------------


def _log(user, deal, day):
    return services.delivery_log(
        user=user, deal=deal, date=day, tonnes=Decimal("5"), ticket_number=f"WB-{day}", vehicle="X"
    )


def test_a_delivery_after_the_permit_ended_is_held_with_the_reason(hazardous, make_deal, actors):
    _permit(hazardous, valid_from=date(2025, 1, 1), valid_until=date(2026, 2, 28))
    deal = make_deal("active", tonnes_per_period=Decimal("20"))
    before = _log(actors["supplier"], deal, date(2026, 2, 10))
    assert before.status == "logged"
    after = _log(actors["supplier"], deal, date(2026, 3, 2))
    assert after.status == "held"
    assert after.held_reason == [
        {"code": "permit", "waste_code": OIL, "day": "2026-03-02", "expired_on": "2026-02-28"}
    ]
    assert "ended on 2026-02-28" in after.held_reason_text
    # It waits on the facilitators' "Deliveries to review" page, with the reason.
    review = reverse("marketplace:delivery-review")
    client = Client()
    client.force_login(actors["facilitator"])
    assert "ended on 2026-02-28" in client.get(review).content.decode()


def test_a_delivery_without_any_permit_is_held(hazardous, make_deal, actors):
    deal = make_deal("active", tonnes_per_period=Decimal("20"))
    delivery = _log(actors["receiver"], deal, date(2026, 3, 2))
    assert delivery.status == "held"
    assert "holds no verified permit" in delivery.held_reason_text


def test_the_permit_check_is_pure():
    day = date(2026, 3, 2)
    assert plausibility.permit_check(code=OIL, day=day, permitted=True, expired_on=None) == []
    [check] = plausibility.permit_check(code=OIL, day=day, permitted=False, expired_on=None)
    assert check["expired_on"] is None and plausibility.held_reason_text([check])
