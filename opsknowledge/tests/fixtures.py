"""Fixtures shared by every test module (loaded as a pytest plugin from pyproject.toml, before
Django is set up: project imports stay inside the fixtures)."""

import io

import pytest
from django.core.management import call_command


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client():
    """Build an API client that authenticates with a fresh token for `user` in `organisation`."""

    from rest_framework.test import APIClient

    from opsknowledge.models import APIToken

    def build(user, organisation):
        _, key = APIToken.issue(user=user, organisation=organisation)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return build


@pytest.fixture
def demo(db):
    call_command("load_demo", stderr=io.StringIO())


@pytest.fixture
def catalogue(db):
    """The demo catalogue (organisations, SCS components, releases r0-r7), no documents."""
    call_command("load_demo", "--catalogue-only", stderr=io.StringIO())
