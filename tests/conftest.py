"""Shared fixtures. Says plainly which database and broker the run uses."""

import os

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from tests import factories


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db.get('NAME')}",
        f"celery broker: {settings.CELERY_BROKER_URL.split('@')[-1]}",
        f"CI: {os.environ.get('CI', 'no')}",
    ]


@pytest.fixture(autouse=True)
def _language_reset():
    # A request in Russian leaves Russian active in the thread (LocaleMiddleware
    # activates, nothing deactivates); a later test that sets no language would
    # then format numbers in Russian, depending on the order tests run in.
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Autouse fixtures run first, so users the other fixtures create are hashed
    # with this too; the production hasher costs ~0.4 s per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def company_a(db):
    return factories.OrganizationFactory(name="Company A")


@pytest.fixture
def company_b(db):
    return factories.OrganizationFactory(name="Company B")


@pytest.fixture
def member_a(company_a):
    return factories.MembershipFactory(organization=company_a, role="member").user


@pytest.fixture
def admin_a(company_a):
    return factories.MembershipFactory(organization=company_a, role="admin").user


@pytest.fixture
def member_b(company_b):
    return factories.MembershipFactory(organization=company_b, role="member").user


@pytest.fixture
def facilitator(db):
    user = factories.UserFactory(email="facilitator@example.kz")
    user.groups.add(Group.objects.get_or_create(name="facilitator")[0])
    return user


@pytest.fixture
def analyst(db):
    user = factories.UserFactory(email="analyst@example.kz")
    user.groups.add(Group.objects.get_or_create(name="city_analyst")[0])
    return user
