"""Writes: organizations, sites, supply and demand listings.

Each function is keyword-only, checks that the acting user may write for the
organization (``PermissionDenied`` otherwise), validates the whole row with
``full_clean()`` (unit conversion to tonnes, the site belongs to the
organization, window order, ranges) and writes inside one transaction, so a
``ValidationError`` leaves nothing behind. The API and the htmx forms both
call these.
"""

from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import ProtectedError
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from symbiosis.models import (
    DemandListing,
    Membership,
    Organization,
    Site,
    SupplyListing,
    User,
)
from symbiosis.models.listings import Unit
from symbiosis.selectors import viewer_for

ORGANIZATION_FIELDS = frozenset(
    {
        "name",
        "bin",
        "sector",
        "kind",
        "contact_name",
        "contact_email",
        "contact_phone",
        "agrees_to_be_named",
    }
)
SITE_FIELDS = frozenset({"name", "address", "district", "latitude", "longitude"})
_LISTING_FIELDS = frozenset(
    {
        "site",
        "quantity",
        "unit",
        "piece_mass_kg",
        "recurrence",
        "available_from",
        "available_until",
        "max_km",
        "visibility",
        "status",
        "description",
    }
)
SUPPLY_FIELDS = _LISTING_FIELDS | {
    "material",
    "fate",
    "fate_cost_kzt_per_t",
    "moisture_percent",
    "contamination_percent",
    "price_kzt_per_t",
}
DEMAND_FIELDS = _LISTING_FIELDS | {
    "reference_material",
    "max_moisture_percent",
    "max_contamination_percent",
    "max_price_kzt_per_t",
    "min_lot_tonnes",
}
DEMAND_M2M_FIELDS = frozenset({"materials", "uses"})


def _assign(instance, fields: dict, allowed: frozenset) -> None:
    unknown = set(fields) - allowed
    if unknown:
        # A programming error, not bad user input.
        raise TypeError(f"{type(instance).__name__} has no writable field(s) {sorted(unknown)}")
    for name, value in fields.items():
        setattr(instance, name, value)


def _ensure_writes_for(user, organization_id: int) -> None:
    if not viewer_for(user).writes_for(organization_id):
        raise PermissionDenied(_("You may only change data of your own organizations."))


def _ensure_administers(user, organization_id: int) -> None:
    if not viewer_for(user).administers(organization_id):
        raise PermissionDenied(_("Only an administrator of this organization may change it."))


def _raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


# --- organizations ---------------------------------------------------------------


@transaction.atomic
def organization_create(*, user, name: str, bin: str, sector: str, **fields) -> Organization:
    """Register an organization; the user who registers it becomes its admin."""
    if not user or not user.is_authenticated:
        raise PermissionDenied(_("Log in to register an organization."))
    organization = Organization(name=name, bin=bin, sector=sector)
    _assign(organization, fields, ORGANIZATION_FIELDS)
    organization.full_clean()
    organization.save()
    Membership.objects.create(user=user, organization=organization, role=Membership.Role.ADMIN)
    return organization


@transaction.atomic
def organization_update(*, user, organization: Organization, **fields) -> Organization:
    _ensure_administers(user, organization.id)
    _assign(organization, fields, ORGANIZATION_FIELDS)
    organization.full_clean()
    organization.save()
    return organization


# --- sites -------------------------------------------------------------------------


@transaction.atomic
def site_create(
    *, user, organization: Organization, name: str, district: str, latitude, longitude, **fields
) -> Site:
    _ensure_writes_for(user, organization.id)
    site = Site(
        organization=organization,
        name=name,
        district=district,
        latitude=latitude,
        longitude=longitude,
    )
    _assign(site, fields, SITE_FIELDS)
    site.full_clean()
    site.save()
    return site


@transaction.atomic
def site_update(*, user, site: Site, **fields) -> Site:
    _ensure_writes_for(user, site.organization_id)
    _assign(site, fields, SITE_FIELDS)
    site.full_clean()
    site.save()
    return site


@transaction.atomic
def site_delete(*, user, site: Site) -> None:
    _ensure_writes_for(user, site.organization_id)
    try:
        site.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("Listings still use this site; move or delete them first.")
        ) from exc


# --- listings ------------------------------------------------------------------------


def _clean_listing(listing, extra_errors: dict | None = None) -> None:
    """``full_clean`` with the derived ``tonnes`` checked after it is derived.

    ``Listing.clean()`` computes tonnes from quantity and unit, but field
    checks run before ``clean()``: checking ``tonnes`` there would report a
    missing value nobody typed. So it is excluded and checked afterwards,
    with the error reported on the quantity the user did type.
    """
    errors = dict(extra_errors or {})
    try:
        listing.full_clean(exclude=["tonnes"])
    except ValidationError as exc:
        errors = exc.update_error_dict(errors)
    if "quantity" not in errors and "unit" not in errors and listing.tonnes is not None:
        tonnes_field = type(listing)._meta.get_field("tonnes")
        try:
            tonnes_field.clean(listing.tonnes, listing)
        except ValidationError as exc:
            errors.setdefault("quantity", []).extend(exc.messages)
        if listing.tonnes <= 0:
            errors.setdefault("quantity", []).append(
                _("This quantity rounds to 0 tonnes (under a gram); check the unit.")
            )
    _raise_if(errors)


def supply_build(
    *, user, organization: Organization, site: Site, material, quantity, **fields
) -> SupplyListing:
    """The listing ``supply_create`` writes, checked but not saved.

    The bulk import checks thousands of rows with it without writing, so it
    holds no write lock (SQLite has one for the whole database) while it checks.
    """
    _ensure_writes_for(user, organization.id)
    supply = SupplyListing(
        organization=organization, site=site, material=material, quantity=quantity
    )
    _assign(supply, fields, SUPPLY_FIELDS)
    _clean_listing(supply)
    return supply


@transaction.atomic
def supply_create(
    *, user, organization: Organization, site: Site, material, quantity, **fields
) -> SupplyListing:
    supply = supply_build(
        user=user,
        organization=organization,
        site=site,
        material=material,
        quantity=quantity,
        **fields,
    )
    supply.save()
    return supply


@transaction.atomic
def supply_update(*, user, supply: SupplyListing, **fields) -> SupplyListing:
    _ensure_writes_for(user, supply.organization_id)
    # Lock the row as deal acceptances do, so an edit and an acceptance cannot
    # together leave more tonnes committed than the listing offers.
    SupplyListing.objects.select_for_update().filter(pk=supply.pk).first()
    _assign(supply, fields, SUPPLY_FIELDS)
    _clean_listing(supply)
    # Imported here: the marketplace builds on this app.
    from marketplace.services import supply_overcommitment_error

    error = supply_overcommitment_error(supply)
    if error:
        raise ValidationError({"quantity": [error]})
    supply.save()
    return supply


@transaction.atomic
def supply_delete(*, user, supply: SupplyListing) -> None:
    _ensure_writes_for(user, supply.organization_id)
    try:
        supply.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("Deals refer to this listing; close it instead of deleting it.")
        ) from exc


def _demand_errors(demand: DemandListing, materials: list, uses: list) -> dict:
    errors = {}
    if not materials and not uses:
        errors["materials"] = [_("Name at least one accepted material or use.")]
    if demand.unit == Unit.CUBIC_METRES and demand.reference_material_id is None:
        errors["reference_material"] = [
            _("Name the material the quantity is measured in to give it in m3.")
        ]
    return errors


def _clean_demand(demand: DemandListing, materials: list, uses: list) -> None:
    # m3 needs one density; with a single accepted material there is no doubt which.
    needs_density = demand.unit == Unit.CUBIC_METRES and demand.reference_material_id is None
    if needs_density and len(materials) == 1:
        demand.reference_material = materials[0]
    errors = _demand_errors(demand, materials, uses)
    try:
        _clean_listing(demand, errors)
    except ValidationError as exc:
        found = exc.message_dict
        if "reference_material" in errors:
            # The model's "no known density" message would point at the unit;
            # the missing reference material is the actual cause.
            found.pop("unit", None)
        raise ValidationError(found) from exc


def demand_build(
    *,
    user,
    organization: Organization,
    site: Site,
    quantity,
    materials=(),
    uses=(),
    **fields,
) -> DemandListing:
    """The listing ``demand_create`` writes, checked but not saved (see ``supply_build``).

    The accepted ``materials`` and ``uses`` are checked here; the caller sets
    them once the listing is saved.
    """
    _ensure_writes_for(user, organization.id)
    demand = DemandListing(organization=organization, site=site, quantity=quantity)
    _assign(demand, fields, DEMAND_FIELDS)
    _clean_demand(demand, list(materials), list(uses))
    return demand


@transaction.atomic
def demand_create(
    *,
    user,
    organization: Organization,
    site: Site,
    quantity,
    materials=(),
    uses=(),
    **fields,
) -> DemandListing:
    materials, uses = list(materials), list(uses)
    demand = demand_build(
        user=user,
        organization=organization,
        site=site,
        quantity=quantity,
        materials=materials,
        uses=uses,
        **fields,
    )
    demand.save()
    demand.materials.set(materials)
    demand.uses.set(uses)
    return demand


@transaction.atomic
def demand_update(*, user, demand: DemandListing, **fields) -> DemandListing:
    _ensure_writes_for(user, demand.organization_id)
    materials = list(fields.pop("materials", demand.materials.all()))
    uses = list(fields.pop("uses", demand.uses.all()))
    _assign(demand, fields, DEMAND_FIELDS)
    _clean_demand(demand, materials, uses)
    demand.save()
    demand.materials.set(materials)
    demand.uses.set(uses)
    return demand


@transaction.atomic
def demand_delete(*, user, demand: DemandListing) -> None:
    _ensure_writes_for(user, demand.organization_id)
    try:
        demand.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("Deals refer to this listing; close it instead of deleting it.")
        ) from exc


# --- accounts: sign-up, invitations, roles ------------------------------------------

INVITATION_SALT = "symbiosis.invitation"
INVITATION_MAX_AGE = 7 * 24 * 60 * 60  # seconds: an invitation link works for a week


@transaction.atomic
def account_register(
    *, email: str, password: str, organization_name: str, bin: str, sector: str, **fields
) -> User:
    """A new user and the organization they register, as its administrator; or neither."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [_("An account with this e-mail address exists.")]})
    user = User.objects.create_user(email=email, password=password)
    organization_create(user=user, name=organization_name, bin=bin, sector=sector, **fields)
    return user


def invitation_token(*, user, organization: Organization, email: str, role: str) -> str:
    """A signed link token inviting ``email`` into ``organization`` (admins only)."""
    _ensure_administers(user, organization.id)
    if role not in Membership.Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    payload = {"o": organization.id, "e": email.strip().lower(), "r": role, "b": user.id}
    return signing.dumps(payload, salt=INVITATION_SALT)


def invitation_send(*, user, organization: Organization, email: str, role: str, accept_url) -> str:
    """E-mail an invitation; ``accept_url(token)`` makes the absolute link."""
    token = invitation_token(user=user, organization=organization, email=email, role=role)
    context = {
        "organization": organization,
        "inviter": user,
        "link": accept_url(token),
        "days": INVITATION_MAX_AGE // 86400,
    }
    subject = render_to_string("symbiosis/email/invitation_subject.txt", context).strip()
    body = render_to_string("symbiosis/email/invitation.txt", context)
    send_mail(subject, body, None, [email])
    return token


@dataclass(frozen=True)
class Invitation:
    organization: Organization
    email: str
    role: str


def invitation_read(token: str) -> Invitation:
    """The invitation a token stands for; ``ValidationError`` if forged, old or withdrawn."""
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationError(_("This invitation has expired; ask for a new one.")) from exc
    except signing.BadSignature as exc:
        raise ValidationError(_("This invitation link is not valid.")) from exc
    organization = Organization.objects.filter(id=payload["o"]).first()
    inviter_still_admin = Membership.objects.filter(
        user_id=payload["b"], organization_id=payload["o"], role=Membership.Role.ADMIN
    ).exists()
    if organization is None or not inviter_still_admin:
        raise ValidationError(_("This invitation was withdrawn; ask for a new one."))
    return Invitation(organization, payload["e"], payload["r"])


@transaction.atomic
def invitation_accept(*, token: str, user=None, password: str | None = None) -> Membership:
    """Join the organization: as ``user`` (logged in, same e-mail) or as a new account."""
    invitation = invitation_read(token)
    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(_("An account with this e-mail exists: log in to accept."))
        user = User.objects.create_user(email=invitation.email, password=password)
    elif user.email.lower() != invitation.email:
        raise ValidationError(
            _("This invitation is for %(email)s; log in with that address to accept it.")
            % {"email": invitation.email}
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    return membership


@transaction.atomic
def membership_set_role(*, user, membership: Membership, role: str) -> Membership:
    _ensure_administers(user, membership.organization_id)
    if role not in Membership.Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    _ensure_other_admin_remains(membership, role)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, user, membership: Membership) -> None:
    _ensure_administers(user, membership.organization_id)
    _ensure_other_admin_remains(membership, None)
    membership.delete()


def _ensure_other_admin_remains(membership: Membership, new_role) -> None:
    if membership.role != Membership.Role.ADMIN or new_role == Membership.Role.ADMIN:
        return
    others = (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Membership.Role.ADMIN)
        .exclude(id=membership.id)
    )
    if not others.exists():
        raise ValidationError(_("An organization keeps at least one administrator."))
