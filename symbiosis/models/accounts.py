"""Users (log in by e-mail), organizations, memberships and sites."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from symbiosis.validators import latitude_validators, longitude_validators, validate_bin

FACILITATOR_GROUP = "facilitator"
CITY_ANALYST_GROUP = "city_analyst"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
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


class User(AbstractUser):
    username = None
    email = models.EmailField(_("e-mail address"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    def __str__(self):
        return self.email


class Organization(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PROCESSOR = "processor", _("Processor (compost, digestion, recycling)")
        MUNICIPALITY = "municipality", _("Municipality")

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
