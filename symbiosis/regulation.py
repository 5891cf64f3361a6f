"""The legal rules the platform applies (``LegalRule``): read by every page that
cites one, kept current by facilitators.

Each citation on a page comes from here, with its "not verified" mark where no one
has read the cited text; ``legal_rule_update`` records who changed a rule. The first rows come from
``fixtures/legal_rules.json`` (migration 0013, which adds only rules the database
lacks: a facilitator's edit is never overwritten).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from symbiosis import roles
from symbiosis.models.regulation import LegalRule

# What a facilitator may change on a rule; the key names it in code and stays.
EDITABLE_FIELDS = (
    "title",
    "act",
    "article",
    "act_date",
    "url",
    "quote",
    "gloss_en",
    "platform_does",
    "left_to_people",
    "verified",
    "note",
)


def legal_rule_list():
    """Every rule, the ones the platform applies (with what it does) first."""
    return LegalRule.objects.select_related("updated_by").order_by("key")


def _citation(rule: LegalRule) -> dict:
    return {
        "key": rule.key,
        "title": rule.title,
        "citation": rule.citation,
        "url": rule.url,
        "verified": rule.verified,
    }


def legal_rule_citations(*keys: str) -> list[dict]:
    """The citations of ``keys`` that are recorded, in that order (one query)."""
    rules = {rule.key: rule for rule in LegalRule.objects.filter(key__in=keys)}
    return [_citation(rules[key]) for key in keys if key in rules]


def legal_rule_update(*, user, rule: LegalRule, **fields) -> LegalRule:
    """A facilitator corrects a rule (after reading its text, ticks ``verified``)."""
    if not roles.is_facilitator(user):
        raise PermissionDenied(_("Facilitators keep the legal rules current."))
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        rule = LegalRule.objects.select_for_update().get(pk=rule.pk)
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.updated_by = user
        rule.full_clean()
        rule.save()
    return rule
