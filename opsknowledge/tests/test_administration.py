"""Organisation administration pages: members (add, create with a one-time password, change
role, remove; never without an admin), API tokens (created with a key shown once, listed,
revoked), the upload of a runbook repository archive; and their security: admins only,
CSRF, sessions that expire, a password change that ends the other sessions, a removed
member's tokens refused at once."""

import io
import re
import tarfile

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from opsknowledge import members
from opsknowledge.exceptions import Conflict, PermissionDenied
from opsknowledge.models import APIToken, Membership, PasswordChangeRequired, Revision
from opsknowledge.services import Actor
from opsknowledge.tests.factories import OrganisationFactory, member
from opsknowledge.visibility import Access
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

ADMIN = "/organisations/alpen/admin/"


@pytest.fixture
def alpen():
    return OrganisationFactory(slug="alpen", name="Alpen Cloud")


@pytest.fixture
def admin_user(alpen):
    return member(alpen, "admin", username="ada")


def browser(user=None):
    """A client that checks CSRF like a browser's requests are checked."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def post(client, page, url, data, **extra):
    """POST a form of `page` with the CSRF token the page set, as a browser does."""
    response = client.get(page)
    assert response.status_code == 200, response.status_code
    return client.post(
        url, {**data, "csrfmiddlewaretoken": response.context["csrf_token"]}, **extra
    )


def text(response) -> str:
    return response.content.decode()


# -- members -------------------------------------------------------------------------------


def test_an_admin_adds_an_existing_user_and_changes_their_role(alpen, admin_user):
    get_user_model().objects.create_user("bert", password="x-long-password-1")
    client = browser(admin_user)
    response = post(client, ADMIN, f"{ADMIN}members/add/", {"username": "bert", "role": "viewer"})
    assert response.status_code == 302
    bert = Membership.objects.get(user__username="bert", organisation=alpen)
    assert bert.role == "viewer"
    response = post(client, ADMIN, f"{ADMIN}members/{bert.user_id}/role/", {"role": "editor"})
    assert response.status_code == 302
    assert Membership.objects.get(pk=bert.pk).role == "editor"
    assert "bert is now editor here." in text(client.get(ADMIN))


def test_adding_an_unknown_user_is_a_field_error(admin_user):
    response = post(
        browser(admin_user), ADMIN, f"{ADMIN}members/add/", {"username": "nobody", "role": "x"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "No user &#x27;nobody&#x27;" in page or "Select a valid choice" in page
    assert 'class="form-errors"' in page


def test_a_created_user_gets_a_one_time_password_shown_once_and_must_change_it(alpen, admin_user):
    response = post(
        browser(admin_user),
        ADMIN,
        f"{ADMIN}members/create/",
        {"new-username": "ci-bot", "new-email": "", "new-role": "editor"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = re.search(r"data-secret>([^<]+)<", text(response)).group(1)
    user = get_user_model().objects.get(username="ci-bot")
    assert user.check_password(password)
    assert Membership.objects.get(user=user).role == "editor"
    assert PasswordChangeRequired.objects.filter(user=user).exists()
    # Not on the members page afterwards.
    assert password not in text(browser(admin_user).get(ADMIN))
    # Signed in with it, every page leads to the password change first.
    newcomer = Client()
    assert (
        newcomer.post("/accounts/login/", {"username": "ci-bot", "password": password}).status_code
        == 302
    )
    assert newcomer.get("/")["Location"] == "/accounts/password/"
    assert newcomer.get("/api/v1/me/").status_code == 403
    response = newcomer.post(
        "/accounts/password/",
        {
            "old_password": password,
            "new_password1": "a-new-and-long-one-42",
            "new_password2": "a-new-and-long-one-42",
        },
    )
    assert response.status_code == 302
    assert newcomer.get("/").status_code == 200
    assert not PasswordChangeRequired.objects.filter(user=user).exists()


def test_a_taken_username_is_a_field_error(admin_user):
    response = post(
        browser(admin_user),
        ADMIN,
        f"{ADMIN}members/create/",
        {"new-username": "ada", "new-role": "viewer"},
    )
    assert response.status_code == 400
    assert "already exists" in text(response)


def test_the_last_admin_can_be_neither_removed_nor_demoted(alpen, admin_user):
    client = browser(admin_user)
    post(client, ADMIN, f"{ADMIN}members/{admin_user.pk}/role/", {"role": "editor"})
    post(client, ADMIN, f"{ADMIN}members/{admin_user.pk}/remove/", {})
    assert Membership.objects.get(user=admin_user).role == "admin"
    assert "last admin" in text(client.get(ADMIN))
    with pytest.raises(Conflict):
        members.membership_set(
            organisation=alpen, user=admin_user, role="viewer", actor=Actor.operator()
        )
    # With a second admin, the first may go.
    member(alpen, "admin", username="second")
    post(client, ADMIN, f"{ADMIN}members/{admin_user.pk}/role/", {"role": "editor"})
    assert Membership.objects.get(user=admin_user).role == "editor"


def test_the_add_member_command_uses_the_same_rule(alpen, admin_user):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="last admin"):
        call_command("add_member", "ada", "alpen", "--role", "viewer", stderr=io.StringIO())


def test_removing_a_member_makes_their_tokens_401_at_once(alpen, admin_user):
    eddie = member(alpen, "editor", username="eddie")
    _token, key = APIToken.issue(user=eddie, organisation=alpen)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 200
    response = post(browser(admin_user), ADMIN, f"{ADMIN}members/{eddie.pk}/remove/", {})
    assert response.status_code == 302
    assert not Membership.objects.filter(user=eddie).exists()
    assert api.get("/api/v1/me/").status_code == 401
    assert APIToken.objects.get(user=eddie).revoked_at is not None


def test_a_token_of_a_user_removed_elsewhere_is_refused(alpen):
    eddie = member(alpen, "editor", username="eddie")
    _token, key = APIToken.issue(user=eddie, organisation=alpen)
    Membership.objects.filter(user=eddie).delete()  # e.g. in Django's admin
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").status_code == 401


# -- tokens --------------------------------------------------------------------------------


def test_an_admin_creates_a_token_for_a_member_shown_once_and_revokes_it(alpen, admin_user):
    bot = member(alpen, "editor", username="ci-bot")
    client = browser(admin_user)
    tokens = f"{ADMIN}tokens/"
    response = post(
        client,
        tokens,
        f"{tokens}create/",
        {"user": bot.pk, "description": "CI pipeline", "expires_on": "2099-01-01"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    key = re.search(r"data-secret>([^<]+)<", text(response)).group(1)
    token = APIToken.objects.get(description="CI pipeline")
    assert token.user == bot and token.organisation == alpen
    assert token.expires_at.year == 2099
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["username"] == "ci-bot"
    listing = text(client.get(tokens))
    assert key not in listing and token.key_start in listing and "CI pipeline" in listing
    response = post(client, tokens, f"{tokens}{token.pk}/revoke/", {})
    assert response.status_code == 302
    assert api.get("/api/v1/me/").status_code == 401
    assert "revoked" in text(client.get(tokens))


def test_a_token_for_a_non_member_or_in_the_past_is_refused(alpen, admin_user):
    outsider = member(OrganisationFactory(slug="other"), "editor", username="otto")
    client = browser(admin_user)
    tokens = f"{ADMIN}tokens/"
    response = post(client, tokens, f"{tokens}create/", {"user": outsider.pk, "description": "x"})
    assert response.status_code == 400
    response = post(
        client,
        tokens,
        f"{tokens}create/",
        {"user": admin_user.pk, "description": "old", "expires_on": "2001-01-01"},
    )
    assert response.status_code == 400 and "in the future" in text(response)
    assert not APIToken.objects.exists()


def test_a_token_of_another_organisation_cannot_be_revoked_here(alpen, admin_user):
    other = OrganisationFactory(slug="other")
    token, _key = APIToken.issue(user=member(other, "editor"), organisation=other)
    response = post(browser(admin_user), f"{ADMIN}tokens/", f"{ADMIN}tokens/{token.pk}/revoke/", {})
    assert response.status_code == 404
    assert APIToken.objects.get(pk=token.pk).revoked_at is None


def test_the_token_commands_share_the_service(alpen, admin_user):
    out = io.StringIO()
    call_command("create_token", "ada", "--organisation", "alpen", stdout=out, stderr=io.StringIO())
    assert APIToken.objects.filter(user=admin_user, organisation=alpen).exists()
    editor = Access.of(member(alpen, "editor", username="ed"))
    with pytest.raises(PermissionDenied):
        members.token_create(user=admin_user, organisation=alpen, actor=Actor(access=editor))
    call_command("revoke_token", "--user", "ada", stderr=io.StringIO())
    assert APIToken.objects.get(user=admin_user).revoked_at is not None


# -- upload --------------------------------------------------------------------------------


def runbook_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in (
            (
                "runbooks/disk-full.md",
                "# Disk full\n\nThe disk is full.\n\n## Mitigation\nDelete.\n",
            ),
            ("runbooks/broken.md", "---\nslug: [unclosed\n---\n# Broken\n"),
        ):
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_an_admin_uploads_a_runbook_archive_and_sees_each_file(catalogue, alpen, admin_user):
    client = browser(admin_user)
    page = f"{ADMIN}import/"
    upload = io.BytesIO(runbook_archive())
    upload.name = "runbooks.tar.gz"
    response = post(
        client, page, page, {"file": upload, "visibility": "organisation", "status": "published"}
    )
    assert response.status_code == 200, text(response)
    results = text(response)
    assert "disk-full.md" in results and "created" in results
    runbook = Runbook.objects.get(organisation=alpen, slug="disk-full")
    revision = Revision.objects.get(object_id=runbook.pk, number=1)
    assert revision.via == "session" and revision.author == admin_user


def test_an_upload_that_is_no_archive_is_a_field_error(alpen, admin_user):
    client = browser(admin_user)
    page = f"{ADMIN}import/"
    upload = io.BytesIO(b"not an archive")
    upload.name = "notes.txt"
    response = post(client, page, page, {"file": upload, "visibility": "organisation",
                                          "status": "published"})  # fmt: skip
    assert response.status_code == 400
    assert 'class="field-error"' in text(response)


# -- security ------------------------------------------------------------------------------

PAGES = ["", "tokens/", "import/"]
POSTS = ["members/add/", "members/create/", "members/1/role/", "members/1/remove/",
         "tokens/create/", "tokens/1/revoke/", "import/"]  # fmt: skip


@pytest.mark.parametrize("role", ["viewer", "editor", None])
def test_only_admins_of_the_organisation_reach_the_pages_and_forms(alpen, admin_user, role):
    other = OrganisationFactory(slug="other")
    user = member(alpen, role, username="someone") if role else member(other, "admin")
    client = Client()
    client.force_login(user)
    for page in PAGES:
        assert client.get(ADMIN + page).status_code == 403, page
    for url in POSTS:
        assert client.post(ADMIN + url, {"role": "admin", "username": "someone"}).status_code == 403
    assert Membership.objects.get(user=admin_user).role == "admin"
    assert "Administer" not in text(client.get("/organisations/alpen/"))
    assert "Administer" in text(browser(admin_user).get("/organisations/alpen/"))


def test_anonymous_readers_are_sent_to_sign_in_and_their_posts_refused(alpen, admin_user):
    client = Client()
    assert client.get(ADMIN)["Location"].startswith("/accounts/login/?next=")
    assert (
        client.post(f"{ADMIN}members/add/", {"username": "x", "role": "admin"}).status_code == 403
    )
    assert client.get("/organisations/nowhere/admin/").status_code == 404


def test_every_form_needs_its_csrf_token(alpen, admin_user):
    client = browser(admin_user)
    for url in POSTS:
        assert client.post(ADMIN + url, {"username": "x", "role": "admin"}).status_code == 403, url
    assert Membership.objects.count() == 1


def test_sessions_expire_and_are_not_renewed_by_every_request():
    assert 0 < settings.SESSION_COOKIE_AGE <= 24 * 60 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False


def test_a_password_change_ends_the_users_other_sessions(alpen):
    user = member(alpen, "editor", username="pat")
    user.set_password("the-first-password-1")
    user.save()
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        client.post("/accounts/login/", {"username": "pat", "password": "the-first-password-1"})
        assert client.get("/api/v1/me/").json()["username"] == "pat"
    response = here.post(
        "/accounts/password/",
        {
            "old_password": "the-first-password-1",
            "new_password1": "the-second-password-2",
            "new_password2": "the-second-password-2",
        },
    )
    assert response.status_code == 302
    assert here.get("/api/v1/me/").json()["username"] == "pat"
    assert elsewhere.get("/api/v1/me/").json().get("username") is None
