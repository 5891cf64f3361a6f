"""The current fate on the pages: the supply form takes it with its evidence and warns of
a banned disposal; facilitators verify or downgrade it on /listings/fates/, with a reason
the company then reads on its workspace and its listing's page; residues of imported
origin carry their legal warning on the market."""

from decimal import Decimal

import pytest

from symbiosis.models import FateReview, SupplyListing
from tests import factories
from tests.web.conftest import HTMX
from tests.web.test_listings import supply_data

pytestmark = pytest.mark.django_db

LIST_URL = "/listings/fates/"


@pytest.fixture
def glass(db):
    return factories.MaterialFactory(
        slug="glass",
        name_en="Glass cullet",
        name_ru="Стеклобой",
        category="minerals",
        landfill_banned=True,
        landfill_ban_basis="Environmental Code of the Republic of Kazakhstan (2021)",
    )


@pytest.fixture
def supply_a(company_a, site_a, glass):
    return factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=glass,
        fate="landfill",
        fate_evidence="documented",
        fate_evidence_note="Receipts of 2026",
    )


def _decision(supply, **values):
    data = {"fate": "landfill", "fate_evidence": "verified", "reason": "Saw the receipts"}
    data.update(values)
    return {f"fate-{supply.pk}-{name}": value for name, value in data.items()}


# --- who may review ---------------------------------------------------------------------


def test_a_facilitator_lists_fates_with_filters(client_as, facilitator, supply_a, spent_grain):
    other = factories.SupplyListingFactory(material=spent_grain, fate="already_used")
    page = client_as(facilitator).get(LIST_URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert f'id="fate-{supply_a.pk}"' in text and f'id="fate-{other.pk}"' in text
    assert "Receipts of 2026" in text and "landfilling banned" in text
    # Landfill first: the glass before the spent grain already used.
    assert text.index(f'id="fate-{supply_a.pk}"') < text.index(f'id="fate-{other.pk}"')
    only = client_as(facilitator).get(LIST_URL, {"fate": "already_used", "evidence": "declared"})
    assert f'id="fate-{other.pk}"' in only.content.decode()
    assert f'id="fate-{supply_a.pk}"' not in only.content.decode()
    # An unknown filter value is no filter, never an error.
    assert client_as(facilitator).get(LIST_URL, {"fate": "swamp", "page": "x"}).status_code == 200


def test_the_empty_list_says_so_and_offers_the_way_back(client_as, facilitator):
    text = client_as(facilitator).get(LIST_URL, {"evidence": "verified"}).content.decode()
    assert "No listing has this fate and evidence." in text
    assert f'href="{LIST_URL}"' in text


@pytest.mark.parametrize("who", ["member_a", "member_b", "analyst"])
def test_only_facilitators_open_the_review(request, client_as, who, supply_a):
    client = client_as(request.getfixturevalue(who))
    assert client.get(LIST_URL).status_code == 403
    response = client.post(f"{LIST_URL}{supply_a.pk}/", _decision(supply_a))
    assert response.status_code == 403
    supply_a.refresh_from_db()
    assert supply_a.fate_evidence == "documented" and not FateReview.objects.exists()


def test_a_logged_out_visitor_is_sent_to_log_in(client, supply_a):
    assert "/accounts/login/" in client.get(LIST_URL)["Location"]
    assert "/accounts/login/" in client.post(f"{LIST_URL}{supply_a.pk}/", {})["Location"]


# --- a decision ------------------------------------------------------------------------------


def test_a_decision_without_javascript(client_as, facilitator, supply_a):
    response = client_as(facilitator).post(f"{LIST_URL}{supply_a.pk}/", _decision(supply_a))
    assert response.status_code == 302
    assert response["Location"] == f"{LIST_URL}#fate-{supply_a.pk}"
    supply_a.refresh_from_db()
    assert supply_a.fate_evidence == "verified"
    review = FateReview.objects.get()
    assert (review.to_evidence, review.reason, review.by) == (
        "verified",
        "Saw the receipts",
        facilitator,
    )


def test_a_decision_with_htmx_swaps_the_row(client_as, facilitator, supply_a):
    data = _decision(supply_a, fate="already_used", fate_evidence="declared", reason="Resold")
    response = client_as(facilitator).post(f"{LIST_URL}{supply_a.pk}/", data, **HTMX)
    assert response.status_code == 200
    text = response.content.decode()
    assert text.lstrip().startswith("<li") and "<html" not in text
    assert "Decision recorded" in text and "Resold" in text
    supply_a.refresh_from_db()
    assert supply_a.fate == "already_used"


@pytest.mark.parametrize("htmx", [True, False])
def test_a_decision_without_a_reason_is_refused_inline(client_as, facilitator, supply_a, htmx):
    data = _decision(supply_a, reason="")
    response = client_as(facilitator).post(
        f"{LIST_URL}{supply_a.pk}/", data, **(HTMX if htmx else {})
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "errorlist" in text.split(f'id="field-fate-{supply_a.pk}-reason"', 1)[1]
    assert ("<html" in text) is not htmx
    supply_a.refresh_from_db()
    assert supply_a.fate_evidence == "documented" and not FateReview.objects.exists()


def test_a_decision_on_a_missing_listing_is_404(client_as, facilitator):
    assert client_as(facilitator).post(f"{LIST_URL}987654/", {}).status_code == 404


# --- what the company sees ---------------------------------------------------------------------


def test_the_company_reads_the_decision(client_as, facilitator, member_a, member_b, supply_a):
    client_as(facilitator).post(
        f"{LIST_URL}{supply_a.pk}/", _decision(supply_a, reason="Receipts checked on site")
    )
    client = client_as(member_a)
    workspace = client.get("/").content.decode()
    assert "Landfill · Verified by a facilitator" in workspace
    assert "Fate reviewed by a facilitator on" in workspace
    listing = client.get(f"/market/supply/{supply_a.pk}/").content.decode()
    assert 'id="fate-record"' in listing and "Receipts checked on site" in listing
    assert "Environmental Code of the Republic of Kazakhstan (2021)" in listing
    notice = client.get("/notifications/").content.decode()
    assert "a facilitator reviewed its current fate" in notice
    # Another company sees the listing (it is public), never the record.
    other = client_as(member_b).get(f"/market/supply/{supply_a.pk}/").content.decode()
    assert "Receipts checked on site" not in other and 'id="fate-record"' not in other


def test_the_workspace_says_the_fate_in_russian(client_as, member_a, supply_a):
    text = client_as(member_a).get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Полигон" in text and "Landfill ·" not in text


# --- the supply form --------------------------------------------------------------------------


def test_the_form_offers_declared_and_documented_only(client_as, member_a, site_a):
    text = client_as(member_a).get("/listings/supply/new/").content.decode()
    evidence = text.split('name="fate_evidence"', 1)[1].split("</select>", 1)[0]
    assert 'value="declared"' in evidence and 'value="documented"' in evidence
    assert 'value="verified"' not in evidence
    assert 'name="imported_origin"' in text and "Which rule applies has not been verified" in text


def test_the_form_refuses_a_company_s_verified_inline(client_as, member_a, site_a, glass):
    data = supply_data(site_a, glass, fate_evidence="verified")
    response = client_as(member_a).post("/listings/supply/new/", data, **HTMX)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode().split('id="field-fate_evidence"', 1)[1]
    assert not SupplyListing.objects.exists()


def test_the_form_saves_documented_evidence_and_imported_origin(
    client_as, member_a, site_a, spent_grain
):
    data = supply_data(
        site_a,
        spent_grain,
        fate="already_used",
        fate_evidence="documented",
        fate_evidence_note="Feed contract 2026",
        imported_origin="on",
    )
    assert client_as(member_a).post("/listings/supply/new/", data).status_code == 302
    supply = SupplyListing.objects.get()
    assert (supply.fate, supply.fate_evidence, supply.fate_evidence_note) == (
        "already_used",
        "documented",
        "Feed contract 2026",
    )
    assert supply.imported_origin


def test_a_verified_listing_keeps_its_verification_when_edited(
    client_as, member_a, supply_a, facilitator
):
    client_as(facilitator).post(f"{LIST_URL}{supply_a.pk}/", _decision(supply_a))
    client = client_as(member_a)
    form = client.get(f"/listings/supply/{supply_a.pk}/edit/").content.decode()
    assert 'value="verified" selected' in form.split('name="fate_evidence"', 1)[1]
    data = supply_data(supply_a.site, supply_a.material, fate_evidence="verified", quantity="90")
    assert client.post(f"/listings/supply/{supply_a.pk}/edit/", data).status_code == 302
    supply_a.refresh_from_db()
    assert (supply_a.quantity, supply_a.fate_evidence) == (Decimal("90"), "verified")


def test_the_form_warns_of_a_banned_disposal(client_as, member_a, site_a, glass, spent_grain):
    client = client_as(member_a)
    url = "/listings/supply/fate-warning/"
    warned = client.get(url, {"material": glass.pk, "fate": "landfill"}, **HTMX)
    assert warned.status_code == 200
    text = warned.content.decode()
    assert "Landfilling Glass cullet is banned in Kazakhstan" in text
    assert "Environmental Code of the Republic of Kazakhstan (2021)" in text
    for query in (
        {"material": glass.pk, "fate": "already_used"},
        {"material": spent_grain.pk, "fate": "landfill"},
        {"material": "x", "fate": "landfill"},
        {},
    ):
        assert "banned" not in client.get(url, query).content.decode()
    # The form itself says it when it opens or comes back with errors.
    data = supply_data(site_a, glass, quantity="")
    again = client.post("/listings/supply/new/", data, **HTMX).content.decode()
    assert 'data-testid="landfill-ban"' in again


# --- residues of imported origin ------------------------------------------------------------------


def test_an_imported_residue_carries_its_warning_even_when_anonymous(
    client_as, member_b, company_a, site_a
):
    cocoa = factories.MaterialFactory(slug="cocoa-shells", name_en="Cocoa bean shells")
    supply = factories.SupplyListingFactory(
        organization=company_a,
        site=site_a,
        material=cocoa,
        visibility="anonymous",
        imported_origin=True,
    )
    client = client_as(member_b)
    market = client.get("/market/").content.decode()
    row = market.split(f'id="market-supply-{supply.pk}"', 1)[1].split("</li>", 1)[0]
    assert "of imported origin" in row
    page = client.get(f"/market/supply/{supply.pk}/").content.decode()
    assert 'data-testid="imported-origin"' in page and "not verified" in page
    # The owner stays hidden, and so does its fate.
    assert "Company A" not in page and 'data-testid="fate"' not in page
