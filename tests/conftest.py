"""Shared fixtures. Says plainly which database and broker the run uses.

Also the suite's two parts and its randomness:
- Tests under tests/e2e, tests/integration and tests/faults are marked with their
  folder's name here (a new file there is marked without saying so). They start real
  workers, browsers and Redis servers, so ``make test`` runs them one at a time after
  the rest has run in parallel (pytest-xdist, a database per worker).
- Hypothesis profiles: "ci" (the same examples on every run: derandomized, no example
  database) when CI=true or REQUIRE_SERVICES=1; "explore" (``make test-explore``: many
  more examples from random seeds); otherwise "dev" (random seeds, failures replayed
  from .hypothesis/). Every profile prints the blob that reproduces a failure.
"""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import override_settings
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from tests import demo_snapshot, factories, fast_flush

SERIAL_FOLDERS = ("e2e", "integration", "faults")
TESTS = Path(__file__).resolve().parent

hypothesis_settings.register_profile(
    "ci", derandomize=True, print_blob=True, deadline=None, database=None
)
hypothesis_settings.register_profile("dev", print_blob=True, deadline=None)
hypothesis_settings.register_profile("explore", max_examples=2000, print_blob=True, deadline=None)
# Under "explore" a test's own max_examples is multiplied by this (up to the profile's).
EXPLORE_FACTOR = 20


def _hypothesis_profile() -> str:
    # An explicit --hypothesis-profile (the plugin's option) wins over this.
    if os.environ.get("HYPOTHESIS_PROFILE"):
        return os.environ["HYPOTHESIS_PROFILE"]
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_SERVICES"):
        return "ci"
    return "dev"


# Loaded on import, before any test module builds its settings(...) from the profile.
hypothesis_settings.load_profile(_hypothesis_profile())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # tryfirst: the markers must be there before -m deselects by them.
    _demo_readers_last(items)
    for item in items:
        path = item.path.resolve()
        if path.is_relative_to(TESTS) and path.relative_to(TESTS).parts[0] in SERIAL_FOLDERS:
            item.add_marker(getattr(pytest.mark, path.relative_to(TESTS).parts[0]))
    # The plugin may have loaded a profile derived from it ("explore-with-...").
    if hypothesis_settings.get_current_profile_name().startswith("explore"):
        _explore(items)


def _demo_readers_last(items):
    """In each module, the tests on the module's demo (fixture ``demo``) run after the
    others, so that only they see it: it stays loaded until the module's end."""
    first = {}
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(
        key=lambda item: (
            first[item.path],
            "demo_module" in getattr(item, "fixturenames", ()),
            order[id(item)],
        )
    )


def _explore(items):
    """More examples from random seeds, also for tests that fix their own count or seed."""
    most = hypothesis_settings.default.max_examples
    functions = {getattr(item.obj, "__func__", item.obj) for item in items if hasattr(item, "obj")}
    for function in functions:
        if not getattr(function, "is_hypothesis_test", False):
            continue
        # Hypothesis reads a test's settings from this attribute when the test runs.
        own = function._hypothesis_internal_use_settings
        function._hypothesis_internal_use_settings = hypothesis_settings(
            own,
            max_examples=max(own.max_examples, min(own.max_examples * EXPLORE_FACTOR, most)),
            derandomize=False,
            database=hypothesis_settings.default.database,
            print_blob=True,
        )


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db.get('NAME')}",
        f"celery broker: {settings.CELERY_BROKER_URL.split('@')[-1]}",
        f"CI: {os.environ.get('CI', 'no')}",
        f"hypothesis profile: {hypothesis_settings.get_current_profile_name()}",
    ]


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """Transactional tests end with a DELETE of the filled tables, not a TRUNCATE of all
    (tests/fast_flush.py: ~2 s less after each on PostgreSQL)."""
    fast_flush.install()
    yield
    fast_flush.uninstall()


@pytest.fixture(autouse=True)
def _language_reset():
    # A request in Russian leaves Russian active in the thread (LocaleMiddleware
    # activates, nothing deactivates); a later test that sets no language would
    # then format numbers in Russian, depending on the order tests run in.
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _cache_clear():
    # Pages cache figures keyed by the data versions (symbiosis.data_versions):
    # each test's database starts again from the same versions, so an entry left
    # by an earlier test could be read for different data.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _celery_tasks_in_process(request):
    """Celery tasks a test's code queues run in this process, at once (e-mails of
    notifications reach mail.outbox when the on-commit callbacks run), instead of
    waiting in the broker for a worker that is not there. Not where a real worker
    takes them (tests using ``celery_worker_process``), nor in the fault and
    integration tests, which are about what the broker and the worker do."""
    real_broker = request.node.get_closest_marker("faults") or request.node.get_closest_marker(
        "integration"
    )
    if "celery_worker_process" in request.fixturenames or real_broker:
        yield
        return
    from symbiosis.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Autouse fixtures run first, so users the other fixtures create are hashed
    # with this too; the production hasher costs ~0.4 s per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def attachment_storage(settings, tmp_path):
    """Listing photos and documents stored in the test's own folder (the folder)."""
    folder = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


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


@pytest.fixture(scope="module")
def demo_module(django_db_setup, django_db_blocker):
    """The Almaty demo (``load_demo``'s result), loaded once per test module in an outer
    transaction rolled back at the module's end (tests/demo_snapshot.py: the real
    loader the first time in a process, its rows copied back after that)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
            ):
                yield demo_snapshot.load_demo()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def demo(demo_module, db):
    """The demo for a test that reads it; what the test writes is rolled back after it
    (a savepoint). Transactional tests (the browser's) load their own."""
    return demo_module
