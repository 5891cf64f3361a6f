"""Every write of the marketplace: deals, deliveries, messages.

One module per concern (after Zulip's ``actions``): ``policy`` (roles and the
transition tables, read by views, API and buttons alike), ``terms`` (periods
and the commitment check), ``records`` (locking a deal, its history, the
notices of a step), ``deals``, ``deliveries`` and ``messages``. Every service
is keyword-only, runs in one transaction and locks the deal row first, then
its supply listing (or delivery) rows, so two writes never wait on each other
in a cycle. Callers use the names below.
"""

from marketplace.services.deals import (
    TRANSITION_SERVICES,
    activation_default,
    deal_accept,
    deal_activate,
    deal_answer_introduction,
    deal_cancel,
    deal_complete,
    deal_create,
    deal_decline,
    deal_offer,
    deal_update_terms,
)
from marketplace.services.deliveries import (
    delivery_confirm,
    delivery_correct,
    delivery_dispute,
    delivery_log,
    delivery_reject,
    delivery_release,
)
from marketplace.services.messages import message_post
from marketplace.services.policy import (
    TRANSITIONS,
    allowed_actions,
    answering_parties,
    date_refusals,
    deal_is_visible_to,
    deal_roles,
    delivery_actions,
    delivery_roles,
    introduction_waiting_for,
    pending_amendment,
    permit_refusals,
)
from marketplace.services.records import notification_recipients
from marketplace.services.terms import (
    committing_states,
    months_spanned,
    overcommitment_error,
    supply_overcommitment_error,
    tonnes_per_year,
    tonnes_total_for,
)

__all__ = [
    "TRANSITIONS",
    "TRANSITION_SERVICES",
    "activation_default",
    "allowed_actions",
    "answering_parties",
    "committing_states",
    "date_refusals",
    "permit_refusals",
    "deal_accept",
    "deal_activate",
    "deal_answer_introduction",
    "deal_cancel",
    "deal_complete",
    "deal_create",
    "deal_decline",
    "deal_is_visible_to",
    "deal_offer",
    "deal_roles",
    "deal_update_terms",
    "delivery_actions",
    "delivery_confirm",
    "delivery_correct",
    "delivery_dispute",
    "delivery_log",
    "delivery_reject",
    "delivery_release",
    "delivery_roles",
    "introduction_waiting_for",
    "message_post",
    "months_spanned",
    "notification_recipients",
    "overcommitment_error",
    "pending_amendment",
    "permit_refusals",
    "supply_overcommitment_error",
    "tonnes_per_year",
    "tonnes_total_for",
]
