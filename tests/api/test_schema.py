"""The OpenAPI schema generates cleanly and the docs page needs no CDN."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_endpoint_answers_a_logged_in_user(client_as, member_a):
    response = client_as(member_a).get("/api/schema/")

    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/supplies/", "/api/v1/demands/", "/api/v1/aggregates/listings/"):
        assert path in text


def test_schema_generates_without_warnings(tmp_path):
    # The command exits with an error on any warning, e.g. an unannotated view.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )

    assert "SupplyRedacted" in (tmp_path / "schema.yml").read_text()


def test_docs_page_uses_only_local_static(client_as, member_a, settings):
    response = client_as(member_a).get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", html)
    assert assets, "the docs page loads no script or stylesheet?"
    for asset in assets:
        assert not re.match(r"^(https?:)?//", asset), f"{asset} is not served by us"
        if asset.startswith(settings.STATIC_URL):
            assert finders.find(asset.removeprefix(settings.STATIC_URL)), f"{asset} is missing"
