"""The legal rules as data: the fixture loads, facilitators alone correct a rule."""

import importlib
import json

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError

from symbiosis import regulation
from symbiosis.models import LegalRule

FIXTURE = regulation.__file__.rsplit("/", 1)[0] + "/fixtures/legal_rules.json"
MIGRATION = importlib.import_module("symbiosis.migrations.0013_legal_rules")


def fixture_rows() -> list[dict]:
    with open(FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def test_every_fixture_rule_is_a_valid_row_with_a_unique_key():
    rows = fixture_rows()
    assert len({row["key"] for row in rows}) == len(rows) >= 9
    for row in rows:
        LegalRule(**row).full_clean(validate_unique=False, validate_constraints=False)
    # Nothing the research could not read is marked verified without a note saying why.
    for row in rows:
        assert row["verified"] or row["note"], row["key"]


def test_the_rules_the_platform_applies_say_what_it_does_and_leaves_to_people():
    applied = {"landfill-ban", "hazardous-licence", "imported-origin", "waste-classifier"}
    rows = {row["key"]: row for row in fixture_rows()}
    for key in applied:
        assert rows[key]["platform_does"] and rows[key]["left_to_people"], key


@pytest.mark.django_db
def test_the_migration_adds_missing_rules_and_keeps_a_facilitators_edit(facilitator):
    LegalRule.objects.all().delete()
    MIGRATION.rules_load(apps, None)
    assert LegalRule.objects.count() == len(fixture_rows())

    rule = LegalRule.objects.get(key="landfill-ban")
    regulation.legal_rule_update(user=facilitator, rule=rule, article="art. 351", verified=True)
    LegalRule.objects.filter(key="state-language").delete()
    MIGRATION.rules_load(apps, None)

    rule.refresh_from_db()
    assert (rule.article, rule.verified, rule.updated_by) == ("art. 351", True, facilitator)
    assert LegalRule.objects.count() == len(fixture_rows())


@pytest.mark.django_db
def test_a_company_member_or_analyst_cannot_change_a_rule(member_a, analyst):
    rule = LegalRule.objects.create(key="a-rule", title="A rule", act="Code")
    for user in (member_a, analyst):
        with pytest.raises(PermissionDenied):
            regulation.legal_rule_update(user=user, rule=rule, verified=True)
    rule.refresh_from_db()
    assert rule.verified is False and rule.updated_by is None


@pytest.mark.django_db
def test_a_rule_without_its_act_or_with_an_unknown_field_is_refused(facilitator):
    rule = LegalRule.objects.create(key="a-rule", title="A rule", act="Code")
    with pytest.raises(ValidationError):
        regulation.legal_rule_update(user=facilitator, rule=rule, act="")
    with pytest.raises(ValueError):
        regulation.legal_rule_update(user=facilitator, rule=rule, key="renamed")
    rule.refresh_from_db()
    assert (rule.key, rule.act) == ("a-rule", "Code")


@pytest.mark.django_db
def test_a_citation_joins_act_article_and_date_and_says_whether_it_is_verified():
    LegalRule.objects.create(
        key="a-rule", title="A rule", act="Code No. 1", article="art. 2", act_date="2021-01-02"
    )
    assert regulation.legal_rule_citations("a-rule", "no-such-rule") == [
        {
            "key": "a-rule",
            "title": "A rule",
            "citation": "Code No. 1, art. 2, 2021-01-02",
            "url": "",
            "verified": False,
        }
    ]  # an unrecorded rule is left out: the page then cites nothing for it
