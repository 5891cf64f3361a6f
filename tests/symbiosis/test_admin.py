"""Every model of ours has an admin page that opens."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests import factories

OUR_APPS = ("symbiosis", "optimizer", "marketplace")


def _our_models():
    return [m for name in OUR_APPS for m in apps.get_app_config(name).get_models()]


@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.mark.django_db
@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_changelist_and_add_pages_open_for_a_superuser(client, model):
    user = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    opts = model._meta
    assert (
        client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code
        == 200
    )
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


@pytest.mark.django_db
def test_company_member_cannot_open_the_admin(client, member_a):
    client.force_login(member_a)
    response = client.get(reverse("admin:symbiosis_supplylisting_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
