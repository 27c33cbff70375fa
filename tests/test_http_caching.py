"""Shared caches and answers that depend on who asks: every page and API answer varies on
the credentials, and an authenticated one is private."""

import pytest

from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db

URLS = [
    "/api/v1/runbooks/",
    "/api/v1/runbooks/alpen/ceph/",
    "/api/v1/components/",
    "/api/v1/nowhere/",
    "/r/CephOSDFull",
    "/",
    "/runbooks/alpen/ceph/",
]


@pytest.fixture
def alpen(catalogue):
    alpen = OrganisationFactory(slug="alpen")
    publish(organisation=alpen, slug="ceph", alerts=["CephOSDFull"])
    return alpen


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


@pytest.mark.parametrize("url", URLS)
def test_anonymous_answers_vary_on_the_credentials(client, alpen, url):
    response = client.get(url)
    assert {"authorization", "cookie"} <= vary(response), (response.status_code, response.headers)


@pytest.mark.parametrize("url", URLS)
def test_answers_to_a_token_are_private(token_client, alpen, url):
    response = token_client(member(alpen, "viewer"), alpen).get(url)
    assert "private" in response.get("Cache-Control", ""), response.headers
    assert {"authorization", "cookie"} <= vary(response)


@pytest.mark.parametrize("url", URLS)
def test_answers_to_a_session_are_private(client, alpen, url):
    client.force_login(member(alpen, "viewer"))
    response = client.get(url)
    assert "private" in response.get("Cache-Control", ""), response.headers


def test_a_bad_token_answer_is_private_too(api, alpen):
    response = api.get("/api/v1/runbooks/", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert "private" in response.get("Cache-Control", "")


def test_anonymous_lists_stay_cacheable(client, alpen):
    assert "private" not in client.get("/api/v1/runbooks/").get("Cache-Control", "")
