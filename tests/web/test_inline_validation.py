"""Forms that help before they refuse (issue 17): each field is checked as the user
leaves it (htmx on change, one endpoint per form), in the words the submit uses.

Sign-up: the e-mail address's shape, the password's strength and match, the BIN's
check digit; never whether an address has an account (sign-up is non-enumerating,
tests/web/test_accounts.py). Listings: a moisture of 150 %, a negative distance,
an end date before the start, in human words and on the first submit; a negative
asking price is a gate fee, said in the form and on the listing's page.
"""

import html
import re

import pytest
from django.core import mail

from symbiosis.models import DemandListing, Organization, SignupRequest, SupplyListing, User
from tests import factories
from tests.factories import valid_bin
from tests.web.conftest import HTMX
from tests.web.test_listings import demand_data, supply_data

pytestmark = pytest.mark.django_db

PASSWORD = "Steppe-eagle-2027"


def text_of(response) -> str:
    """The answer's words, tags dropped and entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def slot(response, field: str) -> str:
    """What the page shows under ``field`` (its check slot), as words."""
    found = re.search(
        rf'<div class="inline-check" id="id_{field}_check"[^>]*>(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    assert found, f"no check slot for {field}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def signup_values(**overrides) -> dict:
    values = {
        "email": "aigerim@example.kz",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "organization_name": "Medeu Bakery",
        "bin": valid_bin(123456),
        "sector": "C",
        "kind": "company",
    }
    values.update(overrides)
    return values


def bad_check_digit() -> str:
    good = valid_bin(123456)
    return good[:11] + str((int(good[11]) + 1) % 10)


def check_signup(client, field, **values):
    return client.post(f"/accounts/signup/check/{field}/", signup_values(**values), **HTMX)


# --- sign-up: the inputs ask as they are left ------------------------------------------------


def test_the_sign_up_inputs_ask_the_check_when_left(client):
    page = client.get("/accounts/signup/").content.decode()
    for field in ("email", "password1", "password2", "bin"):
        tag = re.search(rf'<input[^>]*id="id_{field}"[^>]*>', page).group(0)
        assert f'hx-post="/accounts/signup/check/{field}/"' in tag
        assert 'hx-trigger="change"' in tag
        assert f'hx-target="#id_{field}_check"' in tag
        assert f'id="id_{field}_check"' in page
    # Passwords stay in their fields across an htmx submit (never sent back by the server).
    for field in ("password1", "password2"):
        tag = re.search(rf'<input[^>]*id="id_{field}"[^>]*>', page).group(0)
        assert "hx-preserve" in tag
        assert "value=" not in tag


# --- sign-up: the BIN -------------------------------------------------------------------------


def test_a_wrong_bin_check_digit_is_said_before_the_submit(client):
    response = check_signup(client, "bin", bin=bad_check_digit())
    assert response.status_code == 200
    assert "This BIN fails its check digit; please check for a typo." in text_of(response)
    assert 'id="id_bin_error"' in response.content.decode()
    assert "A BIN has exactly 12 digits." in text_of(check_signup(client, "bin", bin="12345"))
    # Nothing is made, sent or kept by a check.
    assert not SignupRequest.objects.exists()
    assert not User.objects.exists()
    assert not mail.outbox


def test_a_good_bin_is_confirmed(client):
    response = check_signup(client, "bin", bin=valid_bin(4242))
    assert "A valid BIN." in text_of(response)
    assert "errorlist" not in response.content.decode()


def test_a_registered_bin_is_said_as_the_submit_says_it(client, company_b):
    inline = text_of(check_signup(client, "bin", bin=company_b.bin))
    submitted = client.post("/accounts/signup/", signup_values(bin=company_b.bin), **HTMX)
    assert "already exists" in inline
    assert "already exists" in slot(submitted, "bin")


# --- sign-up: the e-mail address, never telling whether it has an account --------------------


def test_a_malformed_address_is_said_on_leaving_the_field(client):
    assert "Enter a valid email address." in text_of(
        check_signup(client, "email", email="aigerim@")
    )


def test_the_address_check_answers_alike_for_a_known_and_a_new_address(client, member_a):
    known = check_signup(client, "email", email=member_a.email.upper())
    new = check_signup(client, "email", email="nobody-yet@example.kz")
    assert known.status_code == new.status_code == 200
    assert known.content == new.content
    assert "account" not in known.content.decode().lower()
    assert not mail.outbox  # the owner of the address is not written to either


# --- sign-up: the password ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password", "too common"),
        ("Ab3-xy", "too short"),
        ("40817263549", "entirely numeric"),
        ("aigerim-example", "too similar"),
    ],
)
def test_a_weak_password_is_said_on_leaving_the_field(client, password, message):
    response = check_signup(client, "password1", password1=password, password2="")
    assert message in text_of(response)
    assert "Strong enough." not in text_of(response)


def test_a_strong_password_is_confirmed(client):
    response = check_signup(client, "password1", password2="")
    assert "Strong enough." in text_of(response)
    assert "errorlist" not in response.content.decode()


def test_the_second_password_says_whether_they_match(client):
    differ = check_signup(client, "password2", password2="Steppe-eagle-2028")
    assert "The two passwords differ." in text_of(differ)
    assert "The passwords match." in text_of(check_signup(client, "password2"))


def test_changing_the_first_password_checks_the_second_again(client):
    response = check_signup(client, "password1", password1="Other-steppe-eagle-9")
    content = response.content.decode()
    assert "Strong enough." in content.split('id="id_password2_check"')[0]
    assert 'id="id_password2_check" hx-swap-oob="true"' in content
    assert "The two passwords differ." in slot(response, "password2")


def test_changing_the_address_checks_the_password_against_it(client):
    response = check_signup(
        client, "email", email="aigerim-example@example.kz", password1="aigerim-example"
    )
    assert "too similar" in slot(response, "password1")


@pytest.mark.parametrize("field", ["organization_name", "sector", "nothing"])
def test_only_the_checked_fields_have_a_check(client, field):
    assert client.post(f"/accounts/signup/check/{field}/", signup_values()).status_code == 404


def test_the_sign_up_check_is_a_post(client):
    # A GET would put the password in the address (and the server's logs).
    assert client.get("/accounts/signup/check/password1/", {"password1": "x"}).status_code == 405


# --- sign-up: a failed submit keeps what it can -----------------------------------------------


def test_a_failed_plain_submit_keeps_the_rest_and_says_why_the_passwords_are_gone(client):
    response = client.post("/accounts/signup/", signup_values(bin=bad_check_digit()))
    page = response.content.decode()
    assert response.status_code == 200
    assert "check digit" in slot(response, "bin")
    assert 'value="aigerim@example.kz"' in page
    assert 'value="Medeu Bakery"' in page
    assert f'value="{bad_check_digit()}"' in page
    assert PASSWORD not in page
    note = re.search(r'<p class="form-note" id="passwords-again"[^>]*>(.*?)</p>', page, re.S)
    assert note and "type your password again" in note.group(1)
    assert not Organization.objects.exists()


def test_an_htmx_submit_leaves_the_passwords_in_place_so_no_note(client):
    response = client.post("/accounts/signup/", signup_values(bin=bad_check_digit()), **HTMX)
    page = response.content.decode()
    assert 'id="passwords-again"' not in page
    assert PASSWORD not in page
    tag = re.search(r'<input[^>]*id="id_password1"[^>]*>', page).group(0)
    assert "hx-preserve" in tag


def test_a_sign_up_without_passwords_typed_shows_no_note(client):
    response = client.post("/accounts/signup/", signup_values(password1="", password2=""))
    assert 'id="passwords-again"' not in response.content.decode()


# --- listings: the check endpoint ----------------------------------------------------------------


@pytest.fixture
def member(client_as, member_a, site_a, spent_grain):
    return client_as(member_a)


def check_listing(client, kind, field, **values):
    return client.get(f"/listings/{kind}/check/{field}/", values, **HTMX)


@pytest.mark.parametrize(
    ("kind", "field", "value", "message"),
    [
        ("supply", "moisture_percent", "150", "Moisture is a percentage: 0 to 100."),
        ("supply", "moisture_percent", "-1", "Moisture is a percentage: 0 to 100."),
        ("supply", "contamination_percent", "101", "Contamination is a percentage: 0 to 100."),
        ("demand", "max_moisture_percent", "150", "Moisture is a percentage: 0 to 100."),
        ("demand", "max_contamination_percent", "100.5", "Contamination is a percentage"),
        ("supply", "max_km", "-5", "A distance cannot be negative."),
        ("demand", "max_km", "-0.5", "A distance cannot be negative."),
        ("supply", "max_km", "0", "Give a distance above zero"),
        ("supply", "piece_mass_kg", "-2", "A mass cannot be negative."),
        ("demand", "min_lot_tonnes", "-3", "A minimum lot cannot be negative."),
        ("supply", "quantity", "0", "Give a quantity above zero."),
        ("supply", "price_kzt_per_t", "cheap", "Enter a number."),
    ],
)
def test_a_bad_number_is_said_in_human_words_on_leaving_it(member, kind, field, value, message):
    response = check_listing(member, kind, field, **{field: value})
    assert response.status_code == 200
    words = text_of(response)
    assert message in words
    assert "Ensure this value" not in words
    assert f'id="id_{field}_error"' in response.content.decode()


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("supply", "moisture_percent", "100"),
        ("supply", "moisture_percent", "0"),
        ("supply", "max_km", "12.5"),
        ("supply", "price_kzt_per_t", "-2000"),  # a gate fee: accepted
        ("demand", "max_price_kzt_per_t", "-500"),
        ("supply", "moisture_percent", ""),  # optional: left empty is fine
    ],
)
def test_a_good_number_clears_the_message(member, kind, field, value):
    response = check_listing(member, kind, field, **{field: value})
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_an_end_before_the_start_is_said_on_the_end_date(member):
    response = check_listing(
        member,
        "supply",
        "available_until",
        available_from="2026-06-01",
        available_until="2026-05-01",
    )
    assert "The end date is before the start date." in text_of(response)


def test_moving_the_start_checks_the_end_date_again(member):
    wrong = check_listing(
        member,
        "supply",
        "available_from",
        available_from="2026-06-01",
        available_until="2026-05-01",
    )
    assert 'id="id_available_until_check" hx-swap-oob="true"' in wrong.content.decode()
    assert "The end date is before the start date." in slot(wrong, "available_until")
    fixed = check_listing(
        member,
        "supply",
        "available_from",
        available_from="2026-04-01",
        available_until="2026-05-01",
    )
    assert slot(fixed, "available_until") == ""
    # No end date typed yet: nothing said about it.
    alone = check_listing(member, "supply", "available_from", available_from="2026-04-01")
    assert "available_until" not in alone.content.decode()


def test_the_listing_inputs_ask_the_check_when_left(member):
    page = member.get("/listings/supply/new/").content.decode()
    for field in ("moisture_percent", "max_km", "available_until", "price_kzt_per_t"):
        tag = re.search(rf'<input[^>]*id="id_{field}"[^>]*>', page).group(0)
        assert f'hx-get="/listings/supply/check/{field}/"' in tag
        assert f'hx-target="#id_{field}_check"' in tag
        assert f'id="id_{field}_check"' in page
    until = re.search(r'<input[^>]*id="id_available_until"[^>]*>', page).group(0)
    assert 'hx-include="#id_available_from"' in until
    moisture = re.search(r'<input[^>]*id="id_moisture_percent"[^>]*>', page).group(0)
    assert 'min="0"' in moisture and 'max="100"' in moisture
    demand = member.get("/listings/demand/new/").content.decode()
    assert 'hx-get="/listings/demand/check/max_moisture_percent/"' in demand


# --- listings: the first submit says it all, in the same words --------------------------------


def test_the_first_submit_flags_every_bad_field_at_once(member, site_a, spent_grain):
    data = supply_data(
        site_a,
        spent_grain,
        {"material": ""},  # a missing field used to hide the rest until the second submit
        moisture_percent="150",
        max_km="-5",
        available_from="2026-06-01",
        available_until="2026-05-01",
    )
    response = member.post("/listings/supply/new/", data, **HTMX)
    assert response.status_code == 200
    assert "Moisture is a percentage: 0 to 100." in slot(response, "moisture_percent")
    assert slot(response, "max_km") == "A distance cannot be negative."
    assert "The end date is before the start date." in slot(response, "available_until")
    assert "Ensure this value" not in text_of(response)
    assert not SupplyListing.objects.exists()


def test_a_demand_with_a_bad_moisture_is_flagged_on_the_first_submit(member, site_a, spent_grain):
    data = demand_data(site_a, [spent_grain], max_moisture_percent="150", min_lot_tonnes="-1")
    response = member.post("/listings/demand/new/", data)
    assert response.status_code == 200
    assert "Moisture is a percentage: 0 to 100." in slot(response, "max_moisture_percent")
    assert "A minimum lot cannot be negative." in slot(response, "min_lot_tonnes")
    assert not DemandListing.objects.exists()


# --- listings: a negative price is a gate fee, said in the form and on the listing ------------


def test_the_price_help_says_a_negative_price_is_a_gate_fee(member):
    supply = text_of(member.get("/listings/supply/new/"))
    assert "Negative if you pay the receiver to take it (a gate fee)" in supply
    demand = text_of(member.get("/listings/demand/new/"))
    assert "Negative if you take it only when paid (a gate fee)" in demand


def test_a_supply_with_a_negative_price_is_saved_and_shown_as_a_gate_fee(
    member, client_as, member_b, site_a, spent_grain
):
    data = supply_data(site_a, spent_grain, price_kzt_per_t="-2000", visibility="public")
    response = member.post("/listings/supply/new/", data)
    assert response.status_code == 302
    supply = SupplyListing.objects.get()
    assert supply.price_kzt_per_t == -2000
    page = client_as(member_b).get(f"/market/supply/{supply.pk}/")
    assert page.status_code == 200
    shown = re.search(r'<dd data-testid="price">(.*?)</dd>', page.content.decode(), re.S)
    assert shown, "the price is not shown"
    assert text_of_html(shown.group(1)) == (
        "Gate fee: the supplier pays whoever takes it 2,000 KZT per tonne"
    )


def test_a_positive_price_is_shown_as_a_price(client_as, member_b, company_a, site_a, spent_grain):
    supply = factories.SupplyListingFactory(
        organization=company_a, site=site_a, material=spent_grain, price_kzt_per_t=1500
    )
    page = client_as(member_b).get(f"/market/supply/{supply.pk}/").content.decode()
    shown = re.search(r'<dd data-testid="price">(.*?)</dd>', page, re.S)
    assert shown and text_of_html(shown.group(1)) == "1,500"


def test_a_demand_with_a_negative_maximum_price_reads_as_a_gate_fee(
    client_as, member_b, company_a, site_a, spent_grain
):
    demand = factories.DemandListingFactory(
        organization=company_a, site=site_a, materials=[spent_grain], max_price_kzt_per_t=-500
    )
    page = client_as(member_b).get(f"/market/demand/{demand.pk}/").content.decode()
    shown = re.search(r'<dd data-testid="max-price">(.*?)</dd>', page, re.S)
    assert shown
    assert "only if the supplier pays at least 500 KZT per tonne" in text_of_html(shown.group(1))


def text_of_html(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# --- listings: who may ask ---------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/listings/supply/check/max_km/", {"max_km": "-1"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["facilitator", "analyst"])
def test_staff_without_membership_get_no_check(client_as, request, who):
    user = request.getfixturevalue(who)
    assert client_as(user).get("/listings/supply/check/max_km/").status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/listings/supply/check/site/",  # not a checked field
        "/listings/supply/check/max_moisture_percent/",  # a demand's field
        "/listings/demand/check/moisture_percent/",  # a supply's field
        "/listings/supply/check/nothing/",
    ],
)
def test_only_the_kinds_checked_fields_have_a_check(member, url):
    assert member.get(url).status_code == 404


def test_the_listing_check_writes_nothing(member):
    check_listing(member, "supply", "max_km", max_km="-1")
    assert member.post("/listings/supply/check/max_km/", {"max_km": "1"}).status_code == 405
    assert not SupplyListing.objects.exists()
