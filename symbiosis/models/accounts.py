"""Users (log in by e-mail), organizations, memberships and sites."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from symbiosis.validators import latitude_validators, longitude_validators, validate_bin

FACILITATOR_GROUP = "facilitator"
CITY_ANALYST_GROUP = "city_analyst"


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        """The one spelling of an address: trimmed, all lower case.

        Every way in goes through here: creating a user (sign-up, invitations,
        createsuperuser), the admin's forms (``User.clean``), logging in and
        the API token endpoint (``get_by_natural_key``) and the failed-login
        count (``auth_backends.login_username``). Addresses are compared
        whole in lower case, local part included, as people type them.
        """
        return super().normalize_email((email or "").strip()).lower()

    def get_by_natural_key(self, username):
        # "Aigerim@Example.KZ" logs in as aigerim@example.kz.
        return self.get(**{self.model.USERNAME_FIELD: self.normalize_email(username)})

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


# The languages a user may choose (settings.LANGUAGES, spelled out for migrations).
LANGUAGE_CHOICES = [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]


class User(AbstractUser):
    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    # The language of the user's e-mails and notifications: set from the page
    # language at sign-up and whenever the user presses ҚАЗ, РУС or ENG while logged
    # in; "" means the site's default (settings.LANGUAGE_CODE).
    language = models.CharField(
        _("language"), max_length=10, choices=LANGUAGE_CHOICES, blank=True, default=""
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        constraints = [
            # Addresses are stored in lower case (UserManager.normalize_email);
            # this keeps a differently capitalised twin out whatever the path.
            models.UniqueConstraint(Lower("email"), name="user_email_lower_unique"),
        ]

    def __str__(self):
        return self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        loaded = dict(zip(field_names, values, strict=False))
        user._loaded_is_active = loaded.get("is_active") is True
        return user

    def save(self, *args, **kwargs):
        # A new password or a deactivation ends every API token the user had:
        # a leaked token must not outlive the password it was issued under.
        # Every path that sets a password (the change and reset views, the
        # admin's password form, manage.py changepassword) calls set_password()
        # and then save(), so this one place covers them all. (A password
        # rehash on log-in clears _password before its save.)
        revoke_tokens = self.pk is not None and (
            self._password is not None
            or (getattr(self, "_loaded_is_active", False) and not self.is_active)
        )
        super().save(*args, **kwargs)
        self._loaded_is_active = self.is_active
        if revoke_tokens:
            self.auth_token_set.all().delete()


class Organization(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PROCESSOR = "processor", _("Processor (compost, digestion, recycling)")
        MUNICIPALITY = "municipality", _("Municipality")
        # Runs a landfill: material it takes in is "used at a landfill" (cover, roads),
        # never "kept out of landfill".
        LANDFILL_OPERATOR = "landfill_operator", _("Landfill operator")

    class Sector(models.TextChoices):
        # NACE Rev. 2 sections
        A = "A", _("A Agriculture, forestry and fishing")
        B = "B", _("B Mining and quarrying")
        C = "C", _("C Manufacturing")
        D = "D", _("D Electricity, gas, steam and air conditioning supply")
        E = "E", _("E Water supply, sewerage, waste management and remediation")
        F = "F", _("F Construction")
        G = "G", _("G Wholesale and retail trade")
        H = "H", _("H Transportation and storage")
        I = "I", _("I Accommodation and food service activities")  # noqa: E741
        J = "J", _("J Information and communication")
        K = "K", _("K Financial and insurance activities")
        L = "L", _("L Real estate activities")
        M = "M", _("M Professional, scientific and technical activities")
        N = "N", _("N Administrative and support service activities")
        O = "O", _("O Public administration and defence")  # noqa: E741
        P = "P", _("P Education")
        Q = "Q", _("Q Human health and social work activities")
        R = "R", _("R Arts, entertainment and recreation")
        S = "S", _("S Other service activities")

    name = models.CharField(_("name"), max_length=200)
    bin = models.CharField(
        _("BIN"),
        max_length=12,
        unique=True,
        validators=[validate_bin],
        help_text=_("12-digit business identification number"),
    )
    sector = models.CharField(_("sector (NACE section)"), max_length=1, choices=Sector.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMPANY)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    # The city's public page names only organizations that agreed to it.
    agrees_to_be_named = models.BooleanField(_("may be named on public city pages"), default=False)
    members = models.ManyToManyField(User, through="Membership", related_name="organizations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.role})"


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        """Not accepted, not revoked, not expired: a link that would still work."""
        return self.filter(
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now or timezone.now(),
        )


class Invitation(models.Model):
    """An administrator's invitation into an organization, usable once.

    The link carries a random token; only its SHA-256 is stored, so the
    table cannot be turned back into working links. Accepting, revoking and
    expiring are recorded, never deleted: who invited whom stays known.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("e-mail address"))  # lower case (UserManager.normalize_email)
    role = models.CharField(_("role"), max_length=10, choices=Membership.Role.choices)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="invitations_sent"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self):
        return f"{self.email} -> {self.organization} ({self.role})"


class SignupRequest(models.Model):
    """A sign-up waiting for its e-mail address to be confirmed.

    Sign-up answers alike for a new and a known address (no one learns who
    has an account), so nothing is created until the link sent to the
    address is opened: then the user and the organization are made from
    this row. Only the token's SHA-256 and the password's hash are kept.
    """

    email = models.EmailField(_("e-mail address"), db_index=True)  # lower case
    password = models.CharField(max_length=128)  # a Django password hash; "" once used
    organization_name = models.CharField(_("organization name"), max_length=200)
    bin = models.CharField(_("BIN"), max_length=12)
    sector = models.CharField(max_length=1, choices=Organization.Sector.choices)
    kind = models.CharField(max_length=20, choices=Organization.Kind.choices)
    # The page language at sign-up: the new user's language (User.language).
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.email} ({self.organization_name})"


class District(models.TextChoices):
    ALATAU = "alatau", _("Alatau")
    ALMALY = "almaly", _("Almaly")
    AUEZOV = "auezov", _("Auezov")
    BOSTANDYK = "bostandyk", _("Bostandyk")
    ZHETYSU = "zhetysu", _("Zhetysu")
    MEDEU = "medeu", _("Medeu")
    NAURYZBAY = "nauryzbay", _("Nauryzbay")
    TURKSIB = "turksib", _("Turksib")
    ALMATY_REGION = "almaty_region", _("Almaty Region (outside the city)")


class Site(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    district = models.CharField(_("district"), max_length=20, choices=District.choices)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, validators=latitude_validators
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, validators=longitude_validators
    )

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90), name="site_latitude_range"
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__gte=-180, longitude__lte=180),
                name="site_longitude_range",
            ),
        ]

    def __str__(self):
        return f"{self.organization.name}: {self.name}"
