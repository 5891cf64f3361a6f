"""The world of the question tests (tests/symbiosis/test_questions.py and
tests/web/test_listing_questions.py): a lister A, an asker B, their identifying
strings, and a deal between them."""

from datetime import date
from decimal import Decimal

from marketplace import services as deal_services
from tests import factories

A_NAME = "Zhetysu Secret Brewery LLP"
A_EMAIL = "aigerim@zhetysu-secret.kz"
A_SITE = "Hidden malt yard"
A_ADDRESS = "77 Unlisted Street"
B_NAME = "Bostandyk Quiet Bakery LLP"
B_EMAIL = "baker@bostandyk-quiet.kz"
B_SITE = "Quiet oven yard"
B_ADDRESS = "12 Nameless Lane"


class World:
    pass


def build_world(*, facilitator, analyst) -> World:
    """A with an anonymous, a public and a private supply; B, a company that asks;
    an outsider company; a facilitator and an analyst (given)."""
    w = World()
    w.grain = factories.MaterialFactory(
        slug="spent-grain-q", name_en="Spent grain", name_ru="Дробина"
    )
    w.company_a = factories.OrganizationFactory(name=A_NAME, contact_email=A_EMAIL)
    w.lister = factories.MembershipFactory(
        organization=w.company_a, user=factories.UserFactory(email=A_EMAIL, first_name="Aigerim")
    ).user
    w.colleague_a = factories.MembershipFactory(organization=w.company_a, role="member").user
    w.site_a = factories.SiteFactory(organization=w.company_a, name=A_SITE, address=A_ADDRESS)
    w.supply = factories.SupplyListingFactory(
        organization=w.company_a, site=w.site_a, material=w.grain, visibility="anonymous"
    )
    w.public_supply = factories.SupplyListingFactory(
        organization=w.company_a, site=w.site_a, material=w.grain, visibility="public"
    )
    w.private_supply = factories.SupplyListingFactory(
        organization=w.company_a, site=w.site_a, material=w.grain, visibility="private"
    )
    w.company_b = factories.OrganizationFactory(name=B_NAME)
    w.asker = factories.MembershipFactory(
        organization=w.company_b, user=factories.UserFactory(email=B_EMAIL, first_name="Baurzhan")
    ).user
    w.colleague_b = factories.MembershipFactory(organization=w.company_b, role="member").user
    w.site_b = factories.SiteFactory(
        organization=w.company_b, name=B_SITE, address=B_ADDRESS, district="bostandyk"
    )
    w.outsider = factories.MembershipFactory(organization=factories.OrganizationFactory()).user
    w.facilitator = facilitator
    w.analyst = analyst
    return w


def secrets(*names):
    table = {
        "a": [A_NAME, A_EMAIL, A_SITE, A_ADDRESS, "Aigerim"],
        "b": [B_NAME, B_EMAIL, B_SITE, B_ADDRESS, "Baurzhan"],
    }
    return [s for name in names for s in table[name]]


def assert_absent(text: str, hidden: list[str], where: str = ""):
    found = [s for s in hidden if s.lower() in text.lower()]
    assert not found, f"{where}: {found} in {text[:3000]}"


def make_deal(world, supply):
    """A facilitator's draft deal of ``supply`` to B (as an introduction drafts it)."""
    demand = factories.DemandListingFactory(
        organization=world.company_b, site=world.site_b, visibility="private"
    )
    demand.materials.add(world.grain)
    return deal_services.deal_create(
        user=world.facilitator,
        supply=supply,
        demand=demand,
        tonnes_per_period=Decimal("10"),
        start_date=date(2027, 2, 1),
        end_date=date(2027, 6, 30),
    )
