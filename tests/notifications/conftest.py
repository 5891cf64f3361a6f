"""Fixtures of the notification tests: the marketplace's small market (A supplies B,
C has no part) and its roles, and the failing mail backends."""

import pytest

from tests.marketplace.conftest import (  # noqa: F401  (fixtures)
    actors,
    company_c,
    make_deal,
    make_introduction,
    market,
    member_c,
)
from tests.notifications import mail_backends


@pytest.fixture
def site_url(settings):
    settings.SITE_URL = "https://symbiosis.example.kz"
    return settings.SITE_URL


@pytest.fixture
def refusing_mail(settings):
    """Every e-mail is refused, as by a mail server that is down."""
    mail_backends.SENDS["tried"] = 0
    settings.EMAIL_BACKEND = "tests.notifications.mail_backends.RefusingBackend"
    return mail_backends.SENDS


@pytest.fixture
def flaky_mail(settings):
    """``flaky_mail(n)``: the next n sends are refused, then e-mails go out."""
    mail_backends.SENDS["tried"] = 0
    settings.EMAIL_BACKEND = "tests.notifications.mail_backends.FlakyBackend"

    def refuse(n: int):
        mail_backends.REFUSALS["left"] = n
        return mail_backends.SENDS

    yield refuse
    mail_backends.REFUSALS["left"] = 0


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the on-commit callbacks (the e-mail tasks, in this
    process) when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def open_proposal(market, facilitator):  # noqa: F811  (the fixture above)
    """An open proposal of a succeeded run: A's spent grain to B's farm."""
    from optimizer.models import MatchProposal, OptimizationRun

    run = OptimizationRun.objects.create(
        created_by=facilitator, status="succeeded", factor_set=market.factor_set
    )
    return MatchProposal.objects.create(
        run=run,
        supply=market.supply,
        demand=market.demand,
        material=market.grain,
        tonnes=120.0,
        road_km=9.5,
        tonnes_diverted_from_landfill=120.0,
        fate_kg_co2e_avoided=60000.0,
        transport_kg_co2e_added=114.0,
        virgin_kg_co2e_avoided=12000.0,
        net_kg_co2e_saved=71886.0,
    )
