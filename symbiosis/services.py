"""Writes: organizations, sites, supply and demand listings.

Each function is keyword-only, checks that the acting user may write for the
organization (``PermissionDenied`` otherwise), validates the whole row with
``full_clean()`` (unit conversion to tonnes, the site belongs to the
organization, window order, ranges) and writes inside one transaction, so a
``ValidationError`` leaves nothing behind. The API and the htmx forms both
call these.

Longer than most: the write services of the core app's entities (organizations,
members, sites, listings) share the validation and transaction helpers at the
top; imports and fates have their own modules.
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from symbiosis import supply_checks
from symbiosis.fates import fate_change_record, fate_declaration_errors
from symbiosis.models import (
    DemandListing,
    Invitation,
    Membership,
    Organization,
    SignupRequest,
    Site,
    SupplyListing,
    User,
)
from symbiosis.models.attachments import delete_files_on_commit, listing_file_names
from symbiosis.models.listings import Unit
from symbiosis.notifications import LANGUAGE_CODES, notify_address
from symbiosis.visibility import as_viewer

# What a company may write of its organization, in the order the form and the API
# show it (symbiosis.account_forms, symbiosis.api.serializers read it from here).
ORGANIZATION_FIELDS = (
    "name",
    "bin",
    "sector",
    "kind",
    "contact_name",
    "contact_email",
    "contact_phone",
    "agrees_to_be_named",
)
SITE_FIELDS = frozenset({"name", "address", "district", "latitude", "longitude"})
# What a company may write of its listings, in the order the API shows it
# (symbiosis.api.serializers reads them here; the forms name their own layout).
LISTING_FIELDS = (
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
    # Issue 19: the seasons (symbiosis.profiles) and the store at the site.
    "monthly_profile",
    "storage_capacity_tonnes",
)
SUPPLY_FIELDS = (
    *LISTING_FIELDS,
    "material",
    "fate",
    # Declared or documented by the company; only supply_fate_review verifies.
    "fate_evidence",
    "fate_evidence_note",
    "imported_origin",
    "fate_cost_kzt_per_t",
    "moisture_percent",
    "contamination_percent",
    "cn_ratio",
    "particle_size_mm",
    # Codes separated by commas ("plastics,glass"), see Contaminant.
    "contaminants",
    "price_kzt_per_t",
)
DEMAND_OWN_FIELDS = (
    "reference_material",
    "max_moisture_percent",
    "max_contamination_percent",
    "max_price_kzt_per_t",
    "min_lot_tonnes",
)
DEMAND_FIELDS = (*LISTING_FIELDS, *DEMAND_OWN_FIELDS)
DEMAND_M2M_FIELDS = ("materials", "uses")


def _assign(instance, fields: dict, allowed) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        # A programming error, not bad user input.
        raise TypeError(f"{type(instance).__name__} has no writable field(s) {sorted(unknown)}")
    for name, value in fields.items():
        setattr(instance, name, value)


def _ensure_writes_for(user, organization_id: int) -> None:
    if not as_viewer(user).writes_for(organization_id):
        raise PermissionDenied(_("You may only change data of your own organizations."))


def _ensure_administers(user, organization_id: int) -> None:
    if not as_viewer(user).administers(organization_id):
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


# The relations a listing's build may take as checked (``relations_checked``).
_RELATIONS = ["organization", "site", "material", "reference_material"]


def _clean_listing(listing, extra_errors: dict | None = None, relations_checked=False) -> None:
    """``full_clean`` with the derived ``tonnes`` checked after it is derived.

    ``Listing.clean()`` computes tonnes from quantity and unit, but field
    checks run before ``clean()``: checking ``tonnes`` there would report a
    missing value nobody typed. So it is excluded and checked afterwards,
    with the error reported on the quantity the user did type.

    ``relations_checked``: the caller read the related rows a moment ago (the
    bulk import), so their existence is not asked once more per row.
    """
    errors = dict(extra_errors or {})
    exclude = ["tonnes", *(_RELATIONS if relations_checked else ())]
    try:
        listing.full_clean(exclude=exclude)
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


def _fate_errors(supply: SupplyListing, *, before: tuple[str, str] | None) -> dict:
    return fate_declaration_errors(
        fate=supply.fate,
        evidence=supply.fate_evidence,
        note=supply.fate_evidence_note,
        before=before,
    )


def supply_build(
    *,
    user,
    organization: Organization,
    site: Site,
    material,
    quantity,
    relations_checked: bool = False,
    **fields,
) -> SupplyListing:
    """The listing ``supply_create`` writes, checked but not saved.

    The bulk import checks thousands of rows with it without writing, so it
    holds no write lock (SQLite has one for the whole database) while it checks;
    it passes a ``Viewer`` as ``user`` and ``relations_checked`` (``_clean_listing``).
    """
    _ensure_writes_for(user, organization.id)
    supply = SupplyListing(
        organization=organization, site=site, material=material, quantity=quantity
    )
    _assign(supply, fields, SUPPLY_FIELDS)
    _clean_listing(supply, _fate_errors(supply, before=None), relations_checked)
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
    # together leave more tonnes committed than the listing offers; the stored fate
    # is the one a facilitator may have verified.
    stored = (
        SupplyListing.objects.select_for_update()
        .filter(pk=supply.pk)
        .values("fate", "fate_evidence", "fate_reviewed_at")
        .first()
    )
    _assign(supply, fields, SUPPLY_FIELDS)
    before = (stored["fate"], stored["fate_evidence"]) if stored else None
    _clean_listing(supply, _fate_errors(supply, before=before))
    # The tonnes its deals commit (the marketplace's check, registered from above).
    errors = supply_checks.supply_edit_errors(supply)
    if errors:
        raise ValidationError({"quantity": errors})
    supply.save()
    if stored:
        fate_change_record(user=user, supply=supply, before=stored)
    return supply


@transaction.atomic
def supply_delete(*, user, supply: SupplyListing) -> None:
    _ensure_writes_for(user, supply.organization_id)
    if supply.fate_reviews.exists():
        raise ValidationError(
            _("A facilitator has reviewed this listing's fate, which stays on record; close it.")
        )
    files = listing_file_names(supply)
    try:
        supply.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("Deals refer to this listing; close it instead of deleting it.")
        ) from exc
    # Its photos and documents went with it (cascade): their files too.
    delete_files_on_commit(files)


def _demand_errors(demand: DemandListing, materials: list, uses: list) -> dict:
    errors = {}
    if not materials and not uses:
        errors["materials"] = [_("Name at least one accepted material or use.")]
    if demand.unit == Unit.CUBIC_METRES and demand.reference_material_id is None:
        errors["reference_material"] = [
            _("Name the material the quantity is measured in to give it in m3.")
        ]
    return errors


def _clean_demand(
    demand: DemandListing, materials: list, uses: list, relations_checked=False
) -> None:
    # m3 needs one density; with a single accepted material there is no doubt which.
    needs_density = demand.unit == Unit.CUBIC_METRES and demand.reference_material_id is None
    if needs_density and len(materials) == 1:
        demand.reference_material = materials[0]
    errors = _demand_errors(demand, materials, uses)
    try:
        _clean_listing(demand, errors, relations_checked)
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
    relations_checked: bool = False,
    **fields,
) -> DemandListing:
    """The listing ``demand_create`` writes, checked but not saved (see ``supply_build``).

    The accepted ``materials`` and ``uses`` are checked here; the caller sets
    them once the listing is saved.
    """
    _ensure_writes_for(user, organization.id)
    demand = DemandListing(organization=organization, site=site, quantity=quantity)
    _assign(demand, fields, DEMAND_FIELDS)
    _clean_demand(demand, list(materials), list(uses), relations_checked)
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
    files = listing_file_names(demand)
    try:
        demand.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("Deals refer to this listing; close it instead of deleting it.")
        ) from exc
    delete_files_on_commit(files)


# --- accounts: sign-up, invitations, roles, API tokens ------------------------------
# Links e-mailed for sign-up and invitations carry a random token; only its
# SHA-256 is stored, so neither the database nor a key in the repository can
# make a working link. Each link works once: it is claimed by a conditional
# UPDATE inside the transaction that uses it (after a row lock where the
# database has them), so two clicks at once cannot both succeed.

INVITATION_DAYS = 7  # an invitation link works for a week
SIGNUP_CONFIRM_HOURS = 48  # a sign-up confirmation link, two days


def _new_link_token() -> tuple[str, str]:
    """A random token for an e-mailed link, and the hash stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, _link_token_hash(token)


def _link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _page_language() -> str:
    """The language of the page the request came from (e-mails to an address)."""
    return (translation.get_language() or "").split("-")[0]


def _supported(language: str) -> str:
    return language if language in LANGUAGE_CODES else ""


def _language_for(email: str) -> str:
    """The language to write to ``email`` in: its account's, else the page's."""
    user = User.objects.filter(email=email).only("language").first()
    return (user.language if user is not None else "") or _page_language()


# sign-up


@transaction.atomic
def account_signup_request(
    *,
    email: str,
    password: str,
    organization_name: str,
    bin: str,
    sector: str,
    kind: str,
    absolute_url,
) -> None:
    """Start a sign-up: e-mail a confirmation link, or a note if the address has an account.

    The caller answers alike either way ("check your mailbox"), so whether an
    address has an account is told only to that address. The organization's
    details are checked now (a taken BIN is said at once: BINs are public);
    nothing is created until the link is opened (``account_signup_confirm``).
    ``absolute_url(path)`` makes a link.
    """
    email = User.objects.normalize_email(email)
    Organization(name=organization_name, bin=bin, sector=sector, kind=kind).full_clean()
    # Hashed either way: the time the answer takes tells nothing either.
    password_hash = make_password(password)
    params = {"organization_name": organization_name}
    if User.objects.filter(email=email).exists():
        params["login_link"] = absolute_url(reverse("login"))
        params["reset_link"] = absolute_url(reverse("password_reset"))
        notify_address(
            email=email, kind="signup_exists", params=params, language=_language_for(email)
        )
        return
    now = timezone.now()
    # Unconfirmed and expired: nothing will ever use them, and they hold a password hash.
    SignupRequest.objects.filter(confirmed_at__isnull=True, expires_at__lte=now).delete()
    token, token_hash = _new_link_token()
    SignupRequest.objects.create(
        email=email,
        password=password_hash,
        organization_name=organization_name,
        bin=bin,
        sector=sector,
        kind=kind,
        language=_supported(_page_language()),
        token_hash=token_hash,
        expires_at=now + timedelta(hours=SIGNUP_CONFIRM_HOURS),
    )
    params["hours"] = SIGNUP_CONFIRM_HOURS
    notify_address(
        email=email,
        kind="signup_confirm",
        params=params,
        # The link works without anything else: kept only until the e-mail is sent.
        private_params={"link": absolute_url(reverse("signup-confirm", args=[token]))},
        language=_page_language(),
    )


def _ensure_signup_usable(signup: SignupRequest | None, now) -> None:
    if signup is None:
        raise ValidationError(
            _("This link is not valid: open it whole from the e-mail, or sign up again.")
        )
    if signup.confirmed_at is not None:
        raise ValidationError(_("This registration is confirmed already: log in."))
    if signup.expires_at <= now:
        raise ValidationError(_("This link has expired: sign up again."))
    if User.objects.filter(email=signup.email).exists():
        raise ValidationError(_("An account with this e-mail address exists: log in."))


def signup_request_read(token: str) -> SignupRequest:
    """The sign-up a link stands for; ``ValidationError`` if unknown, used or expired."""
    signup = SignupRequest.objects.filter(token_hash=_link_token_hash(token)).first()
    _ensure_signup_usable(signup, timezone.now())
    return signup


@transaction.atomic
def account_signup_confirm(*, token: str) -> User:
    """The confirmed sign-up's user and organization (its administrator); or neither."""
    now = timezone.now()
    signup = (
        SignupRequest.objects.select_for_update().filter(token_hash=_link_token_hash(token)).first()
    )
    _ensure_signup_usable(signup, now)
    claimed = SignupRequest.objects.filter(pk=signup.pk, confirmed_at__isnull=True).update(
        confirmed_at=now, password=""
    )
    if not claimed:
        raise ValidationError(_("This registration is confirmed already: log in."))
    try:
        with transaction.atomic():
            user = User.objects.create(
                email=signup.email, password=signup.password, language=signup.language
            )
    except IntegrityError as exc:  # the same address confirmed by another link just now
        raise ValidationError(_("An account with this e-mail address exists: log in.")) from exc
    organization_create(
        user=user,
        name=signup.organization_name,
        bin=signup.bin,
        sector=signup.sector,
        kind=signup.kind,
    )
    return user


# invitations


@transaction.atomic
def invitation_send(
    *, user, organization: Organization, email: str, role: str, accept_url
) -> tuple[Invitation, str]:
    """E-mail an invitation; ``accept_url(token)`` makes the absolute link.

    Returns the invitation and the token of its link (only its hash is stored).
    Inviting an address again withdraws its pending invitation: one link works.
    """
    _ensure_administers(user, organization.id)
    if role not in Membership.Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    email = User.objects.normalize_email(email)
    if Membership.objects.filter(organization=organization, user__email=email).exists():
        raise ValidationError({"email": [_("%(email)s is a member already.") % {"email": email}]})
    now = timezone.now()
    Invitation.objects.pending(now).filter(organization=organization, email=email).update(
        revoked_at=now, revoked_by=user
    )
    token, token_hash = _new_link_token()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=user,
        token_hash=token_hash,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    notify_address(
        email=email,
        kind="invitation",
        params={"organization": organization.name, "inviter": user.email, "days": INVITATION_DAYS},
        # The link works without anything else: kept only until the e-mail is sent.
        private_params={"link": accept_url(token)},
        language=_language_for(email),
    )
    return invitation, token


def _ensure_invitation_usable(invitation: Invitation | None, now) -> None:
    if invitation is None:
        raise ValidationError(_("This invitation link is not valid."))
    if invitation.accepted_at is not None:
        raise ValidationError(
            _("This invitation was used already. To join again, ask for a new one.")
        )
    if invitation.revoked_at is not None:
        raise ValidationError(_("This invitation was withdrawn; ask for a new one."))
    if invitation.expires_at <= now:
        raise ValidationError(_("This invitation has expired; ask for a new one."))
    inviter_still_admin = Membership.objects.filter(
        user_id=invitation.invited_by_id,
        organization_id=invitation.organization_id,
        role=Membership.Role.ADMIN,
    ).exists()
    if not inviter_still_admin:
        raise ValidationError(_("This invitation was withdrawn; ask for a new one."))


def invitation_read(token: str) -> Invitation:
    """The invitation a link stands for; ``ValidationError`` if unknown, used, withdrawn or old."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=_link_token_hash(token))
        .first()
    )
    _ensure_invitation_usable(invitation, timezone.now())
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user=None, password: str | None = None) -> Membership:
    """Join the organization: as ``user`` (logged in, same e-mail) or as a new account."""
    now = timezone.now()
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(token_hash=_link_token_hash(token))
        .first()
    )
    _ensure_invitation_usable(invitation, now)
    if user is None:
        if User.objects.filter(email=invitation.email).exists():
            raise ValidationError(_("An account with this e-mail exists: log in to accept."))
        user = User.objects.create_user(
            email=invitation.email, password=password, language=_supported(_page_language())
        )
    elif User.objects.normalize_email(user.email) != invitation.email:
        raise ValidationError(
            _("This invitation is for %(email)s; log in with that address to accept it.")
            % {"email": invitation.email}
        )
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(accepted_at=now, accepted_by=user)
    if not claimed:
        raise ValidationError(
            _("This invitation was used already. To join again, ask for a new one.")
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    return membership


@transaction.atomic
def invitation_revoke(*, user, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation (its organization's administrators)."""
    _ensure_administers(user, invitation.organization_id)
    now = timezone.now()
    revoked = (
        Invitation.objects.pending(now)
        .filter(pk=invitation.pk)
        .update(revoked_at=now, revoked_by=user)
    )
    if not revoked:
        raise ValidationError(_("This invitation is no longer pending."))
    invitation.refresh_from_db()
    return invitation


def user_language_set(*, user, language: str) -> None:
    """Remember the language ``user`` chose (ҚАЗ / РУС / ENG): their e-mails and
    notifications are written in it from now on."""
    if language not in LANGUAGE_CODES:
        raise ValidationError({"language": [_("Unknown language.")]})
    if user.language != language:
        # Not save(): nothing else of the user changes (and no token is ended).
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


# roles


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
    """Remove a member; their way back is a new invitation, and their API tokens end."""
    _ensure_administers(user, membership.organization_id)
    _ensure_other_admin_remains(membership, None)
    removed = membership.user
    membership.delete()
    # A token may sit in a script of the organization they left. (Their old
    # invitation link was used up when they joined: invitation_accept.)
    api_tokens_revoke_all(user=removed)


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


# API tokens (django-rest-knox: a hash stored, an expiry, one token per client)


def api_token_create(*, user) -> tuple[AuthToken, str]:
    """A new API token: its row, and its key, which is shown once and never stored."""
    if not user.is_active:
        raise PermissionDenied(_("This account is deactivated."))
    # Expired tokens work for no one; knox deletes them only when one is presented.
    AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    return AuthToken.objects.create(user=user)


def api_token_revoke(*, user, token: AuthToken) -> None:
    if token.user_id != user.id:
        raise PermissionDenied(_("Only its owner may revoke a token."))
    token.delete()


def api_tokens_revoke_all(*, user) -> int:
    """Revoke every API token of ``user``; the number revoked.

    Also done for a new password and for a deactivated user (``User.save``).
    """
    revoked, _by_model = AuthToken.objects.filter(user=user).delete()
    return revoked
