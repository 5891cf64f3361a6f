"""The world of the access-control audit (tests/security/test_access_audit.py).

Company A owns everything private here: a site with a secret address, a
private and an anonymous supply, a private and an anonymous demand, a deal
with company C (a delivery, a message), an optimization run with an open
proposal and an introduction (an approved proposal of A's anonymous supply
to C's demand). Company B is the outsider who must never see A's identity
or private rows; C is the party A was introduced to.

A has no public listing, so none of A's identifying strings (``SECRETS``)
may appear in any answer to anonymous users, B or the city analyst.

The world is built once per test module inside an outer transaction; each
test runs in a savepoint of it (pytest-django's ``db``), so a write one
test makes is rolled back before the next.
"""

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from knox.models import AuthToken

from marketplace.models import Deal, DealMessage, Delivery
from optimizer import decisions
from optimizer import services as optimizer_services
from symbiosis.models import (
    EmissionFactor,
    FactorSet,
    Invitation,
    QuestionMessage,
    QuestionThread,
)
from symbiosis.models.accounts import CITY_ANALYST_GROUP, FACILITATOR_GROUP
from tests import factories

ROLES = ("anonymous", "member_a", "member_b", "facilitator", "analyst")

ORG_A_NAME = "Zhetysu Secret Brewery LLP"
ORG_A_CONTACT = "Aigerim Secretova"
SITE_A_NAME = "Hidden malt yard"
SITE_A_ADDRESS = "77 Unlisted Street"
SITE_A_LATITUDE = Decimal("43.187654")
SITE_A_LONGITUDE = Decimal("76.876543")
PRIVATE_SUPPLY_NOTE = "Private grain lot, do not publish"
PRIVATE_DEMAND_NOTE = "Private intake, do not publish"
MESSAGE_BODY = "Our gate code is 4471, see you Monday"
TICKET_NUMBER = "WB-SECRET-7731"
ORG_C_NAME = "Talgar Partner Bakery"
ORG_A_EMAIL = "aigerim@zhetysu-secret.kz"
ORG_A_PHONE = "+7 701 555 0147"
# A's anonymous listings: the market shows what, how much and where roughly;
# their notes (naming A, as demo descriptions do) and prices never, until an introduction.
ANONYMOUS_SUPPLY_MARKER = "ANON-SUPPLY-5521"
ANONYMOUS_SUPPLY_NOTE = f"Ask {ORG_A_CONTACT} at {ORG_A_NAME}, {ANONYMOUS_SUPPLY_MARKER}"
ANONYMOUS_SUPPLY_PRICE = Decimal("73519")
ANONYMOUS_DEMAND_MARKER = "ANON-DEMAND-8834"
ANONYMOUS_DEMAND_NOTE = f"Jute for {ORG_A_NAME}, {ANONYMOUS_DEMAND_MARKER}"
ANONYMOUS_DEMAND_PRICE = Decimal("68237")


def _user(email, **fields):
    user = factories.UserFactory(email=email, **fields)
    return user


def _make_world():
    grain = factories.MaterialFactory(
        slug="spent-grain", name_en="Brewery spent grain", category="biomass"
    )
    feed = factories.UseFactory(slug="animal-feed", name_en="Animal feed")
    rule = factories.CompatibilityRuleFactory(material=grain, use=feed)
    factor_set = FactorSet.objects.create(
        version="audit-1",
        name="Audit factors",
        transport_kg_co2e_per_tkm=Decimal("0.1"),
        is_active=True,
    )
    EmissionFactor.objects.create(
        factor_set=factor_set,
        material=grain,
        kind="landfill",
        kg_co2e_per_t=Decimal("500"),
        source="test",
    )

    company_a = factories.OrganizationFactory(
        name=ORG_A_NAME,
        contact_name=ORG_A_CONTACT,
        contact_email=ORG_A_EMAIL,
        contact_phone=ORG_A_PHONE,
        agrees_to_be_named=False,
    )
    company_b = factories.OrganizationFactory(name="Bostandyk Rival LLP")
    company_c = factories.OrganizationFactory(name=ORG_C_NAME)

    member_a = factories.MembershipFactory(
        user=_user("admin-a@example.kz"), organization=company_a, role="admin"
    ).user
    plain_member_a = factories.MembershipFactory(
        user=_user("member-a@example.kz"), organization=company_a, role="member"
    )
    member_b = factories.MembershipFactory(
        user=_user("admin-b@example.kz"), organization=company_b, role="admin"
    ).user
    member_c = factories.MembershipFactory(
        user=_user("admin-c@example.kz"), organization=company_c, role="admin"
    ).user
    # As load_demo makes the facilitator: staff with view-only admin rights.
    facilitator = _user("facilitator@example.kz", is_staff=True)
    facilitator.groups.add(Group.objects.get_or_create(name=FACILITATOR_GROUP)[0])
    facilitator.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=("symbiosis", "marketplace", "optimizer"),
            codename__startswith="view_",
        )
    )
    analyst = _user("analyst@example.kz")
    analyst.groups.add(Group.objects.get_or_create(name=CITY_ANALYST_GROUP)[0])

    site_a = factories.SiteFactory(
        organization=company_a,
        name=SITE_A_NAME,
        address=SITE_A_ADDRESS,
        district="zhetysu",
        latitude=SITE_A_LATITUDE,
        longitude=SITE_A_LONGITUDE,
    )
    spare_site_a = factories.SiteFactory(organization=company_a, name="Spare yard A")
    site_b = factories.SiteFactory(
        organization=company_b, latitude=Decimal("43.300000"), longitude=Decimal("76.950000")
    )
    site_c = factories.SiteFactory(
        organization=company_c, latitude=Decimal("43.260000"), longitude=Decimal("76.900000")
    )

    def supply(visibility, **fields):
        return factories.SupplyListingFactory(
            organization=company_a,
            site=site_a,
            material=grain,
            visibility=visibility,
            available_from=None,
            available_until=None,
            **fields,
        )

    supply_private = supply("private", description=PRIVATE_SUPPLY_NOTE)
    supply_anonymous = supply(
        "anonymous",
        quantity=Decimal("321"),
        tonnes=Decimal("321"),
        description=ANONYMOUS_SUPPLY_NOTE,
        price_kzt_per_t=ANONYMOUS_SUPPLY_PRICE,
    )
    # A draft nothing refers to (deletable): the optimizer only reads active listings.
    supply_draft = supply("private", status="draft")
    # A's demands are for jute bags, which nobody offers: the optimizer pairs
    # A's supplies with C's demand only.
    jute = factories.MaterialFactory(slug="jute-bags", name_en="Jute bags", category="mixed")
    demand_private = factories.DemandListingFactory(
        organization=company_a,
        site=site_a,
        visibility="private",
        description=PRIVATE_DEMAND_NOTE,
        materials=[jute],
    )
    demand_anonymous = factories.DemandListingFactory(
        organization=company_a,
        site=site_a,
        visibility="anonymous",
        materials=[jute],
        description=ANONYMOUS_DEMAND_NOTE,
        max_price_kzt_per_t=ANONYMOUS_DEMAND_PRICE,
    )
    supply_b = factories.SupplyListingFactory(
        organization=company_b, site=site_b, material=grain, visibility="private"
    )
    demand_c = factories.DemandListingFactory(
        organization=company_c,
        site=site_c,
        visibility="public",
        materials=[grain],
        quantity=Decimal("1000"),
        tonnes=Decimal("1000"),
    )
    demand_c.uses.set([feed])

    # A deal of A (supplier, transports) with C, running, with a load and a message.
    agreed = date(2026, 1, 1)
    deal = Deal.objects.create(
        supplier=company_a,
        receiver=company_c,
        supply=supply_private,
        receiver_site=site_c,
        material=grain,
        tonnes_per_period=Decimal("10"),
        tonnes_total=Decimal("10"),
        period="year",
        transport_by="supplier",
        start_date=agreed,
        end_date=date(2026, 12, 31),
        initiator="supplier",
        state="active",
        supplier_accepted_at="2026-01-01T00:00:00Z",
        receiver_accepted_at="2026-01-01T00:00:00Z",
        price_kzt_per_t=Decimal("1234"),
    )
    delivery = Delivery.objects.create(
        deal=deal, date=date(2026, 3, 1), tonnes=Decimal("4"), ticket_number=TICKET_NUMBER
    )
    # A confirmed load too, so the city's figures and exports have a row from A.
    Delivery.objects.create(
        deal=deal,
        date=date(2026, 2, 1),
        tonnes=Decimal("3"),
        ticket_number="WB-OPEN-1",
        status="confirmed",
        confirmed_by=member_c,
        confirmed_at="2026-02-02T00:00:00Z",
    )
    message = DealMessage.objects.create(deal=deal, author=member_a, body=MESSAGE_BODY)

    # A real optimization run: A's two supplies (and B's) go to C's demand; the anonymous
    # one's proposal is approved (the introduction), the private one's stays open.
    run = optimizer_services.run_create(user=facilitator, enqueue=False)
    optimizer_services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    proposals = {p.supply_id: p for p in run.proposals.all()}
    assert {supply_private.pk, supply_anonymous.pk} <= set(proposals), proposals
    open_proposal = proposals[supply_private.pk]
    introduction = decisions.proposal_approve(
        user=facilitator, proposal=proposals[supply_anonymous.pk], note="introduced"
    )
    introduction_deal = Deal.objects.get(proposal=introduction)
    # A pending invitation into A, for the withdraw route.
    invitation_a = Invitation.objects.create(
        organization=company_a,
        email="invited-a@example.kz",
        role="member",
        invited_by=member_a,
        token_hash="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    token_a, _key = AuthToken.objects.create(user=member_a)
    # B asked about A's anonymous supply through the platform, and A answered: B
    # reads the thread without A named (its pages are searched like every other).
    question = QuestionThread.objects.create(
        supply=supply_anonymous, asking_organization=company_b, asked_by=member_b
    )
    QuestionMessage.objects.create(thread=question, side="asker", author=member_b, body="Dry?")
    QuestionMessage.objects.create(thread=question, side="lister", author=member_a, body="Yes.")

    return SimpleNamespace(
        material=grain,
        use=feed,
        rule=rule,
        factor_set=factor_set,
        company_a=company_a,
        company_b=company_b,
        company_c=company_c,
        member_a=member_a,
        plain_membership_a=plain_member_a,
        member_b=member_b,
        member_c=member_c,
        facilitator=facilitator,
        analyst=analyst,
        site_a=site_a,
        spare_site_a=spare_site_a,
        site_b=site_b,
        site_c=site_c,
        supply_private=supply_private,
        supply_anonymous=supply_anonymous,
        supply_draft=supply_draft,
        demand_private=demand_private,
        demand_anonymous=demand_anonymous,
        supply_b=supply_b,
        demand_c=demand_c,
        deal=deal,
        delivery=delivery,
        message=message,
        run=run,
        open_proposal=open_proposal,
        introduction=introduction,
        introduction_deal=introduction_deal,
        invitation_a=invitation_a,
        token_a=token_a,
        question=question,
    )


def renderings(price: Decimal) -> list[str]:
    """A whole price as pages may print it: plain ("73519.00" holds it), grouped in
    English ("73,519") or Russian (a no-break or plain space)."""
    grouped = f"{int(price):,}"
    return [str(int(price)), grouped, grouped.replace(",", "\xa0"), grouped.replace(",", " ")]


def secrets_of_a(world) -> list[str]:
    """Strings that identify A or its private rows: never shown to B, anonymous or analysts."""
    return [
        ORG_A_NAME,
        ORG_A_CONTACT,
        ORG_A_EMAIL,
        ORG_A_PHONE,
        world.company_a.bin,
        SITE_A_NAME,
        SITE_A_ADDRESS,
        str(SITE_A_LATITUDE),
        str(SITE_A_LONGITUDE),
        # Float renderings of the coordinates, rounded or not.
        str(float(SITE_A_LATITUDE)),
        str(float(SITE_A_LONGITUDE)),
        "43.18765",
        "76.87654",
        PRIVATE_SUPPLY_NOTE,
        PRIVATE_DEMAND_NOTE,
        MESSAGE_BODY,
        TICKET_NUMBER,
        # A's anonymous listings: shown to others without their notes and prices.
        ANONYMOUS_SUPPLY_MARKER,
        ANONYMOUS_DEMAND_MARKER,
        *renderings(ANONYMOUS_SUPPLY_PRICE),
        *renderings(ANONYMOUS_DEMAND_PRICE),
    ]


def _sessions(w) -> dict:
    """A logged-in session per role, made once with the world: each test's changes to
    it (a log-out, a new password) are rolled back with the test, and a log-in per
    request cost a third of the audit's time."""
    keys = {}
    for role in (*ROLES[1:], "plain_member_a"):
        user = w.plain_membership_a.user if role == "plain_member_a" else getattr(w, role)
        client = Client()
        client.force_login(user)
        keys[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return keys


@pytest.fixture(scope="module")
def audit_world(django_db_setup, django_db_blocker):
    """Built once per module in an outer transaction, rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
            ):
                built = _make_world()
                built.session_keys = _sessions(built)
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
