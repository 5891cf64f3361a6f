"""Hostile input against the REST API: schemathesis on our own OpenAPI schema.

Every operation of the schema drf-spectacular serves at /api/schema/ gets
generated requests, valid and invalid (schemathesis' positive and negative
modes), sent in-process to the Django WSGI app with the token of a company
member or of a facilitator (alternating over the examples). Writes land in
the test database and roll back with it. Checks: no 5xx, and where the
schema documents the answer, the content type and body match it.

HOSTILE_API_EXAMPLES=200 runs a deeper pass (the default keeps the test
suite quick).

Generated ids almost never exist, so most requests would stop at a 404. A
deterministic share of them gets a real id instead (our company's site, a
deal we are part of...), so writes reach the serializers and the services.
"""

import os
import zlib

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from marketplace.models import Deal
from symbiosis import questions
from symbiosis.models import SavedSearch
from tests import factories
from tests.marketplace.conftest import (  # noqa: F401 (fixtures)
    company_c,
    make_deal,
    market,
    member_c,
)

MAX_EXAMPLES = int(os.environ.get("HOSTILE_API_EXAMPLES", "25"))  # per operation

# The very schema /api/schema/ serves (test_the_fuzzed_schema_is_the_served_one
# compares them); built here because collection happens before any database.
SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(
    SCHEMA,
    # Fuzzing only, a bounded number of requests per operation: the coverage
    # phase sends hundreds of boundary cases per operation (minutes per run).
    config=schemathesis.Config.from_dict(
        {"phases": {"coverage": {"enabled": False}}, "generation": {"max-examples": MAX_EXAMPLES}}
    ),
)
APP = get_wsgi_application()

CHECKS = [
    not_a_server_error,
    content_type_conformance,
    response_schema_conformance,
    # Not status_code_conformance: drf-spectacular documents the success code
    # of each operation only, and every 400/403/404 would be "undocumented".
    # Not negative_data_rejection: the real ids put into some negative cases
    # can make them valid on purpose.
]


@pytest.fixture
def wsgi_in_test_transaction():
    """The WSGI app in-process, inside the test's transaction.

    Django closes the database connection around every request it serves
    (``close_old_connections``); inside a test transaction that would end the
    test's transaction, so, like Django's own test client, we unhook it.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield APP
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(market, make_deal, member_a, member_b, facilitator):  # noqa: F811
    """Real rows the generated requests may hit, and a token per role."""
    deal = make_deal(Deal.State.ACTIVE)
    delivery = deal.deliveries.create(
        date=deal.start_date,
        tonnes=5,
        ticket_number="T-1",
        logged_by=member_b,
    )
    supply_b = market.supply.__class__.objects.create(
        organization=market.company_b,
        site=market.site_b,
        material=market.grain,
        quantity=30,
        unit="t",
        tonnes=30,
        recurrence="year",
        visibility="public",
        status="active",
    )
    rule = market.grain.rules.first()
    # A question of ours on B's listing, and a saved search of ours.
    question = questions.question_ask(user=member_a, listing=supply_b, body="Dry?").thread
    search = SavedSearch.objects.create(
        user=member_a, name="Grain", query={"kind": "supply"}, new_since=timezone.now()
    )
    return {
        "tokens": {
            "member": factories.api_token(member_a),
            "facilitator": factories.api_token(facilitator),
        },
        # Real values by the path a request goes to, then by parameter name.
        "paths": {
            "/api/v1/organizations/": market.company_a.pk,
            "/api/v1/sites/": market.site_a.pk,
            "/api/v1/supplies/": market.supply.pk,
            "/api/v1/demands/": market.demand.pk,
            "/api/v1/deals/": deal.pk,
            "/api/v1/deliveries/": delivery.pk,
            "/api/v1/movements/": delivery.pk,
            "/api/v1/materials/": market.grain.slug,
            "/api/v1/uses/": market.feed.slug,
            "/api/v1/compatibility-rules/": rule.pk,
            "/api/v1/factor-sets/": market.factor_set.pk,
            "/api/v1/questions/": question.pk,
            "/api/v1/saved-searches/": search.pk,
        },
        "body": {
            "organization": market.company_a.pk,
            "site": market.site_a.pk,
            "receiver_site": market.site_a.pk,
            "supply": supply_b.pk,
            "demand": market.demand.pk,
            "deal": deal.pk,
            "material": market.grain.slug,
            "reference_material": market.grain.slug,
            "materials": [market.grain.slug],
            "uses": [market.feed.slug],
            "terms_version": deal.terms_version,
            "listing": supply_b.pk,
        },
    }


def _often(value) -> bool:
    """Two generated values in three, chosen by the value itself (deterministic)."""
    return zlib.crc32(repr(value).encode()) % 3 != 0


def _aim_at_real_rows(case, world) -> None:
    for name, value in list((case.path_parameters or {}).items()):
        prefix = case.operation.path.split("{", 1)[0]
        if name in ("id", "slug") and prefix in world["paths"] and _often(value):
            case.path_parameters[name] = world["paths"][prefix]
    if isinstance(case.body, dict):
        for name, value in list(case.body.items()):
            if name in world["body"] and _often(value):
                case.body[name] = world["body"][name]


def _role(case) -> str:
    """Member or facilitator, alternating over the examples (deterministic)."""
    return "member" if zlib.crc32(repr(case).encode()) % 2 else "facilitator"


SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same requests on every run
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


# One pass with both roles, not one per role: it halves the run (about a
# minute of CPU for the whole schema) and each role still gets about half
# the examples of every operation.
@schema.parametrize()
@SETTINGS
def test_no_server_error_and_answers_match_the_schema(case, world, wsgi_in_test_transaction):
    _aim_at_real_rows(case, world)
    headers = {"Authorization": f"Token {world['tokens'][_role(case)]}"}
    response = case.call(app=APP, headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_the_fuzzed_schema_is_the_served_one(client, member_a):
    client.force_login(member_a)
    served = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert served.status_code == 200
    assert served.json()["paths"].keys() == SCHEMA["paths"].keys()
    assert served.json()["components"] == SCHEMA["components"]


def test_an_empty_csv_page_keeps_its_content_type(client, analyst):
    # Regression (found by the run above): an empty page of a city table was an
    # empty body, and DRF then drops the Content-Type header.
    client.force_login(analyst)
    response = client.get("/api/v1/city/month/", {"format": "csv", "offset": 10_000})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
