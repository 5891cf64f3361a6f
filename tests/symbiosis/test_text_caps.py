"""Every free-text field of our apps has a cap that forms, full_clean() and DRF all apply.

Regression (issue 13, item 7): a listing's description took 9 MB. The registry
walk makes a new TextField without a cap fail here, in whichever app it is added.
"""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from rest_framework import serializers

from symbiosis import services
from symbiosis.validators import DESCRIPTION_MAX_CHARS
from tests import factories

# Generous for any text a person types here, small enough that no page or row is bloated.
LARGEST_CAP = 10_000


def our_models():
    root = Path(settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if root in path.parents and ".venv" not in path.parts:
            yield from config.get_models()


def text_fields():
    return [
        pytest.param(model, field, id=f"{model._meta.label}.{field.name}")
        for model in our_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField)
    ]


def test_the_walk_finds_our_apps_and_their_text_fields():
    labels = {model._meta.app_label for model in our_models()}
    assert {"symbiosis", "marketplace", "optimizer", "dashboard"} <= labels
    names = {
        f"{model._meta.label}.{field.name}" for model, field in (p.values for p in text_fields())
    }
    assert {"symbiosis.SupplyListing.description", "symbiosis.DemandListing.description"} <= names


@pytest.mark.parametrize(("model", "field"), text_fields())
def test_every_text_field_has_a_cap_its_validator_enforces(model, field):
    cap = field.max_length
    assert cap is not None and 0 < cap <= LARGEST_CAP, "give it **capped_text(...)"
    limits = [v.limit_value for v in field.validators if isinstance(v, MaxLengthValidator)]
    assert limits == [cap], "max_length alone is not checked by full_clean() on a TextField"
    instance = model()
    field.clean("x" * cap, instance)
    with pytest.raises(ValidationError) as info:
        field.clean("x" * (cap + 1), instance)
    assert str(cap) in info.value.messages[0]
    # The form field and a ModelSerializer's field carry the same cap.
    assert field.formfield().max_length == cap
    meta = type("Meta", (), {"model": model, "fields": [field.name]})
    serializer = type("Serializer", (serializers.ModelSerializer,), {"Meta": meta})()
    assert serializer.fields[field.name].max_length == cap


@pytest.mark.django_db
@pytest.mark.parametrize("label", ["symbiosis.SupplyListing", "symbiosis.DemandListing"])
def test_a_listing_service_refuses_a_description_over_the_cap(label, member_a, company_a):
    site = factories.SiteFactory(organization=company_a)
    material = factories.MaterialFactory()
    values = {
        "user": member_a,
        "organization": company_a,
        "site": site,
        "quantity": 5,
        "description": "x" * (DESCRIPTION_MAX_CHARS + 1),
    }
    with pytest.raises(ValidationError) as info:
        if label == "symbiosis.SupplyListing":
            services.supply_create(material=material, **values)
        else:
            services.demand_create(materials=[material], **values)
    assert list(info.value.message_dict) == ["description"]
    assert apps.get_model(label).objects.count() == 0
