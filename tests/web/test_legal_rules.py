"""The page of legal rules: read by all who sign in, corrected by facilitators."""

import pytest
from django.urls import reverse

from symbiosis.models import LegalRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(db):
    # Migration 0013 may have loaded it already: the test sets what it reads.
    LegalRule.objects.filter(key="landfill-ban").delete()
    return LegalRule.objects.create(
        key="landfill-ban",
        title="Some wastes may not be landfilled",
        act="Environmental Code No. 400-VI",
        article="351 (to confirm)",
        note="Article text not read.",
    )


def test_a_company_reads_the_rules_with_their_status_but_cannot_edit(client_as, member_a, rule):
    text = client_as(member_a).get(reverse("legal-rules")).content.decode()

    assert "Some wastes may not be landfilled" in text
    assert "Environmental Code No. 400-VI, 351 (to confirm)" in text
    assert "not verified" in text
    assert reverse("legal-rule-edit", args=[rule.key]) not in text


def test_a_facilitator_verifies_a_rule_and_the_page_says_who(client_as, facilitator, rule):
    client = client_as(facilitator)
    assert reverse("legal-rule-edit", args=[rule.key]) in client.get("/legal/").content.decode()

    response = client.post(
        reverse("legal-rule-edit", args=[rule.key]),
        {
            "title": rule.title,
            "act": rule.act,
            "article": "351",
            "url": "adilet.zan.kz/rus/docs/K2100000400",
            "verified": "on",
            "note": "Read on adilet.",
        },
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.article, rule.verified, rule.updated_by) == ("351", True, facilitator)
    assert rule.url == "https://adilet.zan.kz/rus/docs/K2100000400"
    assert facilitator.email in client.get("/legal/").content.decode()


def test_a_bad_correction_is_shown_inline_and_changes_nothing(client_as, facilitator, rule):
    response = client_as(facilitator).post(
        reverse("legal-rule-edit", args=[rule.key]),
        {"title": rule.title, "act": "", "url": "not a url", "verified": "on"},
    )

    assert response.status_code == 200
    assert response.content.decode().count('role="alert"') == 2
    rule.refresh_from_db()
    assert (rule.act, rule.verified) == ("Environmental Code No. 400-VI", False)


def test_an_unknown_rule_is_404_for_a_facilitator(client_as, facilitator):
    assert client_as(facilitator).get("/legal/no-such-rule/edit/").status_code == 404
