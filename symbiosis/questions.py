"""Questions to a lister, asked and answered without either side being named.

A member of a company asks about a listing it may see (``visibility.listing_visible``;
any other is a 404, as the listing page is); the thread is the asking
organization's, one per listing, and every member of either organization reads
it. Facilitators read every thread and write in none (they are no party; a
facilitator who is also a company's member writes as that company).

Who is named to whom (``ThreadView.who``):

- the **lister** to the asker: as the listing's card names it (``listing_hides_owner``:
  public or introduced listings name their owner, anonymous ones do not);
- the **asker** to the lister: never, as "Asker N" (the order in which the
  listing's askers first asked), even on a public listing: asking is not
  offering, and the asker decides when to make itself known (a deal or an
  introduction);
- **both** once the thread has joined a deal between the two on this listing
  (``joined_at``, stamped by the marketplace when it drafts the deal:
  ``question_threads_join_deal``), as the deal page names them.

Each message stores its side; a page names its author from the side and the
thread's state alone. Notifications (``notify``) carry the same labels, never an
organization's or a user's name, and the thread's address, never the listing's
owner's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from symbiosis import notifications, visibility
from symbiosis.models import DemandListing, SupplyListing, User
from symbiosis.models.questions import QuestionMessage, QuestionThread

ASKER = QuestionMessage.Side.ASKER
LISTER = QuestionMessage.Side.LISTER
FACILITATOR = "facilitator"

THREAD_RELATED = ("supply__material", "supply__organization", "demand__organization")


# --- who the viewer is in a thread ----------------------------------------------------------


def viewer_side(viewer, thread: QuestionThread, listing=None) -> str | None:
    """ "lister", "asker" or "facilitator" (reads only), or None: no business here.

    A member of both organizations (never the same one: nobody asks its own
    listing) writes as the lister."""
    viewer = visibility.as_viewer(viewer)
    listing = listing or thread.listing
    if listing.organization_id in viewer.organization_ids:
        return LISTER
    if thread.asking_organization_id in viewer.organization_ids:
        return ASKER
    if viewer.is_facilitator:
        return FACILITATOR
    return None


def _asker_number(thread: QuestionThread) -> int:
    """The thread's place among its listing's threads, oldest first: "Asker 2"."""
    field = "supply_id" if thread.supply_id else "demand_id"
    return QuestionThread.objects.filter(**{field: thread.listing_id}, pk__lte=thread.pk).count()


def _asker_label(number: int):
    return gettext_lazy("Asker %(n)s") % {"n": number}


@dataclass
class ThreadView:
    """A thread as one viewer may be shown it: the names are decided here."""

    thread: QuestionThread
    side: str  # the viewer's
    card: visibility.ListingCard
    asker_number: int

    @property
    def joined(self) -> bool:
        return self.thread.joined_at is not None

    @property
    def lister_name(self) -> str:
        """The lister as the viewer may be shown it."""
        if self.side != ASKER or self.joined:
            return self.thread.listing.organization.name
        return self.card.owner_name or _("The lister")

    @property
    def asker_name(self) -> str:
        if self.side != LISTER or self.joined:
            return self.thread.asking_organization.name
        return str(_asker_label(self.asker_number))

    def who(self, message: QuestionMessage) -> str:
        """The author of ``message`` as the viewer may be shown it."""
        if message.side == self.side:
            return _("Your organization")
        return self.asker_name if message.side == ASKER else self.lister_name

    @property
    def messages(self) -> list:
        rows = list(self.thread.messages.all())
        for message in rows:
            message.who = self.who(message)
            message.mine = message.side == self.side
        return rows

    @property
    def unread(self) -> bool:
        read = {LISTER: self.thread.lister_read_at, ASKER: self.thread.asker_read_at}.get(self.side)
        return self.side in (LISTER, ASKER) and (read is None or read < self.thread.last_message_at)

    @property
    def may_write(self) -> bool:
        return self.side in (LISTER, ASKER)

    @property
    def url(self) -> str:
        return reverse("question-thread", args=[self.thread.pk])


def thread_view(*, user, thread: QuestionThread) -> ThreadView:
    viewer = visibility.as_viewer(user)
    side = viewer_side(viewer, thread)
    if side is None:
        raise Http404("No such question.")
    card = visibility.listing_card(user=viewer, listing=thread.listing)
    return ThreadView(thread, side, card, _asker_number(thread))


# --- reading ----------------------------------------------------------------------------------


def _threads() -> QuerySet[QuestionThread]:
    return QuestionThread.objects.select_related(
        *THREAD_RELATED, "asking_organization"
    ).prefetch_related("messages")


def question_thread_get(*, user, thread_id: int) -> ThreadView:
    """The thread as ``user`` may see it; 404 for anyone who is no party nor a facilitator."""
    thread = _threads().filter(pk=thread_id).first()
    if thread is None:
        raise Http404("No such question.")
    return thread_view(user=user, thread=thread)


def question_thread_list(*, user, listing) -> list[ThreadView]:
    """The threads on ``listing`` that ``user`` reads: all of them for the lister's
    members and facilitators, the own organizations' for askers, newest first."""
    viewer = visibility.as_viewer(user)
    field = "supply" if isinstance(listing, SupplyListing) else "demand"
    threads = _threads().filter(**{field: listing})
    if not (viewer.is_facilitator or listing.organization_id in viewer.organization_ids):
        threads = threads.filter(asking_organization_id__in=viewer.organization_ids)
    threads = list(threads)
    # Numbered by first question on the listing, oldest first (one query).
    on_listing = QuestionThread.objects.filter(**{field: listing})
    order = list(on_listing.order_by("pk").values_list("pk", flat=True))
    card = visibility.listing_card(user=viewer, listing=listing)
    views = []
    for thread in threads:
        setattr(thread, field, listing)
        side = viewer_side(viewer, thread, listing)
        if side is not None:
            views.append(ThreadView(thread, side, card, order.index(thread.pk) + 1))
    return views


def _read_q(side: str) -> Q:
    """Threads with a message the ``side`` has not read."""
    read_at = f"{side}_read_at"
    return Q(**{f"{read_at}__isnull": True}) | Q(**{f"{read_at}__lt": F("last_message_at")})


def question_thread_list_for(*, user, side: str | None = None, unread: bool | None = None):
    """Every thread ``user`` reads, newest message first: those on the own
    organizations' listings (as the lister) and those the own organizations
    asked (as the asker); facilitators read all. ``side`` ("lister" or "asker")
    keeps the threads the user reads from that side (as ``viewer_side`` decides:
    the lister's side first); ``unread`` those with (or without) a message the
    user's side has not read (a facilitator's side reads nothing)."""
    viewer = visibility.as_viewer(user)
    orgs = viewer.organization_ids
    listing_mine = Q(supply__organization_id__in=orgs) | Q(demand__organization_id__in=orgs)
    asked_mine = Q(asking_organization_id__in=orgs) & ~listing_mine
    threads = _threads()
    if not viewer.reads_company_data:
        return threads.none()
    if not viewer.is_facilitator:
        threads = threads.filter(listing_mine | Q(asking_organization_id__in=orgs))
    if side == LISTER:
        threads = threads.filter(listing_mine)
    elif side == ASKER:
        threads = threads.filter(asked_mine)
    if unread is not None:
        new = (listing_mine & _read_q(LISTER)) | (asked_mine & _read_q(ASKER))
        threads = threads.filter(new) if unread else threads.exclude(new)
    return threads


def question_thread_views(*, user, threads) -> list[ThreadView]:
    """``threads`` (read through ``question_thread_list_for``) as ``user`` may be
    shown them, numbered among their listings' askers in one query."""
    viewer = visibility.as_viewer(user)
    threads = list(threads)
    supply_ids = {t.supply_id for t in threads if t.supply_id}
    demand_ids = {t.demand_id for t in threads if t.demand_id}
    on_listings = QuestionThread.objects.filter(
        Q(supply_id__in=supply_ids) | Q(demand_id__in=demand_ids)
    ).order_by("pk")
    numbers, seen = {}, {}
    for pk, supply_id, demand_id in on_listings.values_list("pk", "supply_id", "demand_id"):
        key = ("supply", supply_id) if supply_id else ("demand", demand_id)
        seen[key] = seen.get(key, 0) + 1
        numbers[pk] = seen[key]
    introduced = {
        model: visibility.introduced_listing_ids(viewer=viewer, model=model)
        for model in (SupplyListing, DemandListing)
    }
    views = []
    for thread in threads:
        listing = thread.listing
        side = viewer_side(viewer, thread, listing)
        if side is None:
            continue
        card = visibility.listing_card(
            user=viewer, listing=listing, introduced_ids=introduced[type(listing)]
        )
        views.append(ThreadView(thread, side, card, numbers[thread.pk]))
    return views


def unread_count(*, user, listing) -> int:
    """Threads on the user's own ``listing`` with messages the lister has not read."""
    viewer = visibility.as_viewer(user)
    if listing.organization_id not in viewer.organization_ids:
        return 0
    field = "supply" if isinstance(listing, SupplyListing) else "demand"
    return (
        QuestionThread.objects.filter(**{field: listing})
        .filter(Q(lister_read_at__isnull=True) | Q(lister_read_at__lt=F("last_message_at")))
        .count()
    )


def _deal_condition(deal) -> Q:
    """The threads ``deal`` continues: the receiver's questions on its supply, the
    supplier's on its demand. ``deal``: anything with ``supply_id``, ``demand_id``,
    ``supplier_id`` and ``receiver_id`` (the marketplace's Deal; the core does not
    import it)."""
    condition = Q(supply_id=deal.supply_id, asking_organization_id=deal.receiver_id)
    if deal.demand_id is not None:
        condition |= Q(demand_id=deal.demand_id, asking_organization_id=deal.supplier_id)
    return condition


def question_threads_for_deal(*, deal) -> list[ThreadView]:
    """The threads a deal continues, for its page (which checked the deal is the
    viewer's to see). Both sides are named: a deal names its parties."""
    views = []
    for thread in _threads().filter(_deal_condition(deal)).order_by("created_at", "pk"):
        # Read as a facilitator reads it: both sides named, as the deal names them.
        views.append(ThreadView(thread, FACILITATOR, None, 0))
    return views


# --- writing ----------------------------------------------------------------------------------


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    message = QuestionMessage(body=body)
    try:
        message.clean_fields(exclude=["thread", "author", "side", "at"])
    except ValidationError as exc:
        raise ValidationError({"body": exc.message_dict["body"]}) from exc
    return body


def asking_organizations(*, user, listing) -> list[int]:
    """The organizations ``user`` may ask ``listing``'s lister for: the own ones but the lister."""
    viewer = visibility.as_viewer(user)
    return sorted(pk for pk in viewer.organization_ids if pk != listing.organization_id)


def question_ask(*, user, listing, body: str, organization_id: int | None = None):
    """A question (or a follow-up) from ``user``'s organization to ``listing``'s lister.

    404 for a listing the user may not see; ``PermissionDenied`` for the lister's
    own members, facilitators who are no company's members and city analysts;
    ``ValidationError`` (by field) for an empty or too long text or an unnamed
    organization when the user has several. The lister's members are told."""
    viewer = visibility.as_viewer(user)
    if not visibility.listing_visible(user=viewer, listing=listing):
        raise Http404("No such listing.")
    own = asking_organizations(user=viewer, listing=listing)
    if not own:
        if listing.organization_id in viewer.organization_ids:
            raise PermissionDenied(_("This is your own listing."))
        raise PermissionDenied(_("Questions are asked by members of an organization."))
    if organization_id is None and len(own) == 1:
        organization_id = own[0]
    if organization_id not in own:
        raise ValidationError({"organization": [_("Say which of your organizations asks.")]})
    body = _clean_body(body)
    field = "supply" if isinstance(listing, SupplyListing) else "demand"
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                thread, _created = QuestionThread.objects.get_or_create(
                    **{field: listing},
                    asking_organization_id=organization_id,
                    defaults={"asked_by": user, "created_at": now},
                )
        except IntegrityError:  # the same organization asked at the same moment
            thread = QuestionThread.objects.get(
                **{field: listing}, asking_organization_id=organization_id
            )
        thread = QuestionThread.objects.select_for_update().get(pk=thread.pk)
        message = QuestionMessage.objects.create(
            thread=thread, side=ASKER, author=user, body=body, at=now
        )
        QuestionThread.objects.filter(pk=thread.pk).update(last_message_at=now, asker_read_at=now)
        thread.refresh_from_db()
        _notify(thread, listing, message, recipients_org=listing.organization_id)
    return message


def question_answer(*, user, thread: QuestionThread, body: str) -> QuestionMessage:
    """The lister's answer on ``thread``; the asking organization's members are told."""
    viewer = visibility.as_viewer(user)
    side = viewer_side(viewer, thread)
    if side is None:
        raise Http404("No such question.")
    if side != LISTER:
        raise PermissionDenied(_("Only the lister answers here."))
    body = _clean_body(body)
    now = timezone.now()
    with transaction.atomic():
        thread = QuestionThread.objects.select_for_update().get(pk=thread.pk)
        message = QuestionMessage.objects.create(
            thread=thread, side=LISTER, author=user, body=body, at=now
        )
        changes = {"last_message_at": now, "lister_read_at": now}
        if thread.answered_at is None:
            changes["answered_at"] = now
        QuestionThread.objects.filter(pk=thread.pk).update(**changes)
        thread.refresh_from_db()
        _notify(thread, thread.listing, message, recipients_org=thread.asking_organization_id)
    return message


def question_reply(*, user, thread: QuestionThread, body: str) -> QuestionMessage:
    """A message on ``thread`` from whichever side ``user`` is on (facilitators: 403)."""
    side = viewer_side(user, thread)
    if side == ASKER:
        if not visibility.listing_visible(user=user, listing=thread.listing):
            raise ValidationError(
                {"body": [_("The listing is no longer on the market: nothing can be added.")]}
            )
        return question_ask(
            user=user,
            listing=thread.listing,
            body=body,
            organization_id=thread.asking_organization_id,
        )
    return question_answer(user=user, thread=thread, body=body)


def question_mark_read(*, user, thread: QuestionThread) -> None:
    """The viewer's side has read ``thread`` up to now (facilitators mark nothing)."""
    side = viewer_side(user, thread)
    field = {LISTER: "lister_read_at", ASKER: "asker_read_at"}.get(side)
    if field:
        QuestionThread.objects.filter(pk=thread.pk).update(**{field: timezone.now()})


def question_threads_join_deal(*, deal) -> int:
    """A deal between the two on the listing: its threads name both sides from now on.
    Called by the marketplace when it drafts a deal; the number of threads joined."""
    return QuestionThread.objects.filter(_deal_condition(deal), joined_at__isnull=True).update(
        joined_at=timezone.now()
    )


# --- telling the other side ------------------------------------------------------------------


def _what(listing) -> dict:
    """The listing's material in every language (what the lister's card shows anyone)."""
    material = listing.material if isinstance(listing, SupplyListing) else None
    if isinstance(listing, DemandListing):
        material = listing.reference_material or listing.materials.first()
    if material is None:
        return {}
    return material.names()


def _notify(thread: QuestionThread, listing, message: QuestionMessage, *, recipients_org) -> None:
    """Tell the other organization's members: with the side's label, never a name."""
    recipients = (
        User.objects.filter(memberships__organization_id=recipients_org, is_active=True)
        .exclude(pk=message.author_id)
        .distinct()
        .order_by("email")
    )
    # The label the recipients read: the lister never learns the asker's name, and
    # the asker learns the lister's only where the card names it (or a deal followed).
    # Kept as a name or a number, for the template to word in the recipient's language.
    if message.side == ASKER:
        name = thread.asking_organization.name if thread.joined_at else ""
    elif thread.joined_at:
        name = listing.organization.name
    else:
        card = visibility.listing_card(user=_org_viewer(recipients_org), listing=listing)
        name = card.owner_name or ""
    notifications.notify(
        recipients=list(recipients),
        kind="question_asked" if message.side == ASKER else "question_answered",
        params={
            "listing_kind": thread.kind,
            "listing": thread.listing_id,
            "what": _what(listing),
            "who": name,
            "asker": _asker_number(thread) if message.side == ASKER else 0,
            "body": message.body,
        },
        url=reverse("question-thread", args=[thread.pk]),
        # No actor: the row must not point at the writer.
    )


def _org_viewer(organization_id: int) -> visibility.Viewer:
    """The viewer an organization's plain member is (for what its card names)."""
    return visibility.Viewer(
        is_authenticated=True,
        is_facilitator=False,
        is_city_analyst=False,
        organization_ids=frozenset({organization_id}),
        admin_organization_ids=frozenset(),
    )
