"""The deal transitions written out by hand: the spec both transition tests read.

``SPEC`` is the decision written out by hand; ``marketplace.services.TRANSITIONS``
is the table the services enforce. ``tests/marketplace/test_policy.py`` checks
the policy against it for every (action, situation, role) without a database;
``tests/marketplace/test_transitions.py`` calls the real services through the
database for every allowed case and a sample of refusals.

A situation is a state and what stands in it: who started a draft (and, for a
facilitator's introduction, which companies accepted it so far); who sent an
offer (its sender has accepted it); whether an active deal waits on an
amendment. Roles on top of the user's own (supplier, receiver, ...): the
"drafter" shapes and sends a draft (the side that started it; in an
introduction, either company once both accepted it); the "answering" party is
the one whose answer the terms on the table wait for.

Refusals: a user with no part in the deal (another company, an analyst, the
other party of a draft it cannot see) gets ``PermissionDenied``; a transition
the state does not allow (or an answer with nothing on the table) is a
``ValidationError``; a transition the state allows but not for the user's
role is ``PermissionDenied``.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError

from marketplace.models import Deal

STATES = [state.value for state in Deal.State]
ACTIONS = ["offer", "update_terms", "accept", "decline", "activate", "complete", "cancel"]
ROLES = ["supplier", "receiver", "other", "facilitator", "analyst"]
PARTIES = {"supplier", "receiver"}
PARTIES_OR_FACILITATOR = {"supplier", "receiver", "facilitator"}

# (action, state) -> roles allowed.
SPEC = {
    ("offer", "draft"): {"drafter"},
    ("update_terms", "draft"): {"drafter"},
    ("update_terms", "offered"): PARTIES,
    ("update_terms", "accepted"): PARTIES,
    ("update_terms", "active"): PARTIES,  # an amendment, for the other party to answer
    ("accept", "offered"): {"answering"},
    ("accept", "active"): {"answering"},  # the amendment waiting
    ("decline", "offered"): {"answering"},
    ("decline", "active"): {"answering"},
    ("activate", "accepted"): PARTIES,
    ("complete", "active"): PARTIES,
    ("cancel", "draft"): {"drafter", "facilitator"},
    ("cancel", "offered"): PARTIES_OR_FACILITATOR,
    ("cancel", "accepted"): PARTIES_OR_FACILITATOR,
    ("cancel", "active"): PARTIES_OR_FACILITATOR,
}
# The state each allowed action leads to (accepting an offer: once both accepted).
TARGET = {
    "offer": "offered",
    "update_terms": {"draft": "draft", "offered": "offered", "accepted": "offered"},
    "accept": {"offered": "accepted", "active": "active"},
    "decline": {"offered": "declined", "active": "active"},
    "activate": "active",
    "complete": "completed",
    "cancel": "cancelled",
}
# The history line of an allowed action, where it is not the action's own name.
EVENT = {
    ("update_terms", "active"): "amendment_proposed",
    ("accept", "active"): "amendment_accepted",
    ("decline", "active"): "amendment_declined",
}


def target_of(action: str, state: str) -> str:
    target = TARGET[action]
    return target if isinstance(target, str) else target.get(state, state)


@dataclass(frozen=True)
class Situation:
    name: str
    state: str
    initiator: str = "supplier"
    # Introductions (a facilitator's draft from a proposal): the answers so far.
    introduction: tuple[str, str] | None = None
    # Parties whose acceptance of the current terms is recorded.
    accepted: frozenset = field(default_factory=frozenset)
    amendment_by: str = ""  # an active deal's pending amendment, proposed by this party

    @property
    def answering(self) -> set[str]:
        if self.state == "offered":
            return PARTIES - self.accepted
        if self.amendment_by:
            return PARTIES - {self.amendment_by}
        return set()

    def drafter(self, role: str) -> bool:
        if role not in PARTIES:
            return False
        if self.initiator == "facilitator":
            return self.introduction is None or self.introduction == ("accepted", "accepted")
        return role == self.initiator


SITUATIONS = [
    Situation("draft-by-supplier", "draft"),
    Situation("draft-by-receiver", "draft", initiator="receiver"),
    Situation("draft-by-facilitator", "draft", initiator="facilitator"),
    Situation(
        "introduction-waiting", "draft", initiator="facilitator", introduction=("accepted", "")
    ),
    Situation(
        "introduction-accepted",
        "draft",
        initiator="facilitator",
        introduction=("accepted", "accepted"),
    ),
    Situation("offered-by-supplier", "offered", accepted=frozenset({"supplier"})),
    Situation("offered-by-receiver", "offered", accepted=frozenset({"receiver"})),
    Situation("offered-unanswered", "offered"),  # offered before sending meant accepting
    Situation("accepted", "accepted", accepted=frozenset(PARTIES)),
    Situation("active", "active", accepted=frozenset(PARTIES)),
    Situation(
        "active-amendment-by-supplier",
        "active",
        accepted=frozenset(PARTIES),
        amendment_by="supplier",
    ),
    Situation("completed", "completed", accepted=frozenset(PARTIES)),
    Situation("declined", "declined"),
    Situation("cancelled", "cancelled"),
]


def sees(role: str, situation: Situation) -> bool:
    if role in ("other", "analyst"):
        return False
    if situation.state == "draft":
        return role in (situation.initiator, "facilitator") or (
            situation.initiator == "facilitator" and role in PARTIES
        )
    return True


def expected_outcome(action: str, situation: Situation, role: str):
    """ "ok", PermissionDenied or ValidationError."""
    if not sees(role, situation):
        return PermissionDenied
    allowed = SPEC.get((action, situation.state))
    if allowed is None:
        return ValidationError
    if (
        action in ("accept", "decline")
        and situation.state == "active"
        and not situation.amendment_by
    ):
        return ValidationError  # nothing on the table to answer
    roles = {role}
    if situation.drafter(role):
        roles.add("drafter")
    if role in situation.answering:
        roles.add("answering")
    return "ok" if roles & allowed else PermissionDenied


def cases():
    """Every (action, situation, role) with its expected outcome."""
    for action in ACTIONS:
        for situation in SITUATIONS:
            for role in ROLES:
                yield action, situation, role, expected_outcome(action, situation, role)
