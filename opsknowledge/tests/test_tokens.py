"""API tokens: hashed at rest, scoped to one organisation, expiring and revocable."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from opsknowledge.models import APIToken, Organisation
from opsknowledge.tests.factories import OrganisationFactory, member
from opsknowledge.visibility import Access

pytestmark = pytest.mark.django_db


def issue_with_command(username, organisation, *extra):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_token", username, "--organisation", organisation, *extra, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def token_api(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_create_token_prints_the_key_once_and_nothing_else():
    org = OrganisationFactory(slug="alpen")
    member(org, role="editor", username="pipeline")
    stdout, stderr = issue_with_command("pipeline", "alpen")
    key = stdout.strip()
    assert stdout == key + "\n"
    assert key.startswith("okb_") and len(key) > 40
    assert key not in stderr
    assert token_api(key).get("/api/v1/me/").json()["token_organisation"] == "alpen"


def test_key_is_stored_only_as_a_digest():
    org = OrganisationFactory()
    token, key = APIToken.issue(user=member(org), organisation=org)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {APIToken._meta.db_table}")
        rows = [" ".join(str(value) for value in row) for row in cursor.fetchall()]
    assert len(rows) == 1
    assert key not in rows[0]
    assert key[len(token.key_start) :] not in rows[0]
    assert token.key_digest in rows[0]


def test_token_acts_only_for_its_organisation_with_the_users_role_there():
    alpen, north = OrganisationFactory(slug="alpen"), OrganisationFactory(slug="north")
    user = member(alpen, role="viewer", username="dual")
    member(north, role="admin", username="dual")
    _, key = APIToken.issue(user=user, organisation=alpen)
    me = token_api(key).get("/api/v1/me/").json()
    assert me["organisations"] == [{"slug": "alpen", "name": alpen.name, "role": "viewer"}]

    client = token_api(key)
    client.get("/api/v1/me/")
    access = Access.for_user(user, token=APIToken.objects.get())
    assert access.roles == {alpen.pk: "viewer"}
    assert not access.can_write(alpen)  # a viewer's token only reads
    assert not access.can_write(north)  # and never acts for the user's other organisation


def test_expired_token_is_a_401():
    org = OrganisationFactory()
    user = member(org)
    token, key = APIToken.issue(user=user, organisation=org)
    assert token_api(key).get("/api/v1/me/").status_code == 200
    APIToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = token_api(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_revoked_token_is_a_401():
    org = OrganisationFactory(slug="alpen")
    member(org, username="pipeline")
    key = issue_with_command("pipeline", "alpen")[0].strip()
    call_command("revoke_token", "--key", key, stderr=io.StringIO())
    assert token_api(key).get("/api/v1/me/").status_code == 401


def test_revoking_all_tokens_of_a_user():
    org = OrganisationFactory(slug="alpen")
    member(org, username="pipeline")
    keys = [issue_with_command("pipeline", "alpen")[0].strip() for _ in range(2)]
    call_command("revoke_token", "--user", "pipeline", stderr=io.StringIO())
    assert [token_api(k).get("/api/v1/me/").status_code for k in keys] == [401, 401]
    with pytest.raises(CommandError, match="No active token"):
        call_command("revoke_token", "--user", "pipeline", stderr=io.StringIO())


def test_token_of_a_deactivated_user_is_a_401():
    org = OrganisationFactory()
    user = member(org)
    _, key = APIToken.issue(user=user, organisation=org)
    user.is_active = False
    user.save()
    assert token_api(key).get("/api/v1/me/").status_code == 401


def test_bad_token_is_a_401_even_with_a_valid_session(client):
    org = OrganisationFactory()
    user = member(org)
    client.force_login(user)
    assert client.get("/api/v1/me/").json()["username"] == user.username
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token okb_wrong")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_malformed_authorization_header_is_a_401(api):
    api.credentials(HTTP_AUTHORIZATION="Token two parts")
    assert api.get("/api/v1/me/").status_code == 401


def test_expiry_from_the_command():
    org = OrganisationFactory(slug="alpen")
    member(org, username="pipeline")
    _, stderr = issue_with_command("pipeline", "alpen", "--expires-days", "30")
    token = APIToken.objects.get()
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "expires" in stderr


def test_token_needs_membership():
    OrganisationFactory(slug="alpen")
    member(OrganisationFactory(slug="other"), username="stranger")
    with pytest.raises(CommandError, match="not a member of 'alpen'"):
        issue_with_command("stranger", "alpen")


def staff_token(username="operator", **extra):
    from opsknowledge.tests.factories import UserFactory

    user = UserFactory(username=username, is_staff=True, **extra)
    out, err = io.StringIO(), io.StringIO()
    call_command("create_token", username, "--staff", stdout=out, stderr=err)
    assert out.getvalue().count("\n") == 1 and "catalogue only" in err.getvalue()
    return user, out.getvalue().strip()


def test_a_staff_token_manages_the_catalogue_and_is_a_member_of_nothing(catalogue):
    from runbooks.tests.factories import publish

    alpen = Organisation.objects.get(slug="alpenwolke")
    user, key = staff_token()
    # Even a staff user who is an editor somewhere: the staff token does not act there.
    member(alpen, role="editor", username=user.username)
    publish(organisation=alpen, slug="internal", visibility="community")
    api = token_api(key)

    me = api.get("/api/v1/me/").json()
    assert (me["is_staff"], me["organisations"], me["token_organisation"]) == (True, [], None)
    created = api.post(
        "/api/v1/components/",
        {"slug": "rgw", "name": "RADOS Gateway", "parent": "ceph"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert api.get("/api/v1/runbooks/alpenwolke/internal/").status_code == 404
    put = api.put("/api/v1/runbooks/alpenwolke/new/", {"title": "New", "body": "x"}, format="json")
    assert put.status_code == 403
    assert api.post("/api/v1/runbooks/", {"slug": "x", "title": "X"}, format="json").json()[
        "error"
    ]["fields"] == {"organisation": ["This field is required."]}


def test_staff_tokens_are_for_staff_only():
    from opsknowledge.tests.factories import UserFactory

    UserFactory(username="erika")
    with pytest.raises(CommandError, match="'erika' is not staff"):
        call_command("create_token", "erika", "--staff", stdout=io.StringIO())
    with pytest.raises(CommandError):  # one scope or the other, not both
        call_command("create_token", "erika", "--staff", "--organisation", "x")
