"""factory-boy factories for the domain model."""

from datetime import date
from decimal import Decimal

import factory
from knox.models import AuthToken

from symbiosis import models
from symbiosis.validators import bin_check_digit


def valid_bin(n: int) -> str:
    """A checksum-valid BIN built from a sequence number."""
    k = n
    while True:
        first = f"{k:011d}"[-11:]
        digit = bin_check_digit(first)
        if digit is not None:
            return first + str(digit)
        k += 100_000_000


def api_token(user, **fields) -> str:
    """A new working API token of ``user``: the key sent as "Authorization: Token <key>".

    The one way tests make tokens (knox stores only a hash, so the key exists
    only here).
    """
    return AuthToken.objects.create(user=user, **fields)[1]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.kz")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-9")

    @factory.post_generation
    def _save_password(self, create, extracted, **kwargs):
        if create:
            self.save(update_fields=["password"])


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization

    name = factory.Sequence(lambda n: f"Company {n}")
    bin = factory.Sequence(lambda n: valid_bin(n + 40_000_000_000))
    sector = "C"
    kind = models.Organization.Kind.COMPANY


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = models.Membership.Role.ADMIN


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Site

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    district = "almaly"
    latitude = Decimal("43.250000")
    longitude = Decimal("76.920000")


class MaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Material
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"material-{n}")
    name_en = factory.Sequence(lambda n: f"Material {n}")
    name_ru = factory.Sequence(lambda n: f"Материал {n}")
    ewc_code = "02 07 04"
    category = "biomass"
    density_t_per_m3 = Decimal("0.5")


class UseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Use
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"use-{n}")
    name_en = factory.Sequence(lambda n: f"Use {n}")
    name_ru = factory.Sequence(lambda n: f"Применение {n}")


class CompatibilityRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CompatibilityRule

    material = factory.SubFactory(MaterialFactory)
    use = factory.SubFactory(UseFactory)
    replaces = "virgin material"
    credit_kg_co2e_per_t = Decimal("100")


class SupplyListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SupplyListing

    organization = factory.SubFactory(OrganizationFactory)
    site = factory.SubFactory(SiteFactory, organization=factory.SelfAttribute("..organization"))
    material = factory.SubFactory(MaterialFactory)
    quantity = Decimal("100")
    unit = "t"
    tonnes = Decimal("100")
    recurrence = "year"
    available_from = date(2027, 1, 1)
    available_until = date(2027, 12, 31)
    fate = "landfill"
    visibility = "public"
    status = "active"


class DemandListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.DemandListing
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    site = factory.SubFactory(SiteFactory, organization=factory.SelfAttribute("..organization"))
    quantity = Decimal("50")
    unit = "t"
    tonnes = Decimal("50")
    recurrence = "year"
    visibility = "public"
    status = "active"

    @factory.post_generation
    def materials(self, create, extracted, **kwargs):
        if create and extracted:
            self.materials.set(extracted)


class WastePermitFactory(factory.django.DjangoModelFactory):
    """A permit as a facilitator left it (``status``; verified by default). Needs the
    ``attachment_storage`` fixture: the document is stored."""

    class Meta:
        model = models.WastePermit

    organization = factory.SubFactory(OrganizationFactory)
    number = factory.Sequence(lambda n: f"KZ-{n:05d}")
    issuer = "Environmental authority"
    activity = "recovery"
    codes = factory.LazyFunction(lambda: ["13 02 05*"])
    valid_from = date(2020, 1, 1)
    valid_until = date(2035, 12, 31)
    document = factory.django.FileField(
        data=b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        filename="permit.pdf",
    )
    document_content_type = "application/pdf"
    status = "verified"
