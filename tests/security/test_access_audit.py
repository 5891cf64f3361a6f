"""Access-control audit: every route x every role, and what anonymous listings reveal.

``ROWS`` is the permission table of the whole site: one row per route (URL
name) and HTTP method, with the answer each role gets. The routes come from
the URL resolver (walked through every include) and the API operations from
the OpenAPI schema generated in-process; ``test_every_route_has_a_row`` and
``test_every_schema_operation_has_a_row`` fail when either names something
the table does not, so a new page or endpoint cannot ship unclassified.

Roles: anonymous, an admin of company A (``member_a``), an admin of company B
(``member_b``), a facilitator (staff, view-only admin rights, no membership)
and a city analyst. The world (tests/security/conftest.py) is owned by A;
every answer to anonymous, B or the analyst is also searched for A's
identifying strings (name, BIN, contact, site name and address, coordinates,
private notes, the notes and prices of its anonymous listings, deal message,
weighbridge ticket), which none of them may ever see.

Expected answers: a status code, ``LOGIN`` (302 to the login page),
``ADMIN_LOGIN`` (302 to the admin's login page) or ``DENY`` (401 or 403:
DRF answers 403 to anonymous callers with session authentication first).
Tests run with DEBUG off (pytest-django's default), so error pages are the
production ones.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from dashboard import selectors as dashboard_selectors
from tests import factories
from tests.dbstate import writes_during
from tests.security.conftest import (
    ANONYMOUS_SUPPLY_MARKER,
    ANONYMOUS_SUPPLY_PRICE,
    ORG_A_NAME,
    ROLES,
    SITE_A_NAME,
    secrets_of_a,
)

pytestmark = pytest.mark.django_db

LOGIN = "login"
ADMIN_LOGIN = "admin-login"
DENY = "deny"
GET, POST, PUT, PATCH, DELETE = "GET", "POST", "PUT", "PATCH", "DELETE"
# Roles that must never see anything identifying A.
OUTSIDERS = ("anonymous", "member_b", "analyst")
# Admin routes are "staff only": classified by prefix, sampled by ADMIN_ROWS.
ADMIN_PREFIX = "admin/"
FACILITATOR_ADMIN_APPS = ("symbiosis", "marketplace", "optimizer")


@dataclass(frozen=True)
class Row:
    route: str  # URL name, with its namespace
    method: str
    expect: tuple  # answer per role, in ROLES order
    args: Callable | None = None  # world -> reverse() args
    query: str | Callable = ""  # appended to the URL; callable: world -> str
    data: Callable | dict | None = None  # form or JSON body; callable: world -> body
    api: bool = False  # JSON body and Accept
    multipart: bool = False  # with ``api``: the body as a multipart form (an upload)
    htmx: bool = False
    label: str = ""

    @property
    def id(self) -> str:
        return "-".join(filter(None, [self.route, self.label, self.method]))

    def url(self, w) -> str:
        path = reverse(self.route, args=self.args(w) if self.args else None)
        query = self.query(w) if callable(self.query) else self.query
        return path + query


def r(route, method, expect, **kwargs) -> Row:
    return Row(route, method, tuple(expect), **kwargs)


def a_supply(w):
    return ["supply", w.supply_private.pk]


def a_demand(w):
    return ["demand", w.demand_private.pk]


def an_import_of_a(w):
    """A failed listings import of A's, naming A's site (made in the test's transaction)."""
    from symbiosis.models import ListingImport

    listing_import, _created = ListingImport.objects.get_or_create(
        owner=w.member_a,
        organization=w.company_a,
        file_name=f"{SITE_A_NAME}.csv",
        defaults={"kind": "supply", "status": "failed", "error": f"No site {SITE_A_NAME}."},
    )
    return [listing_import.pk]


def a_notification_of_a(w):
    """A notification to A's admin about A's deal (made in the test's transaction)."""
    from symbiosis.models import Notification

    notification, _created = Notification.objects.get_or_create(
        recipient=w.member_a,
        kind="message",
        defaults={"params": {"deal": 1, "who": ORG_A_NAME, "body": SITE_A_NAME}, "url": "/deals/"},
    )
    return [notification.pk]


def _attachment_upload(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def a_photo_of_a(w, listing="supply_anonymous", *, thumbnail=False):
    """A photo of A's listing, uploaded under a name that names A (made in the test's
    transaction); with ``thumbnail`` its thumbnail made too."""
    from symbiosis import attachments
    from tests.attachment_files import picture

    listing = getattr(w, listing)
    photo = attachments.photo_add(
        user=w.member_a,
        listing=listing,
        upload=_attachment_upload(picture(gps=True), f"{ORG_A_NAME} {SITE_A_NAME}.jpg"),
    )
    if thumbnail:
        attachments.photo_thumbnail_make(photo_id=photo.pk)
    return [listing_kind_of(listing), listing.pk, photo.pk]


def a_document_of_a(w, listing="supply_anonymous"):
    """A lab analysis of A's listing whose uploaded name names A and its site."""
    from symbiosis import attachments
    from tests.attachment_files import PDF

    listing = getattr(w, listing)
    document = attachments.document_add(
        user=w.member_a,
        listing=listing,
        upload=_attachment_upload(PDF, f"{ORG_A_NAME} {SITE_A_NAME}.pdf"),
        kind="lab_analysis",
    )
    return [listing_kind_of(listing), listing.pk, document.pk]


def listing_kind_of(listing) -> str:
    from symbiosis.visibility import listing_kind

    return listing_kind(listing)


def a_new_photo(w):
    from tests.attachment_files import picture

    return {"photo": _attachment_upload(picture(), "yard.jpg")}


def a_new_document(w):
    from tests.attachment_files import PDF

    return {"kind": "certificate", "document": _attachment_upload(PDF, f"{ORG_A_NAME}.pdf")}


def a_legal_rule(w):
    """A legal rule's key (made in the test's transaction: another test may have
    flushed the rows migration 0013 loads)."""
    from symbiosis.models import LegalRule

    rule, _created = LegalRule.objects.get_or_create(
        key="landfill-ban", defaults={"title": "Landfill ban", "act": "Code"}
    )
    return [rule.key]


def a_permit_of_a(w):
    """A waste permit of A whose number names A (made once in the test's transaction)."""
    from symbiosis.models import WastePermit
    from tests import factories

    number = f"{ORG_A_NAME} permit"
    permit = WastePermit.objects.filter(organization=w.company_a, number=number).first()
    if permit is None:
        permit = factories.WastePermitFactory(
            organization=w.company_a, number=number, status="pending"
        )
    return [permit.pk]


def a_saved_search_of_a(w):
    """A saved search of A's admin (made in the test's transaction)."""
    from django.utils import timezone

    from symbiosis.models import SavedSearch

    search, _created = SavedSearch.objects.get_or_create(
        user=w.member_a,
        name="Grain alerts",
        defaults={"query": {"site": str(w.site_a.pk)}, "new_since": timezone.now()},
    )
    return search


def fate_decision(w, *, prefixed=True):
    """A facilitator's decision on A's private supply: verified, with a reason."""
    values = {"fate": "landfill", "fate_evidence": "verified", "reason": "Receipts seen"}
    if not prefixed:
        return values
    return {f"fate-{w.supply_private.pk}-{name}": value for name, value in values.items()}


def a_clearance_with_a_document(w):
    """A facilitator's clearance of A's supply's material, with a letter naming A."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from symbiosis.clearances import clearance_record
    from tests.attachment_files import PDF

    clearance = clearance_record(
        user=w.facilitator,
        material=w.material,
        outcome="cleared",
        basis="Customs letter",
        document=SimpleUploadedFile(f"{ORG_A_NAME}.pdf", PDF),
    )
    return [clearance.pk]


PERIOD = "?from=2000-01-01&until=2100-12-31"


# A tight box around A's site (43.187654, 76.876543) and one around its coarse cell's
# centre (43.175, 76.875), as "west,south,east,north".
A_SITE_BOX = "76.876,43.187,76.877,43.188"
A_CELL_BOX = "76.874,43.174,76.876,43.176"

#                anonymous  A      B      facilitator  analyst
EVERYONE = (200, 200, 200, 200, 200)
LOGGED_IN = (LOGIN, 200, 200, 200, 200)
MEMBERS = (LOGIN, 200, 200, 403, 403)
OWN_A = (LOGIN, 200, 404, 403, 403)  # A's row, through a members-only page
NOT_POST = (LOGIN, 405, 405, 405, 405)
MEMBERS_NOT = (LOGIN, 405, 405, 403, 403)
COMPANY_READERS = (LOGIN, 200, 200, 200, 403)
A_AND_FACILITATOR = (LOGIN, 200, 404, 200, 403)
FACILITATOR_ONLY = (LOGIN, 403, 403, 200, 403)
FACILITATOR_WRITE = (LOGIN, 403, 403, 302, 403)
CITY_READERS = (LOGIN, 403, 403, 200, 200)
API_READ = (DENY, 200, 200, 200, 200)
API_COMPANY_READ = (DENY, 200, 200, 200, 403)
API_A_READ = (DENY, 200, 404, 200, 403)
API_A_WRITE = (DENY, 200, 404, 403, 403)
API_NO_WRITE = (DENY, 405, 405, 405, 405)
API_CITY = (DENY, 403, 403, 200, 200)


# --- pages -------------------------------------------------------------------------------

PAGE_ROWS = [
    r("home", GET, EVERYONE),
    r("healthz", GET, EVERYONE),
    # Sign-up: logged-in users go home.
    r("signup", GET, (200, 302, 302, 302, 302)),
    r("signup", POST, (200, 302, 302, 302, 302), data={}),
    # A sign-up field's check on leaving it: anyone; a POST (passwords stay out of URLs).
    r("signup-check", POST, EVERYONE, args=lambda w: ["bin"], data={"bin": "12345"}),
    r("signup-check", POST, (404,) * 5, args=lambda w: ["sector"], label="unchecked", data={}),
    r("signup-check", GET, (405,) * 5, args=lambda w: ["password1"]),
    # A forged invitation token is gone for everyone.
    r("invitation-accept", GET, (410,) * 5, args=lambda w: ["forged-token"]),
    r("invitation-accept", POST, (410,) * 5, args=lambda w: ["forged-token"], data={}),
    # So is a forged sign-up confirmation link.
    r("signup-confirm", GET, (410,) * 5, args=lambda w: ["forged-token"]),
    r("signup-confirm", POST, (410,) * 5, args=lambda w: ["forged-token"], data={}),
    # The organization page is its members' only; the facilitator uses the admin site.
    r("organization", GET, (LOGIN, 200, 404, 404, 404), args=lambda w: [w.company_a.pk]),
    r("organization-edit", GET, NOT_POST, args=lambda w: [w.company_a.pk]),
    r(
        "organization-edit",
        POST,
        (LOGIN, 200, 404, 404, 404),
        args=lambda w: [w.company_a.pk],
        data={"name": ""},
    ),
    r("member-invite", GET, NOT_POST, args=lambda w: [w.company_a.pk]),
    r(
        "member-invite",
        POST,
        (LOGIN, 200, 404, 404, 404),
        args=lambda w: [w.company_a.pk],
        data={"email": "not-an-address"},
    ),
    r(
        "member-change",
        GET,
        NOT_POST,
        args=lambda w: [w.company_a.pk, w.plain_membership_a.pk],
    ),
    r(
        "member-change",
        POST,
        (LOGIN, 302, 404, 404, 404),
        args=lambda w: [w.company_a.pk, w.plain_membership_a.pk],
        data={"role": "member"},
    ),
    # A's pending invitation: withdrawn by A's administrators only.
    r(
        "invitation-revoke",
        GET,
        NOT_POST,
        args=lambda w: [w.company_a.pk, w.invitation_a.pk],
    ),
    r(
        "invitation-revoke",
        POST,
        (LOGIN, 302, 404, 404, 404),
        args=lambda w: [w.company_a.pk, w.invitation_a.pk],
        data={},
    ),
    # Listings: members of an organization write; only the owner opens its rows.
    r("listing-create", GET, MEMBERS, args=lambda w: ["supply"]),
    r("listing-create", POST, MEMBERS, args=lambda w: ["supply"], data={}),
    r("listing-create", GET, MEMBERS, args=lambda w: ["demand"], label="demand"),
    r("listing-edit", GET, OWN_A, args=a_supply),
    r("listing-edit", POST, OWN_A, args=a_supply, data={}),
    r("listing-edit", GET, OWN_A, args=a_demand, label="demand"),
    r("listing-edit", GET, OWN_A, args=lambda w: ["supply", w.supply_anonymous.pk], label="anon"),
    r("listing-duplicate", GET, OWN_A, args=a_supply),
    r("listing-duplicate", POST, MEMBERS_NOT, args=a_supply, data={}),
    r("listing-status", GET, MEMBERS_NOT, args=a_supply),
    r(
        "listing-status",
        POST,
        (LOGIN, 302, 404, 403, 403),
        args=a_supply,
        data={"status": "paused"},
    ),
    r(
        "listing-duplicate-warning",
        GET,
        MEMBERS,
        args=lambda w: ["supply"],
        query=lambda w: f"?site={w.site_a.pk}&material={w.material.pk}",
    ),
    # A listing field's check on leaving it: members, as the form itself.
    r(
        "listing-field-check",
        GET,
        MEMBERS,
        args=lambda w: ["supply", "max_km"],
        query="?max_km=-1",
    ),
    r("listing-field-check", POST, MEMBERS_NOT, args=lambda w: ["demand", "max_km"], data={}),
    # The supply form's landfill-ban warning: members, as the form itself.
    r(
        "listing-fate-warning",
        GET,
        MEMBERS,
        query=lambda w: f"?material={w.material.pk}&fate=landfill",
    ),
    # The legal rules: every signed-in user reads them; facilitators correct them.
    r("legal-rules", GET, LOGGED_IN),
    r("legal-rules", POST, NOT_POST, data={}),
    r("legal-rule-edit", GET, FACILITATOR_ONLY, args=a_legal_rule),
    r("legal-rule-edit", POST, FACILITATOR_ONLY, args=a_legal_rule, data={"act": ""}),
    r(
        "legal-rule-edit",
        POST,
        FACILITATOR_WRITE,
        args=a_legal_rule,
        label="valid",
        data={"title": "Landfill ban", "act": "Environmental Code", "note": "read"},
    ),
    # Current fates: facilitators verify or downgrade them, with a reason.
    r("fate-review-list", GET, FACILITATOR_ONLY),
    # Imported-origin clearances per material: facilitators only (a bad form re-renders).
    r("imported-origin-clearances", GET, FACILITATOR_ONLY),
    r("imported-origin-clearances", POST, FACILITATOR_ONLY, data={"outcome": "maybe"}),
    r(
        "imported-origin-clearance-document",
        GET,
        FACILITATOR_ONLY,
        args=a_clearance_with_a_document,
    ),
    r("fate-review-list", GET, FACILITATOR_ONLY, query="?fate=landfill&evidence=x", label="bad"),
    r("fate-review-list", POST, NOT_POST, data={}),
    r("fate-review", GET, NOT_POST, args=lambda w: [w.supply_private.pk]),
    r(
        "fate-review",
        POST,
        FACILITATOR_WRITE,
        args=lambda w: [w.supply_private.pk],
        data=fate_decision,
    ),
    # Waste permits: a company adds and sees its own; facilitators read all and verify.
    r("permits", GET, (LOGIN, 200, 200, 200, 403)),
    # With a permit of A in the database: B and analysts see nothing of it.
    r(
        "permits",
        GET,
        (LOGIN, 200, 200, 200, 403),
        label="a-permit",
        query=lambda w: f"?seen={a_permit_of_a(w)[0]}",
    ),
    r("permits", POST, (LOGIN, 200, 200, 403, 403), data={"number": ""}),
    r("permit-review-list", GET, FACILITATOR_ONLY),
    r(
        "permit-review-list",
        GET,
        FACILITATOR_ONLY,
        label="a-permit",
        query=lambda w: f"?seen={a_permit_of_a(w)[0]}",
    ),
    r("permit-review-list", POST, NOT_POST, data={}),
    r("permit-review", GET, NOT_POST, args=a_permit_of_a),
    r(
        "permit-review",
        POST,
        FACILITATOR_WRITE,
        args=a_permit_of_a,
        data=lambda w: {f"permit-{a_permit_of_a(w)[0]}-decision": "verify"},
    ),
    r("permit-document", GET, A_AND_FACILITATOR, args=a_permit_of_a),
    r("permit-document", POST, NOT_POST, args=a_permit_of_a, data={}),
    r("listing-import", GET, MEMBERS),
    r("listing-import", POST, MEMBERS, data={"kind": "supply"}),
    # An import is its uploader's alone: B (and A's other members) get a 404.
    r("listing-import-detail", GET, OWN_A, args=an_import_of_a),
    r("listing-import-detail", POST, MEMBERS_NOT, args=an_import_of_a),
    r("listing-import-status", GET, OWN_A, args=an_import_of_a),
    # A finished import stops the htmx poll (286).
    r("listing-import-status", GET, (LOGIN, 286, 404, 403, 403), args=an_import_of_a, htmx=True),
    r("listing-import-commit", GET, MEMBERS_NOT, args=an_import_of_a),
    # A's import failed: there is nothing to import (400); B cannot see it at all.
    r("listing-import-commit", POST, (LOGIN, 400, 404, 403, 403), args=an_import_of_a),
    r("listing-import-template", GET, MEMBERS, args=lambda w: ["supply", "csv"]),
    r("listing-import-template", GET, MEMBERS, args=lambda w: ["demand", "xlsx"], label="xlsx"),
    r(
        "listing-import-template",
        GET,
        (LOGIN, 404, 404, 403, 403),
        args=lambda w: ["supply", "txt"],
        label="bad-ext",
    ),
    r("material-options", GET, LOGGED_IN, query="?q=grain"),
    r("tonnes-preview", GET, LOGGED_IN, query="?quantity=5&unit=t"),
    r("site-create", GET, MEMBERS),
    r("site-create", POST, MEMBERS, data={}),
    r("site-edit", GET, OWN_A, args=lambda w: [w.site_a.pk]),
    r("site-edit", POST, OWN_A, args=lambda w: [w.site_a.pk], data={}),
    # The market: companies and facilitators; analysts read aggregates only.
    r("market", GET, COMPANY_READERS),
    r("market", GET, COMPANY_READERS, htmx=True, label="htmx"),
    r("market", GET, COMPANY_READERS, query="?kind=demand", label="demand"),
    r("market", GET, COMPANY_READERS, htmx=True, query="?kind=demand", label="htmx-demand"),
    # Searches that find A's anonymous listings by their names (a typo, an htmx partial):
    # the rows still show nothing of A (A's notes are not searchable by others:
    # tests/web/test_market.py, tests/symbiosis/test_market_search.py).
    r("market", GET, COMPANY_READERS, query="?q=spent+grian", label="search"),
    r("market", GET, COMPANY_READERS, htmx=True, query="?kind=demand&q=jute", label="htmx-search"),
    r("market", POST, NOT_POST, data={}),
    # The map's area around A's site: A's anonymous listings are not there for B
    # (only at their coarse cell), and nothing names A.
    r("market", GET, COMPANY_READERS, query=f"?bbox={A_SITE_BOX}", label="bbox"),
    r("market-map", GET, COMPANY_READERS),
    r("market-map", GET, COMPANY_READERS, query="?kind=demand", label="demand"),
    r("market-map", GET, COMPANY_READERS, query=f"?bbox={A_SITE_BOX}", label="bbox"),
    r("market-map", GET, COMPANY_READERS, query=f"?bbox={A_CELL_BOX}", label="cell"),
    r("market-map", GET, (LOGIN, 400, 400, 400, 403), query="?bbox=1,2,3", label="bad-bbox"),
    r("market-map", POST, NOT_POST, data={}),
    r("market-listing", GET, A_AND_FACILITATOR, args=a_supply, label="private"),
    r("market-listing", GET, A_AND_FACILITATOR, args=a_demand, label="private-demand"),
    r(
        "market-listing",
        GET,
        COMPANY_READERS,
        args=lambda w: ["supply", w.supply_anonymous.pk],
        label="anon",
    ),
    r(
        "market-listing",
        GET,
        COMPANY_READERS,
        args=lambda w: ["demand", w.demand_anonymous.pk],
        label="anon-demand",
    ),
    r(
        "market-listing",
        GET,
        (LOGIN, 404, 404, 404, 403),
        args=lambda w: ["supply", 987654],
        label="missing",
    ),
    # Questions to a lister: B asks about A's anonymous supply without learning who A is
    # (B's answers are searched for A like every other); A's own members and
    # facilitators who are no members do not ask; a listing B may not see is 404.
    r("question-ask", GET, NOT_POST, args=lambda w: ["supply", w.supply_anonymous.pk]),
    r(
        "question-ask",
        POST,
        (LOGIN, 403, 200, 403, 403),
        args=lambda w: ["supply", w.supply_anonymous.pk],
        data={},
    ),
    r(
        "question-ask",
        POST,
        (LOGIN, 403, 200, 403, 403),
        args=lambda w: ["supply", w.supply_anonymous.pk],
        htmx=True,
        label="htmx",
        data={},
    ),
    r(
        "question-ask",
        POST,
        (LOGIN, 403, 302, 403, 403),
        args=lambda w: ["supply", w.supply_anonymous.pk],
        label="asked",
        data={"body": "Is it packaged?"},
    ),
    r("question-ask", POST, (LOGIN, 403, 404, 403, 403), args=a_supply, label="private", data={}),
    # The thread: both companies' members and facilitators read it; only the two write.
    r("question-thread", GET, COMPANY_READERS, args=lambda w: [w.question.pk]),
    r(
        "question-thread",
        GET,
        COMPANY_READERS,
        args=lambda w: [w.question.pk],
        htmx=True,
        label="htmx",
    ),
    r("question-thread", POST, NOT_POST, args=lambda w: [w.question.pk], data={}),
    r(
        "question-thread",
        GET,
        (LOGIN, 404, 404, 404, 403),
        args=lambda w: [987654],
        label="missing",
    ),
    r("question-reply", GET, NOT_POST, args=lambda w: [w.question.pk]),
    r("question-reply", POST, (LOGIN, 200, 200, 403, 403), args=lambda w: [w.question.pk], data={}),
    r(
        "question-reply",
        POST,
        (LOGIN, 200, 200, 403, 403),
        args=lambda w: [w.question.pk],
        htmx=True,
        label="htmx",
        data={},
    ),
    # Photos and documents: A's members upload and delete (B: 404, as for A's listing
    # itself); they are served to whoever sees the listing, never under A's file names.
    r("listing-photo-upload", GET, MEMBERS_NOT, args=lambda w: ["supply", w.supply_anonymous.pk]),
    r(
        "listing-photo-upload",
        POST,
        (LOGIN, 302, 404, 403, 403),
        args=lambda w: ["supply", w.supply_anonymous.pk],
        data=a_new_photo,
    ),
    r(
        "listing-photo-upload",
        POST,
        (LOGIN, 200, 404, 403, 403),
        args=lambda w: ["demand", w.demand_private.pk],
        data=lambda w: {"photo": _attachment_upload(b"MZ" + bytes(64), "grain.jpg")},
        label="program",
    ),
    r("listing-photo-delete", GET, MEMBERS_NOT, args=a_photo_of_a),
    r("listing-photo-delete", POST, (LOGIN, 302, 404, 403, 403), args=a_photo_of_a, data={}),
    r(
        "listing-document-upload",
        GET,
        MEMBERS_NOT,
        args=lambda w: ["supply", w.supply_anonymous.pk],
    ),
    r(
        "listing-document-upload",
        POST,
        (LOGIN, 302, 404, 403, 403),
        args=lambda w: ["supply", w.supply_anonymous.pk],
        data=a_new_document,
    ),
    r("listing-document-delete", GET, MEMBERS_NOT, args=a_document_of_a),
    r(
        "listing-document-delete",
        POST,
        (LOGIN, 302, 404, 403, 403),
        args=a_document_of_a,
        data={},
    ),
    r("listing-photo", GET, COMPANY_READERS, args=a_photo_of_a, label="anon"),
    r(
        "listing-photo",
        GET,
        A_AND_FACILITATOR,
        args=lambda w: a_photo_of_a(w, "supply_private"),
        label="private",
    ),
    r("listing-photo", POST, NOT_POST, args=a_photo_of_a, data={}),
    r(
        "listing-photo-thumbnail",
        GET,
        COMPANY_READERS,
        args=lambda w: a_photo_of_a(w, thumbnail=True),
        label="anon",
    ),
    r(
        "listing-photo-thumbnail",
        GET,
        A_AND_FACILITATOR,
        args=lambda w: a_photo_of_a(w, "demand_private", thumbnail=True),
        label="private-demand",
    ),
    r("listing-photo-thumbnail", POST, NOT_POST, args=a_photo_of_a, data={}),
    r("listing-document", GET, COMPANY_READERS, args=a_document_of_a, label="anon"),
    r(
        "listing-document",
        GET,
        COMPANY_READERS,
        args=lambda w: a_document_of_a(w, "demand_anonymous"),
        label="anon-demand",
    ),
    r(
        "listing-document",
        GET,
        A_AND_FACILITATOR,
        args=lambda w: a_document_of_a(w, "supply_private"),
        label="private",
    ),
    r("listing-document", POST, NOT_POST, args=a_document_of_a, data={}),
    # The data-quality level: a facilitator verifies (or withdraws it) on any listing.
    r("listing-data-quality", GET, NOT_POST, args=a_supply),
    r(
        "listing-data-quality",
        POST,
        FACILITATOR_WRITE,
        args=lambda w: ["supply", w.supply_anonymous.pk],
        data={"level": "verified"},
    ),
    r(
        "listing-data-quality",
        POST,
        FACILITATOR_WRITE,
        args=a_demand,
        data={"level": "declared"},
        label="withdraw",
    ),
    # Saved searches: the market's readers, each their own; A's is no one else's.
    r("saved-searches", GET, COMPANY_READERS),
    r("saved-searches", POST, NOT_POST, data={}),
    r("saved-search-new", GET, COMPANY_READERS, query="?kind=demand&max_km=5"),
    r("saved-search-new", GET, COMPANY_READERS, htmx=True, label="htmx"),
    # A name is required: the form again, with the error (nothing saved).
    r("saved-search-new", POST, COMPANY_READERS, data={"saved_search_name": ""}),
    r(
        "saved-search-new",
        POST,
        (LOGIN, 302, 302, 302, 403),
        data={"kind": "supply", "saved_search_name": "Grain"},
        label="valid",
    ),
    r("saved-search-rename", GET, NOT_POST, args=lambda w: [a_saved_search_of_a(w).pk]),
    r(
        "saved-search-rename",
        POST,
        (LOGIN, 302, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        data={"name": "Renamed"},
    ),
    r("saved-search-active", GET, NOT_POST, args=lambda w: [a_saved_search_of_a(w).pk]),
    r(
        "saved-search-active",
        POST,
        (LOGIN, 302, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        data={"active": "0"},
    ),
    r("saved-search-delete", GET, NOT_POST, args=lambda w: [a_saved_search_of_a(w).pk]),
    r(
        "saved-search-delete",
        POST,
        (LOGIN, 302, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        data={},
    ),
    # A digest's unsubscribe link works without logging in: its token is the key
    # (GET asks, POST stops that one search); a forged token is not found.
    r("saved-search-unsubscribe", GET, (404,) * 5, args=lambda w: ["forged-token"]),
    r("saved-search-unsubscribe", POST, (404,) * 5, args=lambda w: ["forged-token"], data={}),
    r(
        "saved-search-unsubscribe",
        GET,
        EVERYONE,
        args=lambda w: [a_saved_search_of_a(w).unsubscribe_token],
        label="valid",
    ),
    r(
        "saved-search-unsubscribe",
        POST,
        EVERYONE,
        args=lambda w: [a_saved_search_of_a(w).unsubscribe_token],
        data={},
        label="valid",
    ),
    # Language switch and Django's account pages.
    r("set_language", POST, (302,) * 5, data={"language": "ru", "next": "/"}),
    # Notifications: everyone logged in has their own; A's is no one else's to open.
    r("notifications", GET, LOGGED_IN),
    r("notification-open", GET, (LOGIN, 302, 404, 404, 404), args=a_notification_of_a),
    r("notification-open", GET, (LOGIN, 404, 404, 404, 404), args=lambda w: ["x"], label="bad"),
    r("notifications-read-all", GET, NOT_POST),
    r("notifications-read-all", POST, (LOGIN, 302, 302, 302, 302), data={}),
    r("login", GET, EVERYONE),
    r("login", POST, EVERYONE, data={"username": "nobody@example.kz", "password": "x"}),
    r("logout", POST, (302,) * 5, data={}),
    r("password_change", GET, LOGGED_IN),
    r("password_change", POST, LOGGED_IN, data={}),
    r("password_change_done", GET, LOGGED_IN),
    r("password_reset", GET, EVERYONE),
    r("password_reset", POST, (302,) * 5, data={"email": "admin-a@example.kz"}),
    r("password_reset_done", GET, EVERYONE),
    r("password_reset_confirm", GET, EVERYONE, args=lambda w: ["MQ", "forged-token"]),
    r("password_reset_complete", GET, EVERYONE),
    # API tokens: everyone logged in has their own; A's token is no one else's to revoke.
    r("api-tokens", GET, LOGGED_IN),
    r("api-token-create", GET, NOT_POST),
    r("api-token-create", POST, LOGGED_IN, data={}),
    r("api-token-revoke-all", GET, NOT_POST),
    r("api-token-revoke-all", POST, (LOGIN, 302, 302, 302, 302), data={}),
    r("api-token-revoke", GET, NOT_POST, args=lambda w: [w.token_a.digest]),
    r(
        "api-token-revoke",
        POST,
        (LOGIN, 302, 404, 404, 404),
        args=lambda w: [w.token_a.digest],
        data={},
    ),
]

# --- deals ------------------------------------------------------------------------------
# The deal is A's (supplier) with C: B has no part in it and gets 404 everywhere.

DEAL = lambda w: [w.deal.pk]  # noqa: E731
DELIVERY = lambda w: [w.delivery.pk]  # noqa: E731


def a_held_delivery(w):
    """A load of A's deal held for review, made inside the row's own savepoint."""
    from marketplace.models import Delivery

    held, _ = Delivery.objects.get_or_create(
        deal=w.deal,
        ticket_number="WB-HELD",
        defaults={"date": w.delivery.date, "tonnes": 50, "status": "held"},
    )
    return [held.pk]


def a_confirmed_delivery(w):
    from marketplace.models import Delivery

    return [Delivery.objects.get(deal=w.deal, status="confirmed").pk]


def correction_form(w):
    pk = a_confirmed_delivery(w)[0]
    return {f"correct-{pk}-reason": "re-read", f"correct-{pk}-tonnes": "2"}


DEAL_ROWS = [
    r("marketplace:deal-list", GET, COMPANY_READERS),
    r(
        "marketplace:deal-new",
        GET,
        COMPANY_READERS,
        query=lambda w: f"?supply={w.supply_anonymous.pk}",
        label="anon",
    ),
    r(
        "marketplace:deal-new",
        GET,
        A_AND_FACILITATOR,
        query=lambda w: f"?supply={w.supply_private.pk}",
        label="private",
    ),
    r(
        "marketplace:deal-new",
        GET,
        (LOGIN, 404, 404, 404, 403),
        query="?supply=abc",
        label="bad-id",
    ),
    # Nobody may offer on an anonymous listing: its owner is introduced, not found.
    r(
        "marketplace:deal-new",
        POST,
        (LOGIN, 403, 403, 403, 403),
        query=lambda w: f"?supply={w.supply_anonymous.pk}",
        data={},
        label="anon",
    ),
    r("marketplace:deal-detail", GET, A_AND_FACILITATOR, args=DEAL),
    r(
        "marketplace:deal-detail",
        GET,
        A_AND_FACILITATOR,
        args=lambda w: [w.introduction_deal.pk],
        label="introduction",
    ),
    r("marketplace:deal-terms", GET, NOT_POST, args=DEAL),
    r("marketplace:deal-terms", POST, (LOGIN, 200, 404, 200, 403), args=DEAL, data={}),
    r("marketplace:delivery-log", GET, NOT_POST, args=DEAL),
    r("marketplace:delivery-log", POST, (LOGIN, 200, 404, 200, 403), args=DEAL, data={}),
    r("marketplace:message-post", GET, NOT_POST, args=DEAL),
    r("marketplace:message-post", POST, (LOGIN, 200, 404, 200, 403), args=DEAL, data={}),
    r("marketplace:deal-transition", GET, NOT_POST, args=lambda w: [w.deal.pk, "complete"]),
    r(
        "marketplace:deal-transition",
        POST,
        # Parties step a deal on; a facilitator only cancels.
        (LOGIN, 302, 404, 403, 403),
        args=lambda w: [w.deal.pk, "complete"],
        data={},
    ),
    r(
        "marketplace:deal-transition",
        POST,
        (LOGIN, 404, 404, 404, 404),
        args=lambda w: [w.deal.pk, "steal"],
        data={},
        label="unknown-action",
    ),
    r("marketplace:delivery-confirm", GET, NOT_POST, args=DELIVERY),
    # The other party (C) or a facilitator confirms a load; A, who logged it, may not.
    r("marketplace:delivery-confirm", POST, (LOGIN, 403, 404, 302, 403), args=DELIVERY, data={}),
    r("marketplace:delivery-dispute", GET, NOT_POST, args=DELIVERY),
    r("marketplace:delivery-dispute", POST, (LOGIN, 200, 404, 200, 403), args=DELIVERY, data={}),
    # A held load: only a facilitator releases or rejects it.
    r("marketplace:delivery-release", GET, NOT_POST, args=a_held_delivery),
    r("marketplace:delivery-release", POST, (LOGIN, 403, 404, 302, 403), args=a_held_delivery),
    r("marketplace:delivery-reject", GET, NOT_POST, args=a_held_delivery),
    r(
        "marketplace:delivery-reject",
        POST,
        (LOGIN, 403, 404, 302, 403),
        args=a_held_delivery,
        data=lambda w: {f"reject-{a_held_delivery(w)[0]}-reason": "typo"},
    ),
    # Either party or a facilitator proposes a correction of a confirmed load.
    r("marketplace:delivery-correct", GET, NOT_POST, args=a_confirmed_delivery),
    r(
        "marketplace:delivery-correct",
        POST,
        (LOGIN, 302, 404, 302, 403),
        args=a_confirmed_delivery,
        data=correction_form,
    ),
    r("marketplace:delivery-review", GET, FACILITATOR_ONLY),
    r("marketplace:delivery-detail", GET, A_AND_FACILITATOR, args=DELIVERY),
    r("marketplace:delivery-note", GET, A_AND_FACILITATOR, args=DELIVERY),
    r("marketplace:delivery-note-pdf", GET, A_AND_FACILITATOR, args=DELIVERY),
    # Movement records (issue 21): the period's export of one's own deals' confirmed
    # deliveries (B's is empty), one confirmed delivery's record; analysts none.
    r("marketplace:movement-export", GET, COMPANY_READERS),
    r(
        "marketplace:movement-export",
        GET,
        COMPANY_READERS,
        query=PERIOD + "&format=csv",
        label="csv",
    ),
    r(
        "marketplace:movement-export",
        GET,
        COMPANY_READERS,
        query=PERIOD + "&format=json",
        label="json",
    ),
    r("marketplace:movement-export", GET, COMPANY_READERS, query="?from=x&until=y", label="bad"),
    r("marketplace:movement-export", POST, NOT_POST, data={}),
    r("marketplace:delivery-movement", GET, A_AND_FACILITATOR, args=a_confirmed_delivery),
    r("marketplace:delivery-movement", POST, NOT_POST, args=a_confirmed_delivery, data={}),
]

# --- optimizer review pages -------------------------------------------------------------

RUN = lambda w: [w.run.pk]  # noqa: E731

REVIEW_ROWS = [
    r("optimizer:run_list", GET, CITY_READERS),
    r("optimizer:run_new", GET, FACILITATOR_ONLY),
    r("optimizer:run_new", POST, FACILITATOR_ONLY, data={"objective": "nonsense"}),
    r("optimizer:run_compare", GET, FACILITATOR_ONLY),
    r(
        "optimizer:run_compare",
        GET,
        FACILITATOR_ONLY,
        query=lambda w: f"?a={w.run.pk}&b=999999",
        label="bad-run",
    ),
    r("optimizer:run_detail", GET, CITY_READERS, args=RUN),
    r("optimizer:run_status", GET, CITY_READERS, args=RUN),
    # require_POST comes before the login check on these.
    r("optimizer:run_cancel", GET, (405,) * 5, args=RUN),
    r("optimizer:run_cancel", POST, FACILITATOR_WRITE, args=RUN, data={}),
    r("optimizer:proposals_bulk", GET, (405,) * 5, args=RUN),
    r("optimizer:proposals_bulk", POST, FACILITATOR_WRITE, args=RUN, data={}),
    r("optimizer:my_proposals", GET, LOGGED_IN),
    r(
        "optimizer:proposal_detail",
        GET,
        FACILITATOR_ONLY,
        args=lambda w: [w.open_proposal.pk],
    ),
    # A row's panel of the results table, fetched when the row opens.
    r(
        "optimizer:proposal_panel",
        GET,
        FACILITATOR_ONLY,
        args=lambda w: [w.open_proposal.pk],
        htmx=True,
    ),
    r("optimizer:proposal_decide", GET, (405,) * 5, args=lambda w: [w.open_proposal.pk]),
    r(
        "optimizer:proposal_decide",
        POST,
        FACILITATOR_WRITE,
        args=lambda w: [w.open_proposal.pk],
        data={"action": "reject", "reason": ""},
    ),
    r("optimizer:proposal_answer", GET, (405,) * 5, args=lambda w: [w.introduction.pk]),
    # Only the introduced parties (A and C) answer; B is not among them.
    r(
        "optimizer:proposal_answer",
        POST,
        (LOGIN, 302, 404, 404, 404),
        args=lambda w: [w.introduction.pk],
        data={"answer": "accept"},
    ),
    r(
        "optimizer:listing_audit",
        GET,
        FACILITATOR_ONLY,
        args=lambda w: ["supply", w.supply_anonymous.pk],
    ),
    r(
        "optimizer:listing_audit",
        GET,
        (LOGIN, 403, 403, 403, 403),  # an unknown kind is refused, not looked up
        args=lambda w: ["other", w.supply_anonymous.pk],
        label="bad-kind",
    ),
    # Matches you can see (optimizer.reach): the listing's own organization and
    # facilitators; B gets the 404 of a listing it may not open, even for A's
    # anonymous listing it sees on the market.
    r("optimizer:listing_reach", GET, A_AND_FACILITATOR, args=a_supply),
    r("optimizer:listing_reach", GET, A_AND_FACILITATOR, args=a_demand, label="demand"),
    r(
        "optimizer:listing_reach",
        GET,
        A_AND_FACILITATOR,
        args=lambda w: ["supply", w.supply_anonymous.pk],
        htmx=True,
        label="anon",
    ),
    r(
        "optimizer:listing_reach",
        GET,
        (LOGIN, 404, 404, 404, 403),
        args=lambda w: ["other", w.supply_anonymous.pk],
        label="bad-kind",
    ),
    r("optimizer:listing_reach", POST, NOT_POST, args=a_supply, data={}),
    # The workspace's count per own listing: members, each of their own.
    r("optimizer:reach_counts", GET, MEMBERS, htmx=True),
    r("optimizer:reach_counts", POST, MEMBERS_NOT, data={}),
]

# --- the city dashboard -------------------------------------------------------------------

CITY_ROWS = [
    r("dashboard:city", GET, CITY_READERS),
    r("dashboard:city", GET, CITY_READERS, query="?from=garbage&district=nowhere", label="bad"),
    r("dashboard:methodology", GET, CITY_READERS),
    # Off unless CITY_PUBLIC_PAGE is set (see test_public_city_page_names_no_one_unwilling).
    r("dashboard:public", GET, (404,) * 5),
    # The exports moved to /api/v1/city/<table>/; the old address redirects everyone.
    r("dashboard:export", GET, (301,) * 5, args=lambda w: ["headline"]),
    *[
        r("api:city-table", GET, API_CITY, args=lambda w, t=table: [t], label=table)
        for table in [*dashboard_selectors.TABLES, "headline"]
    ],
    r(
        "api:city-table",
        GET,
        API_CITY,
        args=lambda w: ["exchanges"],
        query="?format=csv",
        label="exchanges-csv",
    ),
    r("api:city-table", GET, (DENY, 403, 403, 404, 404), args=lambda w: ["nope"], label="bad"),
    r("api:city-table", POST, (DENY, 403, 403, 405, 405), args=lambda w: ["headline"]),
]

# --- the API ----------------------------------------------------------------------------------


def _reference(name, key):
    """Reference data: everyone logged in reads, nobody writes through the API."""
    detail = f"api:{name}-detail"
    return [
        r(f"api:{name}-list", GET, API_READ, api=True),
        r(f"api:{name}-list", POST, API_NO_WRITE, api=True, data={}),
        r(detail, GET, API_READ, args=key, api=True),
        *[r(detail, m, API_NO_WRITE, args=key, api=True, data={}) for m in (PUT, PATCH, DELETE)],
    ]


def supply_body(w):
    return {
        "site": w.site_a.pk,
        "material": w.material.slug,
        "quantity": "10",
        "unit": "t",
        "visibility": "private",
        "status": "active",
    }


def demand_body(w):
    return {"site": w.site_a.pk, "materials": [w.material.slug], "quantity": "20", "unit": "t"}


def site_body(w):
    return {"name": "New yard", "district": "almaly", "latitude": "43.25", "longitude": "76.95"}


def with_org(body):
    return lambda w: {"organization": w.company_a.pk, **body(w)}


def _listing(kind, singular, private, anonymous, body, free, deletes_anonymous):
    d = f"api:{singular}-detail"
    private_key = lambda w: [getattr(w, private).pk]  # noqa: E731
    anonymous_key = lambda w: [getattr(w, anonymous).pk]  # noqa: E731
    free_key = lambda w: [getattr(w, free).pk]  # noqa: E731
    return [
        r(f"api:{singular}-list", GET, API_COMPANY_READ, api=True),
        # B and the facilitator name A's site: to them it does not exist (field error).
        r(
            f"api:{singular}-list",
            POST,
            (DENY, 201, 400, 400, 403),
            api=True,
            data=with_org(body),
        ),
        r(d, GET, API_A_READ, args=private_key, api=True),
        r(d, GET, API_COMPANY_READ, args=anonymous_key, api=True, label="anon"),
        r(d, PUT, API_A_WRITE, args=private_key, api=True, data=body),
        r(d, PATCH, API_A_WRITE, args=private_key, api=True, data={"quantity": "12"}),
        r(
            d,
            PATCH,
            (DENY, 200, 403, 403, 403),
            args=anonymous_key,
            api=True,
            data={"quantity": "12"},
            label="anon",
        ),
        r(d, DELETE, (DENY, 204, 404, 403, 403), args=free_key, api=True),
        # A listing with deals or proposals is closed, not deleted (B: still refused first).
        r(
            d,
            DELETE,
            (DENY, deletes_anonymous, 403, 403, 403),
            args=anonymous_key,
            api=True,
            label="anon",
        ),
    ]


def _listing_files(kind, anonymous, private):
    """A listing's photos, documents and data-quality level (symbiosis/api/attachments.py):
    whoever sees the listing reads them (B: A's anonymous listing, never under A's file
    names); A's members change them (B: 404, as on the pages, even for the listing it
    sees; users who are no company's member: 403); facilitators set the level."""
    photo = lambda w: a_photo_of_a(w, anonymous)[1:]  # noqa: E731
    document = lambda w: a_document_of_a(w, anonymous)[1:]  # noqa: E731
    listing = lambda w: [getattr(w, anonymous).pk]  # noqa: E731
    upload = (DENY, 201, 404, 403, 403)
    change = (DENY, 204, 404, 403, 403)
    return [
        r(f"api:{kind}-photos", GET, API_COMPANY_READ, args=lambda w: photo(w)[:1], api=True),
        r(
            f"api:{kind}-photos",
            GET,
            API_A_READ,
            args=lambda w: a_photo_of_a(w, private)[1:2],
            api=True,
            label="private",
        ),
        r(
            f"api:{kind}-photos",
            POST,
            upload,
            args=listing,
            api=True,
            multipart=True,
            data=a_new_photo,
        ),
        r(
            f"api:{kind}-photos",
            POST,
            (DENY, 400, 404, 403, 403),
            args=listing,
            api=True,
            multipart=True,
            data=lambda w: {"photo": _attachment_upload(b"MZ" + bytes(64), "grain.jpg")},
            label="program",
        ),
        r(f"api:{kind}-photo", DELETE, change, args=photo, api=True),
        r(
            f"api:{kind}-photo-move-first",
            POST,
            (DENY, 200, 404, 403, 403),
            args=photo,
            api=True,
            data={},
        ),
        r(
            f"api:{kind}-documents",
            GET,
            API_COMPANY_READ,
            args=lambda w: document(w)[:1],
            api=True,
        ),
        r(
            f"api:{kind}-documents",
            GET,
            API_A_READ,
            args=lambda w: a_document_of_a(w, private)[1:2],
            api=True,
            label="private",
        ),
        r(
            f"api:{kind}-documents",
            POST,
            upload,
            args=listing,
            api=True,
            multipart=True,
            data=a_new_document,
        ),
        r(f"api:{kind}-document", DELETE, change, args=document, api=True),
        r(
            f"api:{kind}-data-quality",
            POST,
            (DENY, 403, 403, 200, 403),
            args=listing,
            api=True,
            data={"level": "verified"},
        ),
        r(
            f"api:{kind}-data-quality",
            POST,
            (DENY, 403, 403, 200, 403),
            args=lambda w: [getattr(w, private).pk],
            api=True,
            data={"level": "declared"},
            label="withdraw",
        ),
    ]


API_DEAL = lambda w: [w.deal.pk]  # noqa: E731
# Steps on A's running (active) deal with C: B is no party (404); a step that
# does not fit the state is refused (400) before who may take it is asked;
# facilitators read and cancel. tests/api/test_permissions.py steps deals in
# every state; this table is about who reaches them at all.
API_ROWS = [
    r("api:api-root", GET, API_READ, api=True),
    r(
        "api:auth-token",
        POST,
        (400,) * 5,
        api=True,
        data={"username": "admin-a@example.kz", "password": "wrong"},
    ),
    # The right password gets a token, whoever sends it (tests/factories.py's password).
    r(
        "api:auth-token",
        POST,
        (200,) * 5,
        api=True,
        data={"username": "member-a@example.kz", "password": "correct-horse-9"},
        label="valid",
    ),
    # Revoke the token sent (a session sends none: 400), or all of one's own.
    r("api:auth-token-revoke", POST, (DENY, 400, 400, 400, 400), api=True, data={}),
    r("api:auth-token-revoke-all", POST, (DENY, 200, 200, 200, 200), api=True, data={}),
    r("api:aggregates-listings", GET, API_CITY, api=True),
    r("api:organization-list", GET, API_COMPANY_READ, api=True),
    r(
        "api:organization-list",
        POST,
        (DENY, 201, 201, 201, 403),
        api=True,
        data={
            "name": "Newly registered LLP",
            "bin": factories.valid_bin(77_000_123),
            "sector": "C",
        },
    ),
    r("api:organization-detail", GET, API_A_READ, args=lambda w: [w.company_a.pk], api=True),
    r(
        "api:organization-detail",
        PUT,
        API_A_WRITE,
        args=lambda w: [w.company_a.pk],
        api=True,
        data=lambda w: {"name": "Renamed A", "bin": w.company_a.bin, "sector": "C"},
    ),
    r(
        "api:organization-detail",
        PATCH,
        API_A_WRITE,
        args=lambda w: [w.company_a.pk],
        api=True,
        data={"name": "Renamed A"},
    ),
    r(
        "api:organization-detail",
        DELETE,
        (DENY, 405, 405, 405, 403),
        args=lambda w: [w.company_a.pk],
        api=True,
    ),
    r("api:site-list", GET, API_COMPANY_READ, api=True),
    r("api:site-list", POST, (DENY, 201, 400, 400, 403), api=True, data=with_org(site_body)),
    r("api:site-detail", GET, API_A_READ, args=lambda w: [w.site_a.pk], api=True),
    r("api:site-detail", PUT, API_A_WRITE, args=lambda w: [w.site_a.pk], api=True, data=site_body),
    r(
        "api:site-detail",
        PATCH,
        API_A_WRITE,
        args=lambda w: [w.site_a.pk],
        api=True,
        data={"name": "x"},
    ),
    r(
        "api:site-detail",
        DELETE,
        (DENY, 204, 404, 403, 403),
        args=lambda w: [w.spare_site_a.pk],
        api=True,
    ),
    *_reference("material", lambda w: [w.material.slug]),
    *_reference("use", lambda w: [w.use.slug]),
    *_reference("compatibility-rule", lambda w: [w.rule.pk]),
    *_reference("factor-set", lambda w: [w.factor_set.pk]),
    *_listing(
        "supplies", "supply", "supply_private", "supply_anonymous", supply_body, "supply_draft", 400
    ),
    # A supply's fate record: its organization and facilitators read it; only facilitators
    # add a decision. B does not see A's private supply at all, and reads no record of
    # the anonymous one.
    # Waste permits: a company's own (B sees none of A's), every one for a facilitator;
    # members add (an empty form is a 400), facilitators verify.
    r("api:permits", GET, (DENY, 200, 200, 200, 403), api=True),
    r(
        "api:permits",
        GET,
        (DENY, 200, 200, 200, 403),
        api=True,
        label="a-permit",
        query=lambda w: f"?seen={a_permit_of_a(w)[0]}",
    ),
    r("api:permits", POST, (DENY, 400, 400, 403, 403), api=True, multipart=True, data={}),
    r("api:permit", GET, API_A_READ, args=a_permit_of_a, api=True),
    r(
        "api:permit-review",
        POST,
        (DENY, 403, 403, 200, 403),
        args=a_permit_of_a,
        api=True,
        data={"verified": True},
    ),
    r("api:supply-fate-reviews", GET, API_A_READ, args=lambda w: [w.supply_private.pk], api=True),
    r(
        "api:supply-fate-reviews",
        GET,
        (DENY, 200, 403, 200, 403),
        args=lambda w: [w.supply_anonymous.pk],
        api=True,
        label="anon",
    ),
    r(
        "api:supply-fate-reviews",
        POST,
        (DENY, 403, 404, 201, 403),
        args=lambda w: [w.supply_private.pk],
        api=True,
        data=lambda w: fate_decision(w, prefixed=False),
    ),
    *_listing_files("supply", "supply_anonymous", "supply_private"),
    *_listing(
        "demands",
        "demand",
        "demand_private",
        "demand_anonymous",
        demand_body,
        "demand_private",
        204,
    ),
    *_listing_files("demand", "demand_anonymous", "demand_private"),
    r("api:deal-list", GET, API_COMPANY_READ, api=True),
    # No company deals on an anonymous listing directly: a facilitator introduces
    # the parties, and may start the deal.
    r(
        "api:deal-list",
        POST,
        (DENY, 400, 400, 201, 403),
        api=True,
        data=lambda w: {
            "supply": w.supply_anonymous.pk,
            "receiver_site": w.site_b.pk,
            "tonnes_per_period": "5",
            "start_date": "2027-02-01",
            "end_date": "2027-06-30",
        },
    ),
    r("api:deal-detail", GET, API_A_READ, args=API_DEAL, api=True),
    r(
        "api:deal-detail",
        GET,
        API_A_READ,
        args=lambda w: [w.introduction_deal.pk],
        api=True,
        label="introduction",
    ),
    r("api:deal-detail", DELETE, (DENY, 405, 405, 405, 403), args=API_DEAL, api=True),
    r("api:deal-offer", POST, (DENY, 400, 404, 400, 403), args=API_DEAL, api=True, data={}),
    r(
        "api:deal-accept",
        POST,
        (DENY, 400, 404, 400, 403),
        args=API_DEAL,
        api=True,
        data={"terms_version": 1},
    ),
    # New terms for a running deal: an amendment, proposed by a party (C answers it).
    r(
        "api:deal-update-terms",
        POST,
        (DENY, 200, 404, 403, 403),
        args=API_DEAL,
        api=True,
        data={"tonnes_per_period": "7"},
    ),
    r(
        "api:deal-decline",
        POST,
        (DENY, 400, 404, 400, 403),
        args=API_DEAL,
        api=True,
        data={"reason": "No"},
    ),
    r("api:deal-activate", POST, (DENY, 400, 404, 400, 403), args=API_DEAL, api=True, data={}),
    r("api:deal-complete", POST, (DENY, 200, 404, 403, 403), args=API_DEAL, api=True, data={}),
    r(
        "api:deal-cancel",
        POST,
        (DENY, 200, 404, 200, 403),
        args=API_DEAL,
        api=True,
        data={"reason": "Closed"},
    ),
    r("api:deal-messages", GET, API_A_READ, args=API_DEAL, api=True),
    r(
        "api:deal-messages",
        POST,
        (DENY, 201, 404, 201, 403),
        args=API_DEAL,
        api=True,
        data={"body": "Hello"},
    ),
    r("api:delivery-list", GET, API_COMPANY_READ, api=True),
    r(
        "api:delivery-list",
        POST,
        (DENY, 201, 400, 403, 403),
        api=True,
        data=lambda w: {
            "deal": w.deal.pk,
            "date": "2026-03-02",
            "tonnes": "5",
            "ticket_number": "N",
        },
    ),
    r("api:delivery-detail", GET, API_A_READ, args=DELIVERY, api=True),
    # The other party (C) or a facilitator judges a load; A, who logged it, may not.
    r("api:delivery-confirm", POST, (DENY, 403, 404, 200, 403), args=DELIVERY, api=True, data={}),
    r(
        "api:delivery-dispute",
        POST,
        (DENY, 403, 404, 200, 403),
        args=DELIVERY,
        api=True,
        data={"reason": "Wet"},
    ),
    r(
        "api:delivery-release",
        POST,
        (DENY, 403, 404, 200, 403),
        args=a_held_delivery,
        api=True,
        data={},
    ),
    r(
        "api:delivery-reject",
        POST,
        (DENY, 403, 404, 200, 403),
        args=a_held_delivery,
        api=True,
        data={"reason": "typo"},
    ),
    r(
        "api:delivery-correct",
        POST,
        (DENY, 201, 404, 201, 403),
        args=a_confirmed_delivery,
        api=True,
        data={"reason": "re-read", "tonnes": "2"},
    ),
    # The waste-transfer note as a PDF, for whoever may see the delivery.
    r("api:delivery-transfer-note", GET, API_A_READ, args=DELIVERY, api=True),
    # Movement records: a company's own deals' confirmed deliveries, facilitators all.
    r("api:movement-list", GET, API_COMPANY_READ, query=PERIOD, api=True),
    r("api:movement-list", GET, API_COMPANY_READ, query=PERIOD + "&format=csv", label="csv"),
    r(
        "api:movement-list",
        GET,
        (DENY, 400, 400, 400, 403),
        query="?from=2026-05-01&until=2026-04-01",
        api=True,
        label="bad",
    ),
    r("api:movement-detail", GET, API_A_READ, args=a_confirmed_delivery, api=True),
    # Optimizer proposals are the facilitators'; a company reads and answers only
    # its introductions (A's anonymous supply to C's demand: not B's).
    r("api:proposal-list", GET, (DENY, 403, 403, 200, 403), api=True),
    r(
        "api:proposal-detail",
        GET,
        (DENY, 403, 403, 200, 403),
        args=lambda w: [w.open_proposal.pk],
        api=True,
    ),
    r(
        "api:proposal-decide",
        POST,
        (DENY, 403, 403, 400, 403),
        args=lambda w: [w.open_proposal.pk],
        api=True,
        data={"action": "reject", "reason": ""},
    ),
    r("api:introduction-list", GET, API_COMPANY_READ, api=True),
    r(
        "api:introduction-detail",
        GET,
        (DENY, 200, 404, 404, 403),
        args=lambda w: [w.introduction.pk],
        api=True,
    ),
    r(
        "api:introduction-answer",
        POST,
        (DENY, 200, 404, 404, 403),
        args=lambda w: [w.introduction.pk],
        api=True,
        data={"answer": "accept"},
    ),
    # Questions to a lister (symbiosis/api/questions.py), as the question pages: B asks
    # about A's anonymous supply (its thread goes on) and reads the answer without
    # learning who A is; A's own members and facilitators who are no members do not
    # ask; a listing B may not see is a field error, as a missing one.
    r("api:question-list", GET, API_COMPANY_READ, api=True),
    r(
        "api:question-list",
        POST,
        (DENY, 403, 201, 403, 403),
        api=True,
        data=lambda w: {
            "listing_kind": "supply",
            "listing": w.supply_anonymous.pk,
            "body": "Is it packaged?",
        },
    ),
    r(
        "api:question-list",
        POST,
        (DENY, 403, 400, 403, 403),
        api=True,
        data=lambda w: {"listing_kind": "supply", "listing": w.supply_private.pk, "body": "Hi"},
        label="private",
    ),
    r("api:question-list", POST, (DENY, 400, 400, 400, 403), api=True, data={}, label="empty"),
    # The thread: both companies' members and facilitators read it; only the two write.
    r("api:question-detail", GET, API_COMPANY_READ, args=lambda w: [w.question.pk], api=True),
    r(
        "api:question-detail",
        GET,
        (DENY, 404, 404, 404, 403),
        args=lambda w: [987654],
        api=True,
        label="missing",
    ),
    r("api:question-messages", GET, API_COMPANY_READ, args=lambda w: [w.question.pk], api=True),
    r(
        "api:question-messages",
        POST,
        (DENY, 201, 201, 403, 403),
        args=lambda w: [w.question.pk],
        api=True,
        data={"body": "Dry enough?"},
    ),
    r(
        "api:question-messages",
        POST,
        (DENY, 400, 400, 403, 403),
        args=lambda w: [w.question.pk],
        api=True,
        data={"body": ""},
        label="empty",
    ),
    # Saved searches (symbiosis/api/saved_searches.py): the market's readers, each
    # their own; A's is no one else's (404); the filters go through the market's form.
    r("api:saved-search-list", GET, API_COMPANY_READ, api=True),
    r(
        "api:saved-search-list",
        POST,
        (DENY, 201, 201, 201, 403),
        api=True,
        data={"name": "Grain", "query": {"kind": "supply"}},
    ),
    r(
        "api:saved-search-list",
        POST,
        (DENY, 400, 400, 400, 403),
        api=True,
        data={"name": "", "query": {"max_km": "-1"}},
        label="bad",
    ),
    r(
        "api:saved-search-detail",
        GET,
        (DENY, 200, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        api=True,
    ),
    r(
        "api:saved-search-detail",
        PATCH,
        (DENY, 200, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        api=True,
        data={"name": "Renamed"},
    ),
    r(
        "api:saved-search-detail",
        PATCH,
        (DENY, 200, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        api=True,
        data={"active": False},
        label="pause",
    ),
    r(
        "api:saved-search-detail",
        DELETE,
        (DENY, 204, 404, 404, 403),
        args=lambda w: [a_saved_search_of_a(w).pk],
        api=True,
    ),
    r("schema", GET, API_READ),
    r("api-docs", GET, API_READ),
]


# --- the admin site: staff only ------------------------------------------------------------


def _admin_rows():
    """Index, and every registered model's list and add pages; A's rows' change pages.

    Non-staff users (companies, analysts) are sent to the admin's login page like
    anonymous users; the facilitator is staff with view rights on the platform's
    own apps only, so it reads those and writes nothing.
    """
    rows = [
        r("admin:index", GET, (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, ADMIN_LOGIN)),
        # Logged-in non-staff users see "not authorized, log in as another account".
        r("admin:login", GET, (200, 200, 200, 302, 200)),
    ]
    for model in admin.site._registry:
        meta = model._meta
        viewable = meta.app_label in FACILITATOR_ADMIN_APPS
        base = f"admin:{meta.app_label}_{meta.model_name}"
        read = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200 if viewable else 403, ADMIN_LOGIN)
        write = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, ADMIN_LOGIN)
        rows += [
            r(f"{base}_changelist", GET, read),
            r(f"{base}_add", GET, write),
            r(f"{base}_add", POST, write, data={}),
        ]
    objects = {
        "symbiosis_organization": lambda w: w.company_a.pk,
        "symbiosis_site": lambda w: w.site_a.pk,
        "symbiosis_supplylisting": lambda w: w.supply_anonymous.pk,
        "marketplace_deal": lambda w: w.deal.pk,
        "marketplace_dealmessage": lambda w: w.message.pk,
        "optimizer_matchproposal": lambda w: w.introduction.pk,
    }
    read = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, ADMIN_LOGIN)
    write = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, ADMIN_LOGIN)
    for base, key in objects.items():
        rows += [
            r(f"admin:{base}_change", GET, read, args=lambda w, k=key: [k(w)]),
            r(f"admin:{base}_change", POST, write, args=lambda w, k=key: [k(w)], data={}),
            r(f"admin:{base}_delete", GET, write, args=lambda w, k=key: [k(w)]),
            r(f"admin:{base}_history", GET, read, args=lambda w, k=key: [k(w)]),
        ]
    return rows


ADMIN_ROWS = _admin_rows()

ROWS = [*PAGE_ROWS, *DEAL_ROWS, *REVIEW_ROWS, *CITY_ROWS, *API_ROWS, *ADMIN_ROWS]


# --- running a row --------------------------------------------------------------------------


def _client(w, role) -> Client:
    """A client signed in as ``role`` through the world's session for it."""
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = w.session_keys[role]
    return client


def _request(row: Row, w) -> Callable[[Client], object]:
    """The row's request, ready to send: its URL and body are made first (some of
    them make the row they name), so the database can be read before it is sent."""
    body = row.data(w) if callable(row.data) else row.data
    headers = {"HTTP_HX_REQUEST": "true"} if row.htmx else {}
    url = row.url(w)
    if row.api and row.multipart:
        return lambda client: client.post(url, body or {}, HTTP_ACCEPT="application/json")
    if row.api:
        payload = json.dumps(body) if body is not None else ""
        return lambda client: client.generic(
            row.method,
            url,
            payload,
            content_type="application/json",
            HTTP_ACCEPT="application/json",
            **headers,
        )
    if row.method == GET:
        return lambda client: client.get(url, **headers)
    if row.method == POST:
        return lambda client: client.post(url, body or {}, **headers)
    return lambda client: client.generic(row.method, url, "", **headers)


def _text(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def assert_status(response, expected, context=""):
    status = response.status_code
    location = response.get("Location", "")
    where = f"{context}: got {status} {location}".strip()
    if expected == LOGIN:
        assert status == 302 and location.startswith(settings.LOGIN_URL), where
    elif expected == ADMIN_LOGIN:
        assert status == 302 and location.startswith(reverse("admin:login")), where
    elif expected == DENY:
        assert status in (401, 403), where
    else:
        assert status == expected, where
        if status == 302:
            assert not location.startswith(settings.LOGIN_URL), where


def assert_nothing_of_a(text: str, w, context=""):
    found = [secret for secret in secrets_of_a(w) if secret in text]
    assert not found, f"{context}: A's private strings {found} in the answer"


@pytest.mark.parametrize(
    ("row", "role"),
    [pytest.param(row, role, id=f"{row.id}-{role}") for row in ROWS for role in ROLES],
)
def test_route_by_role(row, role, audit_world, db):
    w = audit_world
    client, send = _client(w, role), _request(row, w)

    with writes_during() as writes:
        response = send(client)

    assert response.status_code < 500, _text(response)[:2000]
    assert_status(response, row.expect[ROLES.index(role)], f"{row.id} as {role}")
    if role in OUTSIDERS:
        # A file's name travels in Content-Disposition: searched too.
        headers = response.get("Location", "") + response.get("Content-Disposition", "")
        assert_nothing_of_a(_text(response) + headers, w, row.id)
    if _refused(response):
        assert not writes, f"{row.id} as {role}: refused, yet it wrote {writes}"


def _refused(response) -> bool:
    location = response.get("Location", "")
    to_login = location.startswith((settings.LOGIN_URL, reverse("admin:login")))
    return response.status_code >= 400 or (response.status_code == 302 and to_login)


# --- a plain member of A: as A's administrator, except where only administrators act -------
# ``member_a`` is an administrator of A. A member of A who is not one gets the same
# answer on every row but these (by row id): what that member gets instead.
MEMBER_OF_A = {
    # Roles and invitations are the administrators' (the organization's page and its
    # forms answer, the service refuses the change itself).
    "member-change-POST": 403,
    "invitation-revoke-POST": 403,
    "api:organization-detail-PUT": 403,
    "api:organization-detail-PATCH": 403,
    # An import is its uploader's alone (A's administrator uploaded this one).
    "listing-import-detail-GET": 404,
    "listing-import-status-GET": 404,
    "listing-import-commit-POST": 404,
    # So is an API token.
    "api-token-revoke-POST": 404,
    # And a notification (this one is to A's administrator).
    "notification-open-GET": 404,
    # And a saved search.
    "saved-search-rename-POST": 404,
    "saved-search-active-POST": 404,
    "saved-search-delete-POST": 404,
    "api:saved-search-detail-GET": 404,
    "api:saved-search-detail-PATCH": 404,
    "api:saved-search-detail-pause-PATCH": 404,
    "api:saved-search-detail-DELETE": 404,
}


@pytest.mark.parametrize(
    "row", [pytest.param(row, id=row.id) for row in ROWS if row not in ADMIN_ROWS]
)
def test_a_member_of_a_who_is_no_administrator(row, audit_world, db):
    w = audit_world
    expected = MEMBER_OF_A.get(row.id, row.expect[ROLES.index("member_a")])
    client, send = _client(w, "plain_member_a"), _request(row, w)

    with writes_during() as writes:
        response = send(client)

    assert response.status_code < 500, _text(response)[:2000]
    assert_status(response, expected, f"{row.id} as a member of A")
    if _refused(response):
        assert not writes, f"{row.id} as a member of A: refused, yet it wrote {writes}"


def test_every_member_exception_names_a_row():
    assert set(MEMBER_OF_A) <= {row.id for row in ROWS if row not in ADMIN_ROWS}


# --- nothing escapes the table ----------------------------------------------------------------


def _patterns(patterns=None, prefix="", namespace=""):
    """(URL name or None, route, callback) of every pattern, walking every include."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _patterns(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield name, route, pattern.callback


def _drf_methods(callback) -> set[str] | None:
    """The methods a DRF view serves (None for a plain Django view)."""
    # HEAD and OPTIONS follow GET and the view's metadata; DRF adds "head" to a
    # viewset's actions on its first request, so they are left out either way.
    actions = getattr(callback, "actions", None)
    if actions:
        return {m.upper() for m in set(actions) - {"head", "options"}}
    view_class = getattr(callback, "cls", None)
    if view_class is None or not hasattr(view_class, "permission_classes"):
        return None
    methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
    return {m.upper() for m in methods - {"head", "options"}}


def test_every_route_has_a_row():
    in_table = {(row.route, row.method) for row in ROWS}
    names_in_table = {name for name, _ in in_table}
    unclassified, unnamed = [], []
    served = set()
    for name, route, callback in _patterns():
        if route.startswith(ADMIN_PREFIX):
            continue  # staff only: see ADMIN_ROWS
        if not name:
            unnamed.append(route)
            continue
        served.add(name)
        if name not in names_in_table:
            unclassified.append(f"{name} ({route})")
        if route.startswith("api/v1/") and _drf_methods(callback) is None:
            unclassified.append(f"{name} ({route}): use a DRF class-based view in the API")
        for method in _drf_methods(callback) or ():
            if (name, method) not in in_table:
                unclassified.append(f"{name} {method} ({route})")
    assert not unnamed, f"unnamed routes (name them and add rows): {unnamed}"
    assert not unclassified, f"unclassified routes, add rows to ROWS: {sorted(unclassified)}"
    stale = {name for name in names_in_table if not name.startswith("admin:")} - served
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"


def test_every_admin_row_names_a_served_admin_route():
    admin_names = {name for name, route, _ in _patterns() if route.startswith(ADMIN_PREFIX)}
    rows = {row.route for row in ADMIN_ROWS}
    assert rows <= admin_names, sorted(rows - admin_names)
    # Every registered model's list page is sampled.
    for model in admin.site._registry:
        assert f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist" in rows


def _schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method in operations:
            if method.upper() in {GET, POST, PUT, PATCH, DELETE}:
                yield path, method.upper(), operations[method].get("operationId")


def test_every_schema_operation_has_a_row():
    in_table = {(row.route, row.method) for row in ROWS}
    operations = list(_schema_operations())
    assert len(operations) > 30  # the generator found the API at all
    missing = []
    for path, method, operation_id in operations:
        # Path parameters filled with a value every converter accepts.
        match = resolve(re.sub(r"\{[^}]+\}", "1", path))
        if (match.view_name, method) not in in_table:
            missing.append(f"{method} {path} ({operation_id} -> {match.view_name})")
    assert not missing, f"API operations without a row in ROWS: {missing}"


def test_table_size():
    # Printed for docs/reliability.md; asserted so an emptied table cannot pass.
    routes = {row.route for row in ROWS}
    print(f"access audit: {len(ROWS)} rows over {len(routes)} routes x {len(ROLES)} roles")
    assert len(ROWS) * len(ROLES) >= 1000


# --- anonymous listings: the owner stays hidden until an introduction ---------------------


def _as(w, role_or_user) -> Client:
    client = Client()
    user = getattr(w, role_or_user) if isinstance(role_or_user, str) else role_or_user
    client.force_login(user)
    return client


MARKET_QUERIES = [
    "",
    "?kind=supply&sort=newest",
    "?kind=supply&sort=distance",
    "?kind=supply&district=zhetysu",
    "?kind=supply&category=biomass",
    "?kind=demand",
    "?kind=demand&district=zhetysu",
    "?page=abc",
    "?page=-1",
    "?kind=nonsense&sort=nonsense&max_km=-5",
    "?max_km=1e400",
    "?site=abc",
]


@pytest.mark.parametrize("query", MARKET_QUERIES)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_market_shows_anonymous_listings_without_owner(query, htmx, audit_world, db):
    w = audit_world
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = _as(w, "member_b").get(reverse("market") + query, **headers)

    assert response.status_code == 200
    assert_nothing_of_a(_text(response), w, query)


def test_market_lists_the_anonymous_supply_to_b(audit_world, db):
    w = audit_world
    html = _text(_as(w, "member_b").get(reverse("market") + "?kind=supply&sort=distance"))

    assert reverse("market-listing", args=["supply", w.supply_anonymous.pk]) in html
    assert reverse("market-listing", args=["supply", w.supply_private.pk]) not in html
    assert_nothing_of_a(html, w)


@pytest.mark.parametrize(
    "query", ["", "?kind=demand", f"?bbox={A_SITE_BOX}", f"?bbox={A_CELL_BOX}", "?bbox=x"]
)
def test_market_map_shows_anonymous_listings_at_their_cell_only(query, audit_world, db):
    """B's map: A's anonymous listings at their coarse cell, never A's site or name;
    a box around A's site finds them not, one around the cell does."""
    from symbiosis import geo

    w = audit_world
    response = _as(w, "member_b").get(reverse("market-map") + query)
    text = _text(response)
    assert_nothing_of_a(text, w, query)
    if query == "?bbox=x":
        assert response.status_code == 400
        return
    cell = list(geo.coarse(w.site_a.latitude, w.site_a.longitude))
    points = {(p["kind"], p["id"]): p for p in response.json().get("points", [])}
    kind, listing = (
        ("demand", w.demand_anonymous) if "demand" in query else ("supply", w.supply_anonymous)
    )
    if query == f"?bbox={A_SITE_BOX}":
        assert (kind, listing.pk) not in points
    else:
        point = points[(kind, listing.pk)]
        assert [point["lat"], point["lon"]] == cell
        assert point["owner"] is None


def test_market_distance_from_a_site_of_a_is_refused_to_b(audit_world, db):
    """B naming A's site as the origin must not measure from it (nor name it)."""
    w = audit_world
    client = _as(w, "member_b")
    from_a = _text(client.get(reverse("market") + f"?site={w.site_a.pk}&sort=distance"))
    from_nowhere = _text(client.get(reverse("market") + "?site=999999&sort=distance"))

    assert_nothing_of_a(from_a, w)
    # The same page as for a site that does not exist: nothing tells A's site apart.
    # Differing only in CSRF tokens and the echoed id.
    strip = re.compile(rf"[A-Za-z0-9]{{64}}|\b(999999|{w.site_a.pk})\b")
    assert strip.sub("", from_a) == strip.sub("", from_nowhere)


LISTING_QUERIES = [
    "",
    "?ordering=organization__name",
    "?ordering=-organization",
    "?ordering=site__name",
    "?ordering=site__address",
    "?ordering=tonnes",
    "?ordering=nonsense",
    "?district=zhetysu",
    "?visibility=anonymous",
    "?status=active",
    "?search=Zhetysu",
    "?page=abc",
    "?page=999",
    "?format=csv",
    "?format=api",
]


@pytest.mark.parametrize("kind", ["supplies", "demands"])
@pytest.mark.parametrize("query", LISTING_QUERIES)
def test_api_lists_hide_the_owner_of_anonymous_listings(kind, query, audit_world, db):
    w = audit_world
    response = _as(w, "member_b").get(f"/api/v1/{kind}/{query}")

    assert response.status_code < 500
    assert_nothing_of_a(_text(response), w, f"{kind}{query}")


OWNER_PARAMETERS = [
    "organization",
    "organization_id",
    "site",
    "site_id",
    "site__organization",
    "organization__name",
    "owner",
]


@pytest.mark.parametrize("kind", ["supplies", "demands"])
@pytest.mark.parametrize("parameter", OWNER_PARAMETERS)
def test_api_filters_do_not_narrow_down_by_owner(kind, parameter, audit_world, db):
    """Filtering by A's id must answer exactly as filtering by an id nobody has."""
    w = audit_world
    client = _as(w, "member_b")
    owner_values = {
        "site": w.site_a.pk,
        "site_id": w.site_a.pk,
        "organization__name": ORG_A_NAME,
    }
    value_of_a = owner_values.get(parameter, w.company_a.pk)
    nobody = "No Such Company" if parameter == "organization__name" else 987654

    with_a = client.get(f"/api/v1/{kind}/", {parameter: value_of_a})
    with_nobody = client.get(f"/api/v1/{kind}/", {parameter: nobody})

    assert with_a.status_code == with_nobody.status_code
    if with_a.status_code == 200:
        ids = lambda response: [row["id"] for row in response.json()["results"]]  # noqa: E731
        assert ids(with_a) == ids(with_nobody)


@pytest.mark.parametrize("kind", ["supply", "demand"])
def test_api_detail_of_anonymous_listing_has_no_owner_fields(kind, audit_world, db):
    w = audit_world
    listing = getattr(w, f"{kind}_anonymous")
    plural = "supplies" if kind == "supply" else "demands"
    row = _as(w, "member_b").get(f"/api/v1/{plural}/{listing.pk}/").json()

    owner_keys = {"organization", "organization_name", "site", "site_name", "site_address"}
    assert not owner_keys & set(row), row
    assert "latitude" not in row and "longitude" not in row


def test_introduction_reveals_the_owner_to_the_introduced_party_only(audit_world, db):
    """A's anonymous supply was introduced to C: C now sees A, the note and the price
    on every page that shows the listing; B still sees none of them."""
    w = audit_world
    detail = reverse("market-listing", args=["supply", w.supply_anonymous.pk])
    offer = reverse("marketplace:deal-new") + f"?supply={w.supply_anonymous.pk}"
    api = f"/api/v1/supplies/{w.supply_anonymous.pk}/"
    as_c, as_b = _as(w, "member_c"), _as(w, "member_b")

    for page in (detail, offer):
        html = _text(as_c.get(page))
        assert ORG_A_NAME in html and ANONYMOUS_SUPPLY_MARKER in html, page
        assert str(ANONYMOUS_SUPPLY_PRICE) in html.replace(",", "").replace("\xa0", ""), page
    row = as_c.get(api).json()
    assert row.get("organization_name") == ORG_A_NAME
    assert ANONYMOUS_SUPPLY_MARKER in row.get("description", "")
    assert ORG_A_NAME in _text(as_c.get(reverse("optimizer:my_proposals")))
    for page in (detail, offer, api, reverse("market") + "?kind=supply&sort=newest"):
        assert_nothing_of_a(_text(as_b.get(page)), w, f"B, {page}")
    assert_nothing_of_a(_text(as_b.get(reverse("optimizer:my_proposals"))), w, "B, introductions")


def test_before_the_introduction_c_does_not_see_the_owner(audit_world, db):
    """The rule is the approval: with the proposal rejected, C sees no owner either."""
    w = audit_world
    type(w.introduction).objects.filter(pk=w.introduction.pk).update(status="rejected")
    as_c = _as(w, "member_c")

    html = _text(as_c.get(reverse("market-listing", args=["supply", w.supply_anonymous.pk])))
    offer = _text(as_c.get(reverse("marketplace:deal-new") + f"?supply={w.supply_anonymous.pk}"))
    row = as_c.get(f"/api/v1/supplies/{w.supply_anonymous.pk}/").json()

    assert ORG_A_NAME not in html and SITE_A_NAME not in html
    assert_nothing_of_a(html + offer, w, "C before the introduction")
    assert "organization_name" not in row


def test_city_exports_name_no_company(audit_world, db):
    """CSV and JSON exports of every city table: figures, never A's identity."""
    w = audit_world
    client = _as(w, "analyst")
    tables = [*dashboard_selectors.TABLES, "headline"]
    rows_seen = 0
    for table in tables:
        for fmt in ("json", "csv"):
            response = client.get(reverse("api:city-table", args=[table]), {"format": fmt})
            assert response.status_code == 200, (table, fmt)
            text = _text(response)
            assert_nothing_of_a(text, w, f"{table}.{fmt}")
            if fmt == "csv":
                rows_seen += max(len(list(csv.reader(io.StringIO(text)))) - 1, 0)
    # The confirmed load of A is in the figures (so the check looked at real rows).
    assert rows_seen > 0


@pytest.mark.parametrize(("kind", "ext"), [("supply", "csv"), ("demand", "csv")])
def test_import_templates_carry_no_company_data(kind, ext, audit_world, db):
    w = audit_world
    response = _as(w, "member_b").get(reverse("listing-import-template", args=[kind, ext]))

    assert response.status_code == 200
    assert_nothing_of_a(_text(response), w)


# --- error pages: nothing of A, no server errors ------------------------------------------------

HUGE_ID = str(2**63)  # one past the largest 64-bit integer a database column holds


def _with_ids(route: str, value: str) -> str:
    """A URL for ``route`` with every parameter set: ids to ``value``, others plausible."""
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"<kind:\w+>", "supply", path)
    path = re.sub(r"<(int|path):\w+>|<\w+>|\(\?P<\w+>[^)]*\)", value, path)
    path = re.sub(r"<(str|slug):(\w+)>", lambda m: "headline" if m[2] == "table" else "x", path)
    return "/" + path


# Ids in query strings.
ID_QUERIES = [
    "/market/?site={id}",
    "/deals/new/?supply={id}",
    "/review/runs/compare/?a={id}&b={id}",
    "/listings/supply/duplicates/?site={id}&material={id}&exclude={id}",
    "/listings/materials/?material={id}",
    "/listings/tonnes/?quantity=1&unit=m3&material={id}",
    "/listings/demand/duplicates/?site={id}&materials={id}",
    "/api/v1/sites/?organization={id}",
    "/api/v1/deliveries/?deal={id}",
    "/api/v1/deals/?supply={id}",
    "/api/v1/supplies/?page={id}",
]


def _object_routes():
    return sorted(
        {
            route
            for _, route, _ in _patterns()
            if not route.startswith(ADMIN_PREFIX) and ("<int:" in route or "(?P<" in route)
        }
    )


# "²".isdigit() is true, but int("²") fails: a digit test is not a number test.
@pytest.mark.parametrize(
    "value",
    [HUGE_ID, "-1", "0", "²", "1e3"],
    ids=["huge", "negative", "zero", "superscript", "exp"],
)
def test_odd_ids_never_fail_the_server(value, audit_world, db):
    w = audit_world
    assert not settings.DEBUG
    failures = []
    for role in ("member_b", "facilitator"):
        client = _as(w, role)
        client.raise_request_exception = False
        for route in _object_routes():
            url = _with_ids(route, value)
            for method in (GET, POST):
                response = client.generic(method, url)
                if response.status_code >= 500:
                    failures.append(f"{method} {url} as {role}: {response.status_code}")
                if role == "member_b":
                    assert_nothing_of_a(_text(response), w, url)
        for url in ID_QUERIES:
            response = client.get(url.format(id=value))
            if response.status_code >= 500:
                failures.append(f"GET {url} as {role}: {response.status_code}")
            if role == "member_b":
                assert_nothing_of_a(_text(response), w, url)
    bulk = reverse("optimizer:proposals_bulk", args=[w.run.pk])
    response = client.post(bulk, {"ids": [value], "action": "reject", "reason": "x"})
    if response.status_code >= 500:
        failures.append(f"POST {bulk} ids={value}: {response.status_code}")
    assert not failures, failures


def test_error_pages_show_nothing_of_a(audit_world, db):
    w = audit_world
    assert not settings.DEBUG
    as_b = _as(w, "member_b")
    answers = {
        "404 html": as_b.get(reverse("market-listing", args=["supply", w.supply_private.pk])),
        "404 api": as_b.get(f"/api/v1/supplies/{w.supply_private.pk}/"),
        "404 deal": as_b.get(reverse("marketplace:deal-detail", args=[w.deal.pk])),
        "403 page": as_b.get(reverse("optimizer:run_detail", args=[w.run.pk])),
        "400 filter": as_b.get("/api/v1/supplies/", {"district": "nowhere", "status": "x"}),
        "400 host": as_b.get(reverse("home"), HTTP_HOST="evil.example"),
        "404 format": as_b.get("/api/v1/supplies/", {"format": "xml"}),
    }
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(w.member_b)
    answers["403 csrf"] = csrf.post(
        reverse("listing-status", args=["supply", w.supply_private.pk]), {"status": "paused"}
    )
    expected = {"404": 404, "403": 403, "400": 400}
    for name, response in answers.items():
        assert response.status_code == expected[name[:3]], (name, response.status_code)
        assert_nothing_of_a(_text(response), w, name)


# --- the browsable API and id filters -------------------------------------------------------


@pytest.mark.parametrize(
    "row",
    [pytest.param(row, id=row.id) for row in API_ROWS if row.api and row.method == GET],
)
@pytest.mark.parametrize("role", OUTSIDERS)
def test_browsable_api_shows_nothing_of_a(row, role, audit_world, db):
    """The HTML API renders forms with choices of related rows: none may be A's."""
    w = audit_world
    client = _as(w, role) if role != "anonymous" else Client()
    url = row.url(w)
    response = client.get(url + ("&" if "?" in url else "?") + "format=api")

    assert response.status_code < 500
    assert_nothing_of_a(_text(response), w, f"{url} as {role}")


ID_FILTERS = [
    ("/api/v1/deliveries/", "deal", lambda w: w.deal.pk),
    ("/api/v1/sites/", "organization", lambda w: w.company_a.pk),
    ("/api/v1/deals/", "supply", lambda w: w.supply_private.pk),
    ("/api/v1/deals/", "receiver", lambda w: w.company_c.pk),
    ("/api/v1/deals/", "supplier", lambda w: w.company_a.pk),
]


@pytest.mark.parametrize(("url", "parameter", "value"), ID_FILTERS)
def test_id_filters_answer_alike_for_hidden_and_missing_rows(
    url, parameter, value, audit_world, db
):
    """B filtering by an id of A's must learn nothing, not even that the row exists."""
    w = audit_world
    client = _as(w, "member_b")

    hidden = client.get(url, {parameter: value(w)})
    missing = client.get(url, {parameter: 987654})

    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("set_language", {"language": "ru", "next": "https://evil.example/"}),
        ("login", {"username": "admin-b@example.kz", "password": "correct-horse-9"}),
    ],
)
def test_no_open_redirect(route, data, audit_world, db):
    response = Client().post(reverse(route) + "?next=https://evil.example/", data)

    assert response.status_code in (200, 302)
    assert "evil.example" not in response.get("Location", "")


def test_import_preview_does_not_find_a_site_of_a(audit_world, db):
    """B's file naming A's site reads exactly like one naming a site nobody has."""
    w = audit_world
    client = _as(w, "member_b")
    header = "material,site,quantity,unit,recurrence,visibility,status\n"

    def preview(site_name):
        body = f"{header}spent-grain,{site_name},5,t,year,public,active\n".encode()
        upload = io.BytesIO(body)
        upload.name = "listings.csv"
        response = client.post(reverse("listing-import"), {"kind": "supply", "file": upload})
        assert response.status_code == 200
        return re.sub(r"[A-Za-z0-9]{64}", "", _text(response))

    named_a = preview(SITE_A_NAME)
    named_nobody = preview("Nowhere yard")

    assert named_a.replace(SITE_A_NAME, "Nowhere yard") == named_nobody
    assert_nothing_of_a(named_a.replace(SITE_A_NAME, ""), w)
