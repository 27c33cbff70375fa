"""Who reads and who writes which document, over HTTP: the table of
opsknowledge/tests/test_permissions.py taken through every document endpoint of runbooks,
practices and failure reports, the Atom feeds, and the links between reports and runbooks
(API.md "Visibility" and "Documents").

Organisation "owner" has one document per row of READERS that its kind has (two revisions
each), of every kind; each failure report links every runbook. Each test asks as one caller.
Most callers are forced onto the request; the `*_token` callers send a real
`Authorization: Token` header for a token of their organisation.
"""

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import FailureReport, StatusPageIncident
from opsknowledge import services
from opsknowledge.models import Component, Organisation, Release
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from releases.services import release_note_upsert
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db

KINDS = {"runbooks": Runbook, "practices": Practice, "incidents": FailureReport}
ADOPTABLE = ["runbooks", "practices"]  # failure reports have no adopt/upstream-diff

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
    # Failure reports only (the other kinds have no status in_review): members-only like drafts.
    ("public", "in_review"): OWNER_MEMBERS,
    ("community", "in_review"): OWNER_MEMBERS,
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


def rows(model) -> list:
    """The rows of READERS that `model` has: those with a status of its kind."""
    statuses = {value for value, _label in model.STATUS_CHOICES}
    return [key for key in READERS if key[1] in statuses]


def slug_of(key) -> str:
    visibility, status = key
    return f"{visibility}-{status}".replace("_", "-")  # in_review: slugs have no underscores


def readable(caller: str, key) -> bool:
    return role(caller) in READERS[key]


# What a published failure report needs besides its summary (a PUT replaces all content).
PUBLISHABLE = {
    FailureReport: {"impact": "Volumes hung for an hour.", "root_cause": "The cluster was full."}
}


def make_document(model, organisation, slug, visibility, status, tags=("shared",), **content):
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
            **PUBLISHABLE.get(model, {}),
            **content,
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

    @property
    def keys(self) -> list:
        """The rows of READERS this kind has (one document of "owner" each)."""
        return rows(self.model)


@pytest.fixture(scope="module")
def users(django_db_setup, django_db_blocker):
    """The callers (returned) and the documents of every kind, built once for this module
    (building them for each of the ~500 tests would take minutes) inside a transaction
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
        # Every document is about a part of a component and applies to one release, so that
        # the component (children included) and release pages list them.
        parent = Component.objects.create(slug="storage", name="Storage")
        part = Component.objects.create(slug="disks", name="Disks", parent=parent)
        release = Release.objects.create(slug="r9", name="Release 9")
        for visibility in ("public", "organisation"):
            release_note_upsert(
                organisation=owner,
                release=release,
                slug=f"{visibility}-note",
                fields={
                    "kind": "upgrade",
                    "title": f"{visibility}-note title",
                    "component": part,
                    "visibility": visibility,
                },
                actor=OPERATOR,
            )
        for model in KINDS.values():  # runbooks first: every failure report links them all
            content = {"components": [part], "releases": [release]}
            if model is FailureReport:
                runbooks = Runbook.objects.filter(organisation=owner).order_by("slug")
                content["runbooks"] = [{"runbook": rb, "relation": "used"} for rb in runbooks]
            for key in rows(model):
                tags = ["shared", SECRET_TAG] if key == ("organisation", "draft") else ["shared"]
                make_document(model, owner, slug_of(key), *key, tags=tags, **content)
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

# name -> (query, which rows match it, the kinds that have the filter)
LIST_FILTERS = {
    "all": ({}, lambda key: True, KINDS),
    "organisation": ({"organisation": "owner"}, lambda key: True, KINDS),
    "secret-tag": ({"tag": SECRET_TAG}, lambda key: key == ("organisation", "draft"), KINDS),
    "drafts": ({"status": "draft"}, lambda key: key[1] == "draft", KINDS),
    "in-review": ({"status": "in_review"}, lambda key: key[1] == "in_review", ["incidents"]),
    # ?runbook= (incidents): test_reports_filtered_by_a_runbook_the_caller_cannot_read_are_none
}
LIST_CASES = [
    pytest.param(kind, query, id=f"{kind}-{query}")
    for query, (_params, _matches, kinds) in LIST_FILTERS.items()
    for kind in kinds
]


@pytest.mark.parametrize("kind,query", LIST_CASES)
@pytest.mark.parametrize("caller", CALLERS)
def test_list_holds_exactly_the_readable_documents(world, caller, query):
    params, matches, _kinds = LIST_FILTERS[query]
    response = world.client(caller).get(f"/api/v1/{world.kind}/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    listed = {(item["organisation"], item["slug"]) for item in body["results"]}
    expected = {
        ("owner", slug_of(key)) for key in world.keys if readable(caller, key) and matches(key)
    }
    assert listed == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize("caller", CALLERS)
def test_search_holds_exactly_the_readable_documents(world, caller):
    """Hits, count and facets (the private draft's tag included) come from readable
    documents only; archived ones on request."""
    kind = world.model.kind
    params = {"q": "look fix", "kind": kind, "status": "archived", "page_size": 50}
    response = world.client(caller).get("/api/v1/search/", params)
    assert response.status_code == 200, response.content
    body = response.json()
    found = {(hit["organisation"], hit["slug"]) for hit in body["results"]}
    expected = {("owner", slug_of(key)) for key in world.keys if readable(caller, key)}
    assert found == expected and body["count"] == len(expected)
    assert body["facets"]["kind"].get(kind, 0) == len(expected)
    draft = ("organisation", "draft")
    private = draft in world.keys and readable(caller, draft)
    assert (SECRET_TAG in body["facets"]["tag"]) is private
    phrase = '"' + SECRET_TAG.replace("-", " ") + '"'
    hidden = world.client(caller).get("/api/v1/search/", {"q": phrase})
    assert (hidden.json()["count"] > 0) is private


READ_ENDPOINTS = {
    "detail": "",
    "related": "related/",
    "revisions": "revisions/",
    "revision": "revisions/1/",
    "diff": "diff/",
}


def check_readable_body(endpoint, body, slug):
    if endpoint == "detail":
        assert (body["organisation"], body["slug"], body["revision"]) == ("owner", slug, 2)
    elif endpoint == "related":
        # Related documents are other organisations': "owner" has all of these.
        assert body == {"results": []}
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
    responses = {slug_of(key): client.get(world.url(slug_of(key), suffix)) for key in world.keys}
    assert {slug: r.status_code for slug, r in responses.items()} == {
        slug_of(key): 200 if readable(caller, key) else 404 for key in world.keys
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
    for key in world.keys:
        response = client.get(f"/{world.kind}/owner/{slug_of(key)}/")
        statuses[slug_of(key)] = response.status_code
        if response.status_code == 200:
            assert response["Content-Type"].startswith("text/html")
            assert f"{slug_of(key)} title" in response.content.decode()
    assert statuses == {slug_of(key): 200 if readable(caller, key) else 404 for key in world.keys}
    assert client.get(f"/{world.kind}/owner/{MISSING}/").status_code == 404


# -- writes --------------------------------------------------------------------------------

WRITES = {
    # method -> (request body, status a writer gets for an existing document); a PUT also
    # sends the kind's PUBLISHABLE content, so published reports stay publishable.
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
    if method == "put":
        data = {**data, **PUBLISHABLE.get(world.model, {})}
    statuses, expected = {}, {}
    for slug in [slug_of(key) for key in world.keys] + [MISSING]:
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
        assert world.model.objects.count() == len(world.keys)
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
    if role(caller) not in writers_of_target:
        return 403
    # Adoption is reuse across organisations (API.md): only what is published to other
    # organisations can be adopted; a reader of anything else is told why (409).
    visibility, status = key
    return 201 if status == "published" and visibility != "organisation" else 409


@pytest.mark.parametrize("kind", ADOPTABLE)
@pytest.mark.parametrize("caller", CALLERS)
def test_adopt_what_the_caller_can_read_into_an_organisation_it_can_write(world, caller):
    client = world.client(caller)
    target = adopt_target(caller)

    def request(slug):
        data = {"organisation": target}
        if target == "owner":
            data["slug"] = f"copy-of-{slug}"
        return client.post(world.url(slug, "adopt/"), data, format="json")

    responses = {slug_of(key): request(slug_of(key)) for key in world.keys}
    assert {slug: r.status_code for slug, r in responses.items()} == {
        slug_of(key): expected_adopt_status(caller, key) for key in world.keys
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
        elif response.status_code == 409:
            assert "can be adopted" in body["error"]["detail"]


@pytest.mark.parametrize("kind", ["incidents"])
@pytest.mark.parametrize("caller", CALLERS)
def test_failure_reports_have_no_adopt_or_upstream_diff(world, caller):
    """Not a 500, and the same JSON answer for every report as for one that does not exist."""
    client = world.client(caller)
    answers = {}
    for slug in [slug_of(key) for key in world.keys] + [MISSING]:
        adopt = client.post(world.url(slug, "adopt/"), {"organisation": "owner"}, format="json")
        upstream_diff = client.get(world.url(slug, "upstream-diff/"))
        for endpoint, response in {"adopt": adopt, "upstream-diff": upstream_diff}.items():
            assert response.status_code in (404, 405), (endpoint, slug, response.content)
            assert response["Content-Type"].startswith("application/json")
            body = json.dumps(response.json()).replace(slug, MISSING)
            answers[(endpoint, slug)] = (response.status_code, body)
    assert {key: answers[(key[0], MISSING)] for key in answers} == answers
    assert world.model.objects.count() == len(world.keys)  # nothing was copied


@pytest.mark.parametrize("kind", ADOPTABLE)
@pytest.mark.parametrize("caller", CALLERS)
def test_upstream_diff_is_visible_exactly_when_the_adopted_document_is(world, caller):
    """Copies in "owner" of a public document of "other", one per row of its kind."""
    other = Organisation.objects.get(slug="other")
    original = make_document(world.model, other, "original", "public", "published")
    for visibility, status in world.keys:
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
        key: client.get(world.url(f"adopted-{slug_of(key)}", "upstream-diff/"))
        for key in world.keys
    }
    assert {slug_of(key): r.status_code for key, r in responses.items()} == {
        slug_of(key): 200 if readable(caller, key) else 404 for key in world.keys
    }
    missing = client.get(world.url(MISSING, "upstream-diff/"))
    for key, response in responses.items():
        if response.status_code == 200:
            body = response.json()
            assert (body["from"], body["to"], list(body["changes"])) == (2, 3, ["body"])
        else:
            assert_like_missing(response, missing, f"adopted-{slug_of(key)}")


@pytest.mark.parametrize("kind", ADOPTABLE)
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


# -- Atom feeds ----------------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = {"runbooks": Runbook, "incidents": FailureReport}
FEED_QUERIES = ["", "?organisation=owner"]


def feed_entries(response) -> set:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    return {entry.findtext(f"{ATOM}id") for entry in feed.iter(f"{ATOM}entry")}


@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_feeds_hold_exactly_the_public_published_documents_whoever_asks(users, api, caller):
    """Feeds are public: never a community, organisation, draft, in-review or archived
    document, and a signed-in member gets byte for byte what anonymous readers get."""
    feeds = {
        (feed, query): f"/feeds/{feed}.atom{query}" for feed in FEEDS for query in FEED_QUERIES
    }
    anonymous = {feed: api.get(url) for feed, url in feeds.items()}
    if caller != "anonymous":
        api.force_login(users[caller])
    responses = {feed: api.get(url) for feed, url in feeds.items()}
    assert {feed: feed_entries(response) for feed, response in responses.items()} == {
        (feed, query): {f"{FEEDS[feed].kind}:owner/public-published"} for feed, query in feeds
    }
    for (feed, query), response in responses.items():
        text = response.content.decode()
        titled = {slug_of(key) for key in rows(FEEDS[feed]) if f"{slug_of(key)} title" in text}
        assert titled == {"public-published"}, feeds[feed, query]
        assert response.content == anonymous[feed, query].content, feeds[feed, query]


# -- links between failure reports and runbooks ----------------------------------------------
# Every report of "owner" (one per row) links every runbook of "owner" (one per row).


def linked_runbooks(links) -> list:
    return sorted(link["runbook"] for link in links)


@pytest.mark.parametrize("kind", ["runbooks"])
@pytest.mark.parametrize("caller", CALLERS)
def test_a_runbook_lists_the_published_reports_linking_it_that_the_caller_reads(world, caller):
    """The public runbook is linked by a report of every visibility and status."""
    response = world.client(caller).get(world.url("public-published"))
    assert response.status_code == 200, response.content
    assert {(item["organisation"], item["slug"]) for item in response.json()["incidents"]} == {
        ("owner", slug_of(key))
        for key in rows(FailureReport)
        if key[1] == "published" and readable(caller, key)
    }


@pytest.mark.parametrize("kind", ["incidents"])
@pytest.mark.parametrize("caller", CALLERS)
def test_a_report_shows_only_the_linked_runbooks_the_caller_reads(world, caller):
    """The public, published report links the community and organisation-only runbooks (and
    the drafts) too: only those who may read a runbook see the link to it, in the report, in
    its revisions and in the list (every report the caller reads)."""
    client = world.client(caller)
    runbooks = sorted(f"owner/{slug_of(key)}" for key in rows(Runbook) if readable(caller, key))
    report = client.get(world.url("public-published")).json()
    revision = client.get(world.url("public-published", "revisions/1/")).json()
    page = client.get(f"/api/v1/{world.kind}/").json()
    shown = {
        "detail": linked_runbooks(report["runbooks"]),
        "revision 1": linked_runbooks(revision["snapshot"]["runbooks"]),
        **{f"list: {item['slug']}": linked_runbooks(item["runbooks"]) for item in page["results"]},
    }
    assert shown == {
        "detail": runbooks,
        "revision 1": runbooks,
        **{f"list: {slug_of(key)}": runbooks for key in world.keys if readable(caller, key)},
    }


@pytest.mark.parametrize("kind", ["incidents"])
@pytest.mark.parametrize("caller", CALLERS)
def test_reports_filtered_by_a_runbook_the_caller_cannot_read_are_none(world, caller):
    """?runbook= naming a runbook the caller may not read answers as for one that does not
    exist (an empty list), not with the reports that link it."""
    client = world.client(caller)

    def listed(reference):
        response = client.get(f"/api/v1/{world.kind}/", {"runbook": reference})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == len(body["results"])
        return {item["slug"] for item in body["results"]}

    assert listed(f"owner/{MISSING}") == set()
    reports = {slug_of(key) for key in world.keys if readable(caller, key)}
    assert {slug_of(key): listed(f"owner/{slug_of(key)}") for key in rows(Runbook)} == {
        slug_of(key): reports if readable(caller, key) else set() for key in rows(Runbook)
    }


# -- web pages -------------------------------------------------------------------------------
# Pages reveal exactly what the API reveals: the same documents in lists, counts, component,
# release and organisation pages; the same revisions and diffs; 404 for the same documents.


def linked_slugs(html: str, kind: str) -> set:
    """The documents of "owner" of `kind` a page links to."""
    return set(re.findall(rf'href="/{kind}/owner/([a-z0-9-]+)/"', html))


def page_client(world, caller):
    client = world.api
    if caller != "anonymous":
        client.force_login(world.users[caller])  # the web UI signs in with a session cookie
    return client


def readable_slugs(world, caller, matches=lambda key: True) -> set:
    return {slug_of(key) for key in world.keys if readable(caller, key) and matches(key)}


PAGE_LISTS = {
    "list": "/{kind}/",
    "list-filtered": "/{kind}/?organisation=owner&component=storage&release=r9",
    "list-secret-tag": f"/{{kind}}/?tag={SECRET_TAG}",
    "component": "/components/storage/",
    "component-part": "/components/disks/",
    "release": "/releases/r9/",
    "organisation": "/organisations/owner/",
}


@pytest.mark.parametrize("page", list(PAGE_LISTS))
@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_pages_list_exactly_the_documents_the_api_lists(world, caller, page):
    client = page_client(world, caller)
    response = client.get(PAGE_LISTS[page].format(kind=world.kind))
    assert response.status_code == 200, response.content
    html = response.content.decode()
    matches = (lambda key: key == ("organisation", "draft")) if "secret" in page else None
    expected = readable_slugs(world, caller, matches or (lambda key: True))
    assert linked_slugs(html, world.kind) == expected
    api = world.client(caller).get(
        f"/api/v1/{world.kind}/", {"tag": SECRET_TAG} if "secret" in page else {}
    )
    assert {item["slug"] for item in api.json()["results"]} == expected
    if page.startswith("list"):
        assert f'<h2 id="results-heading">{len(expected)} ' in html
    if page == "organisation":
        title = KINDS[world.kind]._meta.verbose_name_plural.capitalize()
        assert f"{title}: {len(expected)}</a>" in html
    if SECRET_TAG not in PAGE_LISTS[page] and not readable(caller, ("organisation", "draft")):
        assert SECRET_TAG not in html


@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_home_lists_only_published_documents_the_caller_reads(world, caller):
    html = page_client(world, caller).get("/").content.decode()
    assert linked_slugs(html, world.kind) == readable_slugs(
        world, caller, lambda key: key[1] == "published"
    )


@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_release_notes_on_pages_are_those_the_api_lists(world, caller):
    client = page_client(world, caller)
    api = world.client(caller).get("/api/v1/releases/r9/notes/")
    titles = {item["title"] for item in api.json()["results"]}
    assert titles == (
        {"public-note title", "organisation-note title"}
        if role(caller) in OWNER_MEMBERS
        else {"public-note title"}
    )
    for url in ("/releases/r9/", "/components/storage/", "/upgrade/?from=r9&to=r9"):
        html = client.get(url).content.decode()
        shown = {t for t in ("public-note title", "organisation-note title") if t in html}
        assert shown == (titles if "upgrade" not in url else set()), url


PAGE_ENDPOINTS = {"page": "", "diff": "diff/?from=1&to=2", "markdown": "markdown/"}


@pytest.mark.parametrize("endpoint", list(PAGE_ENDPOINTS))
@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_document_pages_answer_404_exactly_where_the_api_does(world, caller, endpoint):
    client = page_client(world, caller)
    suffix = PAGE_ENDPOINTS[endpoint]
    statuses = {}
    for key in world.keys:
        response = client.get(f"/{world.kind}/owner/{slug_of(key)}/{suffix}")
        statuses[slug_of(key)] = response.status_code
        if response.status_code == 200:
            text = response.content.decode()
            if endpoint == "markdown":
                assert response["Content-Type"].startswith("text/markdown")
                assert "summary: second" in text
            elif endpoint == "diff":
                assert "<del>first</del>" in text and "<ins>second</ins>" in text
            else:
                assert "Compare the selected revisions" in text  # two readable revisions
    assert statuses == {slug_of(key): 200 if readable(caller, key) else 404 for key in world.keys}
    assert client.get(f"/{world.kind}/owner/{MISSING}/{suffix}").status_code == 404


@pytest.mark.parametrize("kind", ["runbooks"])
@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_a_draft_cleaned_before_publishing_keeps_its_history_private(world, caller):
    """Revision 1 was a members-only draft: non-members see only revision 2, on the page, in
    the diff picker, and a diff reaching revision 1 is a 404 for them, as in the API."""
    draft = services.document_create(
        model=Runbook,
        organisation=Organisation.objects.get(slug="owner"),
        slug="cleaned",
        data={"title": "cleaned title", "body": "password hunter2\n", "status": "draft"},
        actor=OPERATOR,
    )
    services.document_update(
        document=draft,
        data={"body": "password removed\n", "status": "published", "visibility": "public"},
        actor=OPERATOR,
        if_match={1},
    )
    client = page_client(world, caller)
    member = role(caller) in OWNER_MEMBERS
    page = client.get("/runbooks/owner/cleaned/").content.decode()
    assert ('value="1"' in page) is member
    diff = client.get("/runbooks/owner/cleaned/diff/?from=1&to=2")
    api = world.client(caller).get("/api/v1/runbooks/owner/cleaned/diff/?from=1&to=2")
    assert diff.status_code == api.status_code == (200 if member else 404)
    assert ("hunter2" in diff.content.decode()) is member


# -- editing pages ---------------------------------------------------------------------------
# The forms answer like the API: who cannot read a document gets 404 (as for one that does
# not exist), who reads but cannot write it 403, and nothing is written; anonymous callers
# are sent to sign in (the web's 401).

EDIT_PAGES = {
    "edit-get": ("get", "edit/"),
    "edit-post": ("post", "edit/"),
    "archive": ("post", "archive/"),
    "restore": ("post", "restore/"),
}
ADOPTABLE_EDIT_PAGES = {"update-from-upstream": ("get", "update-from-upstream/")}


def form_client(world, caller):
    """A browser's client: forms post as multipart, signed in with a session cookie."""
    client = Client()
    if caller != "anonymous":
        client.force_login(world.users[caller])
    return client


def expected_edit_status(caller, key, readable_status=200):
    if caller == "anonymous":
        return 302
    if not readable(caller, key):
        return 404
    return readable_status if role(caller) in WRITERS else 403


EDIT_CASES = [
    pytest.param(kind, page, id=f"{kind}-{page}")
    for kind in KINDS
    for page in list(EDIT_PAGES) + (list(ADOPTABLE_EDIT_PAGES) if kind in ADOPTABLE else [])
]


@pytest.mark.parametrize("kind,page", EDIT_CASES)
@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_editing_pages_answer_like_the_api(world, caller, page):
    method, suffix = {**EDIT_PAGES, **ADOPTABLE_EDIT_PAGES}[page]
    client = form_client(world, caller)
    statuses, expected = {}, {}
    for key in world.keys:
        slug = slug_of(key)
        data = {"base_revision": "2", "title": "forged", "body": "forged\n"}
        response = getattr(client, method)(f"/{world.kind}/owner/{slug}/{suffix}", data)
        statuses[slug] = response.status_code
        # What a writer gets: the form (GET), a redirect after a write, a 400 for a form
        # that lacks fields, 404 for an upstream page of a document that was not adopted.
        writer = {"edit-get": 200, "edit-post": 400, "archive": 302, "restore": 302}.get(page, 404)
        expected[slug] = expected_edit_status(caller, key, writer)
    assert statuses == expected
    missing = getattr(client, method)(f"/{world.kind}/owner/{MISSING}/{suffix}")
    assert missing.status_code == (302 if caller == "anonymous" else 404)
    if role(caller) not in WRITERS:
        assert set(world.model.objects.values_list("revision", flat=True)) == {2}
        assert not world.model.objects.filter(title="forged").exists()


@pytest.mark.parametrize("kind", ADOPTABLE)
@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_the_adopt_button_answers_like_the_api(world, caller):
    client = form_client(world, caller)
    target = adopt_target(caller)
    statuses, expected = {}, {}
    for key in world.keys:
        slug = slug_of(key)
        response = client.post(
            world.url(slug, "adopt/").replace("/api/v1", ""),
            {"organisation": target, "slug": f"copy-of-{slug}"},
        )
        statuses[slug] = response.status_code
        api_status = expected_adopt_status(caller, key)
        # A refusal (409) is shown on the source's page: a redirect back with the reason.
        expected[slug] = {401: 302, 201: 302, 409: 302}.get(api_status, api_status)
    assert statuses == expected
    adopted = world.model.objects.filter(slug__startswith="copy-of-").count()
    assert adopted == sum(1 for key in world.keys if expected_adopt_status(caller, key) == 201)


# -- transparency figures ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["incidents"])
@pytest.mark.parametrize("caller", CALLERS)
def test_transparency_counts_the_incidents_and_reports_the_caller_reads(world, caller):
    """One major status-page incident per failure report of "owner" (public source records)
    and one members-only source record without a report: the coverage denominator holds the
    records the caller may read, the numerator the published reports the caller may read
    (drafts, reviews and a report archived without ever being published never count)."""
    owner = Organisation.objects.get(slug="owner")
    resolved = timezone.now() - timedelta(days=2)
    for key in world.keys:
        StatusPageIncident.objects.create(
            organisation=owner, source="owner-page", incident_id=slug_of(key), title="Down",
            impact="major", severity="sev2", started_at=resolved - timedelta(hours=1),
            resolved_at=resolved, report=world.document(slug_of(key)),
        )  # fmt: skip
    StatusPageIncident.objects.create(
        organisation=owner, source="private-page", incident_id="x", title="Down",
        impact="critical", severity="sev1", started_at=resolved - timedelta(hours=1),
        resolved_at=resolved, visibility="organisation",
    )  # fmt: skip
    member = role(caller) in OWNER_MEMBERS
    expected = (
        sum(1 for key in world.keys if key[1] == "published" and readable(caller, key)),
        len(world.keys) + member,
    )
    response = world.client(caller).get("/api/v1/organisations/owner/transparency/?days=90")
    assert response.status_code == 200, response.content
    coverage = next(f for f in response.json()["figures"] if f["key"] == "postmortem_coverage_5d")
    assert (coverage["numerator"], coverage["denominator"]) == expected
    if caller in SESSION_CALLERS:
        page = page_client(world, caller).get("/organisations/owner/transparency/?days=90")
        assert f"{expected[0]} of {expected[1]}" in page.content.decode()


# -- follow-up: one action item's status, over the API and from the report page -----------


def report_with_item(key):
    from incidents.models import ActionItem

    report = FailureReport.objects.get(organisation__slug="owner", slug=slug_of(key))
    return report, ActionItem.objects.create(report=report, position=0, title="Follow up")


@pytest.mark.parametrize("caller", CALLERS)
def test_an_action_items_status_needs_editor_or_admin_of_the_owner(users, api, token_client,
                                                                   caller):  # fmt: skip
    world = World(kind="incidents", model=FailureReport, users=users, api=api,
                  token_client=token_client)  # fmt: skip
    client = world.client(caller)
    statuses, expected = {}, {}
    for key in world.keys:
        report, item = report_with_item(key)
        url = world.url(report.slug, f"action-items/{item.pk}/")
        response = client.patch(url, {"status": "done"}, format="json", HTTP_IF_MATCH='"2"')
        statuses[key], expected[key] = response.status_code, expected_write_status(caller, 200)
    assert statuses == expected


@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_the_report_pages_status_form_is_refused_like_the_api(users, api, token_client, caller):
    world = World(kind="incidents", model=FailureReport, users=users, api=api,
                  token_client=token_client)  # fmt: skip
    client = Client()  # a browser's form post, not the API client's JSON
    if caller != "anonymous":
        client.force_login(users[caller])
    statuses, expected = {}, {}
    for key in world.keys:
        report, item = report_with_item(key)
        url = f"/incidents/owner/{report.slug}/action-items/{item.pk}/status/"
        response = client.post(url, {"status": "done", "revision": "2"})
        statuses[key] = response.status_code
        if not readable(caller, key):
            expected[key] = 404  # what the caller cannot read does not exist for them
        else:
            expected[key] = 302 if role(caller) in WRITERS else 403
        if response.status_code != 302:
            assert report.action_items.get().status == "open"
    assert statuses == expected


# -- organisation administration: admins of the organisation only ------------------------

ADMIN_PAGES = ["", "tokens/", "import/"]
ADMIN_FORMS = ["members/add/", "members/create/", "tokens/create/", "import/"]


@pytest.mark.parametrize("caller", SESSION_CALLERS)
def test_administration_pages_are_for_the_organisations_admins(users, caller):
    client = Client()
    if caller != "anonymous":
        client.force_login(users[caller])
    pages = {page: client.get(f"/organisations/owner/admin/{page}").status_code
             for page in ADMIN_PAGES}  # fmt: skip
    forms = {url: client.post(f"/organisations/owner/admin/{url}", {}).status_code
             for url in ADMIN_FORMS}  # fmt: skip
    if caller == "admin":
        assert set(pages.values()) == {200}
        assert set(forms.values()) == {400}  # an empty form: its errors, nothing written
    elif caller == "anonymous":
        assert set(pages.values()) == {302} and set(forms.values()) == {403}
    else:
        assert set(pages.values()) == {403} and set(forms.values()) == {403}
