"""Who reads and who writes which document, over HTTP: the table of
opsknowledge/tests/test_permissions.py taken through every document endpoint of runbooks and
practices (API.md "Visibility" and "Documents").

Organisation "owner" has one document per row of READERS (two revisions each), of both kinds;
each test asks as one caller. Most callers are forced onto the request; the `*_token` callers
send a real `Authorization: Token` header for a token of their organisation.
"""

import json
from dataclasses import dataclass

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from opsknowledge import services
from opsknowledge.models import Organisation
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db

KINDS = {"runbooks": Runbook, "practices": Practice}

EVERYONE = {"anonymous", "outsider", "other_editor", "viewer", "editor", "admin", "staff"}
# Signed in and member of some organisation: staff without a membership are not.
COMMUNITY = {"other_editor", "viewer", "editor", "admin"}
OWNER_MEMBERS = {"viewer", "editor", "admin"}
WRITERS = {"editor", "admin"}

# (visibility, status) of a document of organisation "owner" -> the callers who may read it
READERS = {
    ("public", "published"): EVERYONE,
    ("public", "archived"): EVERYONE,
    ("community", "published"): COMMUNITY,
    ("organisation", "published"): OWNER_MEMBERS,
    ("public", "draft"): OWNER_MEMBERS,
    ("community", "draft"): OWNER_MEMBERS,
    ("organisation", "draft"): OWNER_MEMBERS,
}

# Callers who authenticate with a real token: name -> (the caller they act as, token's org)
TOKEN_CALLERS = {
    "viewer_token": ("viewer", "owner"),
    "editor_token": ("editor", "owner"),
    "other_editor_token": ("other_editor", "other"),
}
SESSION_CALLERS = ["anonymous", "outsider", "staff", "other_editor", "viewer", "editor", "admin"]
CALLERS = SESSION_CALLERS + list(TOKEN_CALLERS)

SECRET_TAG = "only-on-the-private-draft"
MISSING = "no-such-document"
OPERATOR = services.Actor.operator()


def role(caller: str) -> str:
    """The caller whose rights `caller` has (a token acts with its user's role)."""
    return TOKEN_CALLERS[caller][0] if caller in TOKEN_CALLERS else caller


def slug_of(key) -> str:
    visibility, status = key
    return f"{visibility}-{status}"


def readable(caller: str, key) -> bool:
    return role(caller) in READERS[key]


def make_document(model, organisation, slug, visibility, status, tags=("shared",)):
    """A document with revisions 1 and 2, written as the instance's operator."""
    document = services.document_create(
        model=model,
        organisation=organisation,
        slug=slug,
        data={
            "title": f"{slug} title",
            "summary": "first",
            "body": "1. look\n2. fix\n",
            "visibility": visibility,
            "status": status,
            "tags": list(tags),
        },
        actor=OPERATOR,
    )
    document, changed = services.document_update(
        document=document, data={"summary": "second"}, actor=OPERATOR, if_match={1}
    )
    assert changed and document.revision == 2
    return document


@dataclass
class World:
    kind: str
    model: type
    users: dict
    api: APIClient
    token_client: object

    def client(self, caller: str) -> APIClient:
        """An API client speaking as `caller`."""
        if caller in TOKEN_CALLERS:
            user, organisation = TOKEN_CALLERS[caller]
            return self.token_client(self.users[user], Organisation.objects.get(slug=organisation))
        if caller != "anonymous":
            self.api.force_authenticate(self.users[caller])
        return self.api

    def url(self, slug: str, suffix: str = "") -> str:
        return f"/api/v1/{self.kind}/owner/{slug}/{suffix}"

    def document(self, slug: str):
        return self.model.objects.get(organisation__slug="owner", slug=slug)


@pytest.fixture(scope="module")
def users(django_db_setup, django_db_blocker):
    """The callers (returned) and the documents of both kinds, built once for this module
    (building them for each of the ~300 tests would take over a minute) inside a transaction
    rolled back at its end. Each test runs in a savepoint of its own, so whatever a test
    writes is undone before the next test starts."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner, other = OrganisationFactory(slug="owner"), OrganisationFactory(slug="other")
        users = {
            "outsider": UserFactory(username="outsider"),  # signed in, member of nothing
            "staff": UserFactory(username="staff", is_staff=True),  # no membership
            "other_editor": member(other, "editor", username="other-editor"),
            "viewer": member(owner, "viewer", username="viewer"),
            "editor": member(owner, "editor", username="editor"),
            "admin": member(owner, "admin", username="admin"),
        }
        for model in KINDS.values():
            for key in READERS:
                tags = ["shared", SECRET_TAG] if key == ("organisation", "draft") else ["shared"]
                make_document(model, owner, slug_of(key), *key, tags=tags)
        yield users
        transaction.set_rollback(True)


@pytest.fixture(params=list(KINDS))
def kind(request):
    return request.param


@pytest.fixture
def world(users, kind, api, token_client):
    return World(kind=kind, model=KINDS[kind], users=users, api=api, token_client=token_client)


def assert_like_missing(response, missing, slug):
    """A hidden document answers exactly as one that does not exist: `missing` is the same
    request for a slug that exists nowhere."""
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert response.status_code == 404, slug
    assert response.json() == json.loads(json.dumps(missing.json()).replace(MISSING, slug))


# -- reads ---------------------------------------------------------------------------------

LIST_FILTERS = {
    "all": ({}, lambda key: True),
    "organisation": ({"organisation": "owner"}, lambda key: True),
    "secret-tag": ({"tag": SECRET_TAG}, lambda key: key == ("organisation", "draft")),
    "drafts": ({"status": "draft"}, lambda key: key[1] == "draft"),
}


@pytest.mark.parametrize("query", list(LIST_FILTERS))
@pytest.mark.parametrize("caller", CALLERS)
def test_list_holds_exactly_the_readable_documents(world, caller, query):
    params, matches = LIST_FILTERS[query]
    response = world.client(caller).get(f"/api/v1/{world.kind}/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    listed = {(item["organisation"], item["slug"]) for item in body["results"]}
    expected = {
        ("owner", slug_of(key)) for key in READERS if readable(caller, key) and matches(key)
    }
    assert listed == expected
    assert body["count"] == len(expected)


READ_ENDPOINTS = {
    "detail": "",
    "revisions": "revisions/",
    "revision": "revisions/1/",
    "diff": "diff/",
}


def check_readable_body(endpoint, body, slug):
    if endpoint == "detail":
        assert (body["organisation"], body["slug"], body["revision"]) == ("owner", slug, 2)
    elif endpoint == "revisions":
        assert [item["number"] for item in body["results"]] == [2, 1]
    elif endpoint == "revision":
        assert body["number"] == 1 and body["snapshot"]["summary"] == "first"
    else:
        assert (body["from"], body["to"], list(body["changes"])) == (1, 2, ["summary"])


@pytest.mark.parametrize("endpoint", list(READ_ENDPOINTS))
@pytest.mark.parametrize("caller", CALLERS)
def test_document_endpoints_answer_404_for_what_the_caller_cannot_read(world, caller, endpoint):
    client = world.client(caller)
    suffix = READ_ENDPOINTS[endpoint]
    responses = {slug_of(key): client.get(world.url(slug_of(key), suffix)) for key in READERS}
    assert {slug: r.status_code for slug, r in responses.items()} == {
        slug_of(key): 200 if readable(caller, key) else 404 for key in READERS
    }
    missing = client.get(world.url(MISSING, suffix))
    for slug, response in responses.items():
        if response.status_code == 200:
            check_readable_body(endpoint, response.json(), slug)
        else:
            assert_like_missing(response, missing, slug)


@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_web_page_answers_404_for_what_the_caller_cannot_read(world, caller):
    client = world.api
    if caller != "anonymous":
        client.force_login(world.users[caller])  # the web UI signs in with a session cookie
    statuses = {}
    for key in READERS:
        response = client.get(f"/{world.kind}/owner/{slug_of(key)}/")
        statuses[slug_of(key)] = response.status_code
        if response.status_code == 200:
            assert response["Content-Type"].startswith("text/html")
            assert f"{slug_of(key)} title" in response.content.decode()
    assert statuses == {slug_of(key): 200 if readable(caller, key) else 404 for key in READERS}
    assert client.get(f"/{world.kind}/owner/{MISSING}/").status_code == 404


# -- writes --------------------------------------------------------------------------------

WRITES = {
    # method -> (request body, status a writer gets for an existing document)
    "put": ({"title": "Replaced title", "summary": "replaced"}, 200),
    "patch": ({"title": "Patched title"}, 200),
    "delete": (None, 200),
}
# What a writer gets for a slug that does not exist in "owner".
WRITER_ON_MISSING = {"put": 201, "patch": 404, "delete": 404}


def expected_write_status(caller, writer_gets):
    if caller == "anonymous":
        return 401
    if role(caller) not in WRITERS:
        return 403  # whether or not the document exists
    return writer_gets


@pytest.mark.parametrize("method", list(WRITES))
@pytest.mark.parametrize("caller", CALLERS)
def test_writes_need_editor_or_admin_of_the_owner(world, caller, method):
    client = world.client(caller)
    data, _ = WRITES[method]
    statuses, expected = {}, {}
    for slug in [slug_of(key) for key in READERS] + [MISSING]:
        exists = slug != MISSING
        # A create (PUT of a missing slug) must not carry If-Match; the rest need it.
        headers = {"HTTP_IF_MATCH": '"2"'} if exists or method != "put" else {}
        response = getattr(client, method)(world.url(slug), data, format="json", **headers)
        statuses[slug] = response.status_code
        expected[slug] = expected_write_status(
            caller, WRITES[method][1] if exists else WRITER_ON_MISSING[method]
        )
        if response.status_code == 401:
            assert response.json()["error"]["code"] == "not_authenticated"
        elif response.status_code == 403:
            assert response.json()["error"]["code"] == "permission_denied"
        elif response.status_code == 200 and method == "delete":
            assert response.json()["status"] == "archived"
            assert world.document(slug).status == "archived"
        elif response.status_code == 200:
            assert response.json()["title"] == data["title"]
            assert world.document(slug).revision == 3
    assert statuses == expected
    if role(caller) not in WRITERS:
        # Nothing was written, nothing was created.
        assert world.model.objects.count() == len(READERS)
        assert set(world.model.objects.values_list("revision", flat=True)) == {2}


@pytest.mark.parametrize("caller", CALLERS)
def test_create_needs_editor_or_admin_of_the_organisation(world, caller):
    data = {"organisation": "owner", "slug": "brand-new", "title": "Brand new"}
    response = world.client(caller).post(f"/api/v1/{world.kind}/", data, format="json")
    expected = expected_write_status(caller, 201)
    assert response.status_code == expected, response.content
    created = world.model.objects.filter(organisation__slug="owner", slug="brand-new")
    assert created.exists() == (expected == 201)
    if expected == 201:
        assert response["Location"].endswith(world.url("brand-new"))


# -- reuse across organisations ---------------------------------------------------------------

# Where each caller tries to adopt into (owner members under a new slug).
ADOPT_INTO = {
    "outsider": "other",
    "staff": "other",
    "other_editor": "other",
    "viewer": "owner",
    "editor": "owner",
    "admin": "owner",
}


def adopt_target(caller):
    return ADOPT_INTO.get(role(caller), "other")


def expected_adopt_status(caller, key):
    if caller == "anonymous":
        return 401
    if not readable(caller, key):
        return 404
    writers_of_target = WRITERS if adopt_target(caller) == "owner" else {"other_editor"}
    return 201 if role(caller) in writers_of_target else 403


@pytest.mark.parametrize("caller", CALLERS)
def test_adopt_what_the_caller_can_read_into_an_organisation_it_can_write(world, caller):
    client = world.client(caller)
    target = adopt_target(caller)

    def request(slug):
        data = {"organisation": target}
        if target == "owner":
            data["slug"] = f"copy-of-{slug}"
        return client.post(world.url(slug, "adopt/"), data, format="json")

    responses = {slug_of(key): request(slug_of(key)) for key in READERS}
    assert {slug: r.status_code for slug, r in responses.items()} == {
        slug_of(key): expected_adopt_status(caller, key) for key in READERS
    }
    missing = request(MISSING)
    for slug, response in responses.items():
        body = response.json()
        if response.status_code == 201:
            assert body["organisation"] == target
            assert body["upstream"]["organisation"] == "owner"
            assert body["upstream"]["slug"] == slug
            assert (body["status"], body["visibility"]) == ("draft", "organisation")
        elif response.status_code == 404:
            assert_like_missing(response, missing, slug)
        elif response.status_code == 403:
            assert body["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("caller", CALLERS)
def test_upstream_diff_is_visible_exactly_when_the_adopted_document_is(world, caller):
    """Copies in "owner" of a public document of "other", one per row of READERS."""
    other = Organisation.objects.get(slug="other")
    original = make_document(world.model, other, "original", "public", "published")
    for visibility, status in READERS:
        services.document_adopt(
            source=original,
            organisation=Organisation.objects.get(slug="owner"),
            slug=f"adopted-{visibility}-{status}",
            actor=OPERATOR,
            overrides={"visibility": visibility, "status": status},
        )
    services.document_update(
        document=original, data={"body": "1. look harder\n"}, actor=OPERATOR, if_match={2}
    )

    client = world.client(caller)
    responses = {
        key: client.get(world.url(f"adopted-{slug_of(key)}", "upstream-diff/")) for key in READERS
    }
    assert {slug_of(key): r.status_code for key, r in responses.items()} == {
        slug_of(key): 200 if readable(caller, key) else 404 for key in READERS
    }
    missing = client.get(world.url(MISSING, "upstream-diff/"))
    for key, response in responses.items():
        if response.status_code == 200:
            body = response.json()
            assert (body["from"], body["to"], list(body["changes"])) == (2, 3, ["body"])
        else:
            assert_like_missing(response, missing, f"adopted-{slug_of(key)}")


def test_upstream_diff_does_not_reveal_an_original_that_became_unreadable(world):
    client = world.client("other_editor")
    response = client.post(
        world.url("community-published", "adopt/"), {"organisation": "other"}, format="json"
    )
    assert response.status_code == 201, response.content
    copy_url = f"/api/v1/{world.kind}/other/community-published/"
    assert client.get(copy_url + "upstream-diff/").status_code == 200

    services.document_update(
        document=world.document("community-published"),
        data={"visibility": "organisation", "body": "now private\n"},
        actor=OPERATOR,
        if_match={2},
    )
    assert client.get(copy_url).status_code == 200  # the copy is theirs
    response = client.get(copy_url + "upstream-diff/")
    assert response.status_code == 404
    assert "now private" not in response.content.decode()
