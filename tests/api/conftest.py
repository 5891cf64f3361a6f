"""Fixtures for the API tests."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def client_as():
    """``client_as(user)``: an API client logged in with a session."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
