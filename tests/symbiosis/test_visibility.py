"""The one visibility rule (symbiosis/visibility.py): its Python predicates and
their query twins agree, and a listing card shows a hidden owner's listing
with nothing but ``SHOWN_WHEN_OWNER_HIDDEN``."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.template import Context, Template
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from optimizer.models import MatchProposal, OptimizationRun
from symbiosis import geo, visibility
from symbiosis.api import serializers
from symbiosis.models import DemandListing, SupplyListing
from symbiosis.visibility import SHOWN_WHEN_OWNER_HIDDEN, Viewer
from tests import factories

pytestmark = pytest.mark.django_db

ORGANIZATIONS = 3

# --- the predicates and their query twins agree -------------------------------------------

listing_spec = st.tuples(
    st.integers(0, ORGANIZATIONS - 1),  # owner
    st.sampled_from(["public", "anonymous", "private"]),
    st.sampled_from(["draft", "active", "paused", "closed"]),
)
viewer_spec = st.builds(
    Viewer,
    is_authenticated=st.booleans(),
    is_facilitator=st.booleans(),
    is_city_analyst=st.booleans(),
    organization_ids=st.frozensets(st.integers(0, ORGANIZATIONS - 1), max_size=2),
    admin_organization_ids=st.just(frozenset()),
)
# (supply index, demand index, status) of proposals; "approved" introduces the owners.
proposal_spec = st.tuples(
    st.integers(0, 5), st.integers(0, 5), st.sampled_from(["proposed", "approved", "rejected"])
)


def _world(supplies, demands, proposals):
    organizations = [factories.OrganizationFactory() for _ in range(ORGANIZATIONS)]
    sites = [factories.SiteFactory(organization=org) for org in organizations]
    material = factories.MaterialFactory()
    rows = {SupplyListing: [], DemandListing: []}
    for owner, seen_as, status in supplies:
        rows[SupplyListing].append(
            factories.SupplyListingFactory(
                organization=organizations[owner],
                site=sites[owner],
                material=material,
                visibility=seen_as,
                status=status,
            )
        )
    for owner, seen_as, status in demands:
        rows[DemandListing].append(
            factories.DemandListingFactory(
                organization=organizations[owner],
                site=sites[owner],
                visibility=seen_as,
                status=status,
            )
        )
    run = OptimizationRun.objects.create(status="succeeded")
    pairs = set()
    for supply_index, demand_index, status in proposals:
        pair = (supply_index % len(supplies), demand_index % len(demands))
        if pair in pairs:
            continue  # one proposal per pair and run
        pairs.add(pair)
        MatchProposal.objects.create(
            run=run,
            supply=rows[SupplyListing][pair[0]],
            demand=rows[DemandListing][pair[1]],
            material=material,
            status=status,
            tonnes=1.0,
            road_km=1.0,
            tonnes_diverted_from_landfill=1.0,
            fate_kg_co2e_avoided=0.0,
            transport_kg_co2e_added=0.0,
            virgin_kg_co2e_avoided=0.0,
            net_kg_co2e_saved=0.0,
        )
    return organizations, rows


def _as_world_viewer(viewer: Viewer, organizations) -> Viewer:
    """The drawn viewer with its organization indexes turned into ids."""
    ids = frozenset(organizations[i].pk for i in viewer.organization_ids)
    return Viewer(
        is_authenticated=viewer.is_authenticated,
        is_facilitator=viewer.is_facilitator,
        is_city_analyst=viewer.is_city_analyst,
        organization_ids=ids if viewer.is_authenticated else frozenset(),
        admin_organization_ids=frozenset(),
    )


@settings(
    max_examples=40,
    deadline=None,
    # A failure prints the falsifying world and the blob that replays it
    # (@reproduce_failure); nothing is kept between runs.
    print_blob=True,
    database=None,
    # Each example runs in its own rolled-back transaction inside the test's.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    supplies=st.lists(listing_spec, min_size=1, max_size=6),
    demands=st.lists(listing_spec, min_size=1, max_size=6),
    proposals=st.lists(proposal_spec, max_size=6),
    viewers=st.lists(viewer_spec, min_size=1, max_size=4),
)
def test_the_predicates_and_the_query_conditions_agree(db, supplies, demands, proposals, viewers):
    note(f"supplies={supplies} demands={demands} proposals={proposals} viewers={viewers}")
    with transaction.atomic():
        organizations, rows = _world(supplies, demands, proposals)
        for drawn in viewers:
            viewer = _as_world_viewer(drawn, organizations)
            for model, listings in rows.items():
                everything = model.objects.all()
                in_sql = set(
                    visibility.visible_listings(everything, viewer).values_list("pk", flat=True)
                )
                in_python = {
                    row.pk
                    for row in listings
                    if visibility.listing_visible(user=viewer, listing=row)
                }
                assert in_sql == in_python, (viewer, model.__name__, "visible")

                introduced = visibility.introduced_listing_ids(viewer=viewer, model=model)
                condition = visibility.hides_owner_q(viewer=viewer, introduced_ids=introduced)
                hidden_sql = (
                    set(everything.filter(condition).values_list("pk", flat=True))
                    if condition is not None
                    else set()
                )
                hidden_python = {
                    row.pk
                    for row in listings
                    if visibility.listing_hides_owner(user=viewer, listing=row)
                }
                assert hidden_sql == hidden_python, (viewer, model.__name__, "hides owner")
        transaction.set_rollback(True)


# --- what a card shows ------------------------------------------------------------------------


@pytest.fixture
def anonymous_supply(company_a, spent_grain):
    site = factories.SiteFactory(
        organization=company_a,
        name="Secret yard",
        address="5 Hidden Lane",
        latitude=Decimal("43.187654"),
        longitude=Decimal("76.876543"),
    )
    return factories.SupplyListingFactory(
        organization=company_a,
        site=site,
        material=spent_grain,
        visibility="anonymous",
        description="Ask Company A's yard manager",
        price_kzt_per_t=Decimal("4321"),
        moisture_percent=Decimal("71.5"),
        max_km=Decimal("35"),
    )


@pytest.fixture
def spent_grain(db):
    return factories.MaterialFactory(slug="spent-grain", name_en="Brewery spent grain")


def test_a_hidden_owners_card_reads_only_what_may_be_shown(anonymous_supply, member_b):
    card = visibility.listing_card(user=member_b, listing=anonymous_supply)

    assert card.hides_owner and card.kind == "supply"
    for hidden in (
        "organization",
        "organization_id",
        "site",
        "site_id",
        "description",
        "price_kzt_per_t",
        "fate_cost_kzt_per_t",
        "max_km",
        "fate",
        "quantity",
        "created_at",
    ):
        with pytest.raises(visibility.HiddenField):
            getattr(card, hidden)
    assert card.owner_name is None
    # Composition describes the residue, not its owner: shown (issue 18).
    assert card.moisture_percent == Decimal("71.5")
    assert card.dry_matter_percent == Decimal("28.5")
    assert card.material.name == "Brewery spent grain"
    assert card.tonnes == anonymous_supply.tonnes
    assert (card.recurrence_label, card.district_label) == ("per year", "Almaly")
    assert card.point == geo.coarse(43.187654, 76.876543) != (43.187654, 76.876543)
    with pytest.raises(AttributeError) as unknown:
        card.no_such_field  # noqa: B018
    assert not isinstance(unknown.value, visibility.HiddenField)


def test_the_owner_and_a_facilitator_read_the_whole_card(anonymous_supply, member_a, facilitator):
    for user in (member_a, facilitator):
        card = visibility.listing_card(user=user, listing=anonymous_supply)
        assert not card.hides_owner
        assert card.owner_name == "Company A"
        assert card.description == "Ask Company A's yard manager"
        assert card.price_kzt_per_t == Decimal("4321")
        assert card.point == (43.187654, 76.876543)


def test_a_template_cannot_print_what_the_card_hides(anonymous_supply, member_b):
    card = visibility.listing_card(user=member_b, listing=anonymous_supply)
    template = Template(
        "{{ card.organization.name }}|{{ card.site.name }}|{{ card.site.address }}|"
        "{{ card.description }}|{{ card.price_kzt_per_t }}|{{ card.fate_cost_kzt_per_t }}|"
        "{{ card.max_km }}|{{ card.site.latitude }}|{{ card.material.name }}"
    )

    assert template.render(Context({"card": card})) == "||||||||Brewery spent grain"
    shown = Template(
        "{% if card.description %}D{% endif %}"
        "{% if card.price_kzt_per_t is not None %}P{% endif %}"
        "{% if not card.hides_owner %}O{% endif %}"
    )
    assert shown.render(Context({"card": card})) == ""


@pytest.mark.parametrize(
    ("kind", "serializer"),
    [
        ("supply", serializers.SupplyRedactedSerializer),
        ("demand", serializers.DemandRedactedSerializer),
    ],
)
def test_the_apis_redacted_listings_use_only_shown_fields(kind, serializer):
    """The API renders a hidden owner's listing from its card, with a serializer
    whose every field reads a name the card shows."""
    for name, field in serializer().fields.items():
        assert field.source.split(".")[0] in SHOWN_WHEN_OWNER_HIDDEN[kind], name


def test_choice_labels_name_no_owner(anonymous_supply):
    demand = factories.DemandListingFactory(organization=anonymous_supply.organization)

    for listing in (anonymous_supply, demand):
        label = visibility.listing_choice_label(listing)
        assert "Company A" not in label and f"#{listing.pk}" in label


def test_the_deal_form_of_an_anonymous_supply_shows_no_owner_note_or_price(
    client, anonymous_supply, member_b
):
    """Issue 13.1: /deals/new/?supply=<anonymous> printed the description and price."""
    client.force_login(member_b)
    response = client.get(f"/deals/new/?supply={anonymous_supply.pk}")

    text = response.content.decode()
    assert response.status_code == 200
    assert "Brewery spent grain" in text and "An anonymous supplier" in text
    for secret in ("Company A", "yard manager", "4321", "Secret yard", "Hidden Lane"):
        assert secret not in text, secret


def test_the_deal_form_shows_the_note_and_price_once_introduced(
    client, anonymous_supply, member_b, company_b
):
    demand = factories.DemandListingFactory(organization=company_b)
    run = OptimizationRun.objects.create(status="succeeded")
    MatchProposal.objects.create(
        run=run,
        supply=anonymous_supply,
        demand=demand,
        material=anonymous_supply.material,
        status="approved",
        tonnes=1.0,
        road_km=1.0,
        tonnes_diverted_from_landfill=1.0,
        fate_kg_co2e_avoided=0.0,
        transport_kg_co2e_added=0.0,
        virgin_kg_co2e_avoided=0.0,
        net_kg_co2e_saved=0.0,
    )
    client.force_login(member_b)
    text = client.get(f"/deals/new/?supply={anonymous_supply.pk}").content.decode()

    for shown in ("Company A", "yard manager", "4321", "Secret yard"):
        assert shown in text, shown
    assert 'id="deal-form"' in text


def test_the_card_follows_the_listing_window(anonymous_supply, member_b):
    card = visibility.listing_card(user=member_b, listing=anonymous_supply)

    assert (card.available_from, card.available_until) == (date(2027, 1, 1), date(2027, 12, 31))
