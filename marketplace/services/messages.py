"""Messages on a deal."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from marketplace.models import Deal, DealMessage
from marketplace.services.policy import deal_is_visible_to, deal_roles
from marketplace.services.records import notify


@transaction.atomic
def message_post(*, user, deal: Deal, body: str) -> DealMessage:
    """A message on the deal; the other party (and an introducing facilitator) get an e-mail."""
    roles = deal_roles(user=user, deal=deal)
    if not deal_is_visible_to(roles, deal):
        raise PermissionDenied(_("You have no part in this deal."))
    body = (body or "").strip()
    message = DealMessage(deal=deal, author=user, body=body)
    try:
        message.full_clean(exclude=["deal", "author"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    message.save()
    notify(deal, actor=user, kind="message", params={"body": body})
    return message
