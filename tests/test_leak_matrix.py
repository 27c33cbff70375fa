"""No URL of the project tells a caller about a document it may not read (issue 18).

Every URL pattern is enumerated from the resolver and must be named in COVERED (how it is
probed here) or EXEMPT (why not): a route added later fails the first test until someone
decides how it is probed. Covered routes are requested as callers outside organisation
"owner" (anonymous, a member of another organisation, a token of that organisation):

- the secret word of the hidden documents never appears in an answer;
- a hidden document's URL answers exactly as a missing document's (status, body and
  Location apart from the slug), and a request naming the secret word answers exactly as
  the same request naming a word no document holds;
- aggregates (counts, facets, suggestions, feeds, related documents, transparency and
  briefing figures, organisation/component/release pages) do not move when more hidden
  documents that match them are written.

The world is built with the project's services (tests/test_visibility_matrix.py's
make_document), never with raw inserts.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from incidents.models import FailureReport
from opsknowledge.models import APIToken, Component, Release
from opsknowledge.tests.factories import OrganisationFactory, member
from releases.services import release_note_upsert
from runbooks.models import Practice, Runbook
from tests.test_visibility_matrix import OPERATOR, make_document

pytestmark = pytest.mark.django_db

KINDS = {"runbooks": Runbook, "practices": Practice, "incidents": FailureReport}

# Words of equal length, so that an answer echoing one is byte-comparable with the other.
SECRET = "zzqxsecret"  # in every hidden document's title, summary, body, tags and alert
UNKNOWN = "yyqwnothin"  # in no document at all
MISSPELT = "zzqxsecrt"  # a suggestion must not correct this into SECRET
UNKNOWN_MISSPELT = "yyqwnothn"
# Slugs of equal length too: a hidden document's 404 must equal the missing one's.
PUBLIC, HIDDEN, DRAFT, MISSING = "public-doc", "hidden-doc", "drafts-doc", "absent-doc"
ALERT, SECRET_ALERT = "DiskFull", f"{SECRET}Alert"
CALLERS = ["anonymous", "outsider", "outsider_token"]


# -- the routes -----------------------------------------------------------------------------


def walk(patterns, prefix="", namespace=""):
    """(full route, name) of every pattern under `patterns`, includes followed."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            assert isinstance(pattern, URLPattern)
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield prefix + str(pattern.pattern), name


def all_routes() -> list[str]:
    return [route for route, _name in walk(get_resolver().url_patterns)]


@dataclass(frozen=True)
class Probe:
    """How a route is requested: `target` says what fills its parameters ("document": each
    of the public, hidden, draft and missing documents; "organisation", "component",
    "release", "alert", or "none"), `queries` the query strings tried on it."""

    target: str
    queries: tuple = ({},)
    aggregate: bool = False  # also checked for not moving when hidden documents are added
    accepts: tuple = ("",)  # Accept headers tried ("": the default rendering)


LIST_QUERIES = (
    {},
    {"tag": SECRET},
    {"tag": "shared"},
    {"status": "draft"},
    {"organisation": "owner"},
)
SEARCH_QUERIES = (
    {"q": SECRET},
    {"q": MISSPELT},
    {"q": "disk"},
    {"q": "disk", "tag": "shared"},
    {"q": "disk", "organisation": "owner"},
)
DIFF_QUERIES = ({}, {"from": 1, "to": 2})
UPGRADE_QUERIES = (
    {"from": "r8", "to": "r9"},
    {"from": "r8", "to": "r9", "component": "disks"},
    {"from": "r8", "to": "r9", "format": "md"},
)
DOCUMENT = Probe("document")


def document_routes(prefix: str, kind: str, names: list[str]) -> dict:
    detail = f"{prefix}{kind}/<slug:organisation>/<slug:slug>/"
    # The API's diff also renders as plain text (Accept: text/plain).
    accepts = ("", "text/plain") if prefix else ("",)
    probes = {"": DOCUMENT, "diff/": Probe("document", DIFF_QUERIES, accepts=accepts)}
    return {f"{detail}{name}": probes.get(name, DOCUMENT) for name in names}


API_DOCUMENT = ["", "related/", "revisions/", "revisions/<int:number>/", "diff/"]
API_ADOPTABLE = ["adopt/", "upstream-diff/", "update-from-upstream/"]
PAGE_DOCUMENT = ["", "diff/", "markdown/", "edit/", "archive/", "restore/"]
PAGE_ADOPTABLE = ["upstream-diff/", "adopt/", "update-from-upstream/"]

COVERED = {
    # pages
    "": Probe("none", aggregate=True),
    "search/": Probe("none", SEARCH_QUERIES, aggregate=True),
    "components/": Probe("none", aggregate=True),
    "components/<slug:slug>/": Probe("component", aggregate=True),
    "organisations/": Probe("none", aggregate=True),
    "organisations/<slug:slug>/": Probe("organisation", aggregate=True),
    "organisations/<slug:slug>/audit/": Probe("organisation", aggregate=True),
    "organisations/<slug:slug>/transparency/": Probe("organisation", aggregate=True),
    "organisations/<slug:organisation>/admin/": Probe("organisation"),
    "organisations/<slug:organisation>/admin/tokens/": Probe("organisation"),
    "organisations/<slug:organisation>/admin/import/": Probe("organisation"),
    "r/<str:alertname>": Probe("alert"),
    "releases/": Probe("none", aggregate=True),
    "releases/<slug:slug>/": Probe("release", aggregate=True),
    "upgrade/": Probe("none", UPGRADE_QUERIES, aggregate=True),
    "feeds/runbooks.atom": Probe("none", aggregate=True),
    "feeds/incidents.atom": Probe("none", aggregate=True),
    "feeds/releases.atom": Probe("none", aggregate=True),
    # API
    "api/v1/search/": Probe("none", SEARCH_QUERIES, aggregate=True),
    "api/v1/^organisations/$": Probe("none", aggregate=True),
    "api/v1/^organisations/(?P<slug>[^/.]+)/$": Probe("organisation", aggregate=True),
    "api/v1/^organisations/(?P<slug>[^/.]+)/audit/$": Probe("organisation", aggregate=True),
    "api/v1/organisations/<slug:organisation>/transparency/": Probe("organisation", aggregate=True),
    "api/v1/^components/$": Probe("none", aggregate=True),
    "api/v1/^components/(?P<slug>[^/.]+)/$": Probe("component", aggregate=True),
    "api/v1/^releases/$": Probe("none", aggregate=True),
    "api/v1/^releases/(?P<slug>[^/.]+)/$": Probe("release", aggregate=True),
    "api/v1/releases/<slug:slug>/notes/": Probe("release", ({}, {"format": "md"}), aggregate=True),
    "api/v1/upgrade-path/": Probe("none", UPGRADE_QUERIES, aggregate=True),
    "api/v1/me/": Probe("none"),
    "api/^.*$": Probe("none"),  # the catch-all JSON 404, probed at /api/
}
for _kind in KINDS:
    adoptable = _kind != "incidents"
    COVERED[f"{_kind}/"] = Probe("none", LIST_QUERIES, aggregate=True)
    COVERED[f"api/v1/{_kind}/"] = Probe("none", LIST_QUERIES, aggregate=True)
    COVERED |= document_routes(
        "api/v1/", _kind, API_DOCUMENT + (API_ADOPTABLE if adoptable else [])
    )
    COVERED |= document_routes("", _kind, PAGE_DOCUMENT + (PAGE_ADOPTABLE if adoptable else []))
    COVERED[f"{_kind}/new/"] = Probe("none")
# Document pages and related documents list other documents (a runbook its linking
# reports, a report its runbooks, related documents of other organisations): aggregates too.
for _kind in KINDS:
    COVERED[f"api/v1/{_kind}/<slug:organisation>/<slug:slug>/related/"] = Probe(
        "document", aggregate=True
    )
    COVERED[f"{_kind}/<slug:organisation>/<slug:slug>/"] = Probe("document", aggregate=True)
    COVERED[f"api/v1/{_kind}/<slug:organisation>/<slug:slug>/"] = Probe("document", aggregate=True)

ADMIN_WRITES = (
    "write-only POST; tests/test_visibility_matrix.py::"
    "test_administration_pages_are_for_the_organisations_admins and "
    "opsknowledge/tests/test_administration.py"
)
EXEMPT = {
    "healthz": "liveness of the database, no documents",
    "livez": "liveness of the process, no documents",
    "metrics": "process counters by route, never document content",
    "favicon.ico": "a static file",
    "accounts/login/": "the sign-in form, no documents",
    "accounts/logout/": "signing out, no documents",
    "accounts/password/": "the password form of the signed-in user, no documents",
    "api/schema/": "the OpenAPI schema: the same for everyone, no documents",
    "api/docs/": "the Swagger UI page, no documents",
    "editing/preview/": "write-only POST rendering the posted text; "
    "opsknowledge/tests/test_editing.py::test_the_preview_renders_with_the_one_renderer",
    "api/v1/import/": "write-only POST of an archive; tests/test_hostile_input.py and "
    "tests/test_audit.py",
    "organisations/<slug:organisation>/admin/members/add/": ADMIN_WRITES,
    "organisations/<slug:organisation>/admin/members/create/": ADMIN_WRITES,
    "organisations/<slug:organisation>/admin/members/<int:user_id>/role/": ADMIN_WRITES,
    "organisations/<slug:organisation>/admin/members/<int:user_id>/remove/": ADMIN_WRITES,
    "organisations/<slug:organisation>/admin/tokens/create/": ADMIN_WRITES,
    "organisations/<slug:organisation>/admin/tokens/<int:token_id>/revoke/": ADMIN_WRITES,
    "api/v1/incidents/<slug:organisation>/<slug:slug>/action-items/<int:item_id>/": (
        "write-only PATCH; tests/test_visibility_matrix.py::"
        "test_an_action_items_status_needs_editor_or_admin_of_the_owner"
    ),
    "incidents/<slug:organisation>/<slug:slug>/action-items/<int:item_id>/status/": (
        "write-only POST; tests/test_visibility_matrix.py::"
        "test_the_report_pages_status_form_is_refused_like_the_api"
    ),
    "incidents/<slug:organisation>/<slug:slug>/status-page/<int:record_id>/apply/": (
        "write-only POST; incidents/tests/test_status_page.py"
    ),
}
# Django's own admin: staff only, none of the callers here can sign in to it.
EXEMPT_PREFIXES = {"admin/": "Django's admin site, for staff only"}


def exempt(route: str) -> bool:
    return route in EXEMPT or any(route.startswith(prefix) for prefix in EXEMPT_PREFIXES)


def test_every_route_is_covered_or_exempt_and_no_entry_is_stale():
    routes = all_routes()
    assert len(routes) == len(set(routes)), "two patterns with the same route"
    unprobed = [route for route in routes if route not in COVERED and not exempt(route)]
    assert unprobed == [], "routes neither covered nor exempt: add them to COVERED or EXEMPT"
    both = sorted(set(COVERED) & set(EXEMPT))
    assert both == [], "routes both covered and exempt"
    stale = sorted((set(COVERED) | set(EXEMPT)) - set(routes))
    stale += [prefix for prefix in EXEMPT_PREFIXES if not any(r.startswith(prefix) for r in routes)]
    assert stale == [], "entries naming routes that no longer exist"


# -- the world -------------------------------------------------------------------------------


@dataclass
class World:
    outsider: object
    viewer: object
    token_key: str
    part: object
    release: object
    owner: object

    def client(self, caller: str) -> APIClient:
        client = APIClient()
        if caller in ("outsider", "viewer"):
            client.force_login(getattr(self, caller))
        elif caller == "outsider_token":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.token_key}")
        return client


def secret_content(slug: str) -> dict:
    return {
        "title": f"Disk {SECRET} {slug}",
        "summary": f"the {SECRET} summary",
        "body": f"1. look at the {SECRET} disk\n2. fix\n",
    }


def write_documents(owner, part, release, suffix=""):
    """A public published document of every kind (unless `suffix`), an organisation-only one
    and a draft, the hidden ones holding SECRET; reports link the runbooks of their batch."""
    content = {"components": [part], "releases": [release]}
    for model in KINDS.values():
        for slug, visibility, status in (
            (PUBLIC, "public", "published"),
            (HIDDEN, "organisation", "published"),
            (DRAFT, "public", "draft"),
        ):
            if suffix and slug == PUBLIC:
                continue
            hidden = slug != PUBLIC
            extra = dict(content)
            if model is Runbook:
                extra["alerts"] = [SECRET_ALERT if hidden else ALERT]
            if model is FailureReport:
                runbooks = Runbook.objects.filter(organisation=owner, slug__in=[PUBLIC, HIDDEN])
                extra["runbooks"] = [{"runbook": rb, "relation": "used"} for rb in runbooks]
            if hidden:
                extra |= secret_content(slug)
            else:
                extra |= {"title": "Disk full", "body": "1. look at the disk\n2. fix\n"}
            tags = ["shared", SECRET] if hidden else ["shared"]
            make_document(model, owner, f"{slug}{suffix}", visibility, status, tags=tags, **extra)
    note_fields = {"kind": "upgrade", "component": part}
    release_note_upsert(
        organisation=owner,
        release=release,
        slug=f"hidden-note{suffix}",
        fields={**note_fields, "title": f"{SECRET} note", "visibility": "organisation"},
        actor=OPERATOR,
    )
    if not suffix:
        release_note_upsert(
            organisation=owner,
            release=release,
            slug="public-note",
            fields={**note_fields, "title": "public note", "visibility": "public"},
            actor=OPERATOR,
        )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at its end; each test runs
    in a savepoint of its own, so the aggregate tests' extra documents are undone."""
    with django_db_blocker.unblock(), transaction.atomic():
        owner, other = OrganisationFactory(slug="owner"), OrganisationFactory(slug="other")
        outsider = member(other, "editor", username="outsider")
        viewer = member(owner, "viewer", username="viewer")
        _token, key = APIToken.issue(user=outsider, organisation=other)
        parent = Component.objects.create(slug="storage", name="Storage")
        part = Component.objects.create(slug="disks", name="Disks", parent=parent)
        previous = Release.objects.create(slug="r8", name="Release 8")
        release = Release.objects.create(slug="r9", name="Release 9", previous=previous)
        write_documents(owner, part, release)
        # Related documents are those of other organisations: the outsider's own public
        # documents about the same disks have the hidden ones of "owner" as candidates.
        for model in KINDS.values():
            make_document(
                model, other, PUBLIC, "public", "published", title="Disk full elsewhere",
                body="1. look at the disk\n", components=[part], releases=[release],
            )  # fmt: skip
        yield World(
            outsider=outsider,
            viewer=viewer,
            token_key=key,
            part=part,
            release=release,
            owner=owner,
        )
        transaction.set_rollback(True)


# -- requests --------------------------------------------------------------------------------

TARGETS = {"organisation": "owner", "component": "disks", "release": "r9"}


def fill(route: str, slug: str | None = None, alert: str | None = None, organisation="owner"):
    """The URL of `route` with its parameters filled in."""
    url = route.replace("(?P<slug>[^/.]+)", "<slug:slug>").replace("^", "").replace("$", "")
    if url == "api/.*":
        return "/api/"
    parameters = {"organisation": organisation, "number": "1", "alertname": alert or ""}
    if slug is not None:
        parameters["slug"] = slug

    def value(match):
        name = match.group(2)
        return parameters[name]

    return "/" + re.sub(r"<(\w+):(\w+)>", value, url)


def urls_of(route: str, probe: Probe, slug_or_word: str) -> list[str]:
    """The URLs tried for `route`, for one document slug (or alert word)."""
    if probe.target == "document":
        bases = [fill(route, slug_or_word)]
        if probe.aggregate and slug_or_word == PUBLIC:
            bases.append(fill(route, PUBLIC, organisation="other"))
        if "<int:number>" in route:
            bases.append(fill(route, slug_or_word).replace("/revisions/1/", "/revisions/2/"))
    elif probe.target == "alert":
        bases = [fill(route, alert=slug_or_word)]
    elif probe.target == "none":
        bases = [fill(route)]
    else:
        bases = [fill(route, TARGETS[probe.target])]
        if probe.target == "component":
            bases.append(fill(route, "storage"))  # the parent lists its children's documents
    return [
        f"{base}?{urlencode(query)}" if query else base for base in bases for query in probe.queries
    ]


NOISE = [
    re.compile(rb'nonce="[^"]*"'),
    re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"'),
    re.compile(rb'csrf[-_]?token"? content="[^"]*"'),
]


def answer(response):
    """What a caller learns from a response, without what varies between any two requests."""
    body = response.content
    if response.get("Content-Type", "").startswith("application/json") and body:
        body = json.loads(body)
    else:
        for noise in NOISE:
            body = noise.sub(b"~", body)
    return response.status_code, response.get("Location"), body


def echoed(response, said: str, instead: str):
    """`answer(response)` with `said` (echoed from the request) written as `instead`."""
    status, location, body = answer(response)
    if location:
        location = location.replace(said, instead)
    if isinstance(body, bytes):
        body = body.replace(said.encode(), instead.encode())
    else:
        body = json.loads(json.dumps(body).replace(said, instead))
    return status, location, body


def assert_no_secret(response, url):
    """Neither the body nor a redirect's target holds the secret word, in any case."""
    text = (response.content + (response.get("Location") or "").encode()).lower()
    assert SECRET.encode() not in text, f"{url} answers with the secret word"


def get(client, url, accept=""):
    return client.get(url, **({"HTTP_ACCEPT": accept} if accept else {}))


def assert_like(client, url, said, instead, accept=""):
    """`url` (naming `said`) answers exactly as the same URL naming `instead` instead."""
    response = get(client, url, accept)
    reference = get(client, url.replace(said, instead), accept)
    assert answer(response) == echoed(reference, instead, said), f"{url} differs from {instead}"


def test_a_member_of_the_owner_finds_the_secret_word(world):
    """The probes below would see a leak: the hidden documents are there, with the word,
    and related documents and searches have something to list."""
    client = world.client("viewer")
    for kind in KINDS:
        for slug in (HIDDEN, DRAFT):
            assert SECRET in client.get(f"/{kind}/owner/{slug}/").content.decode()
    hits = client.get("/api/v1/search/", {"q": SECRET}).json()
    assert hits["count"] >= 2 * len(KINDS)
    assert (
        hits["count"]
        > world.client("outsider").get("/api/v1/search/", {"q": SECRET}).json()["count"]
    )
    related = world.client("outsider").get("/api/v1/runbooks/other/public-doc/related/").json()
    assert {(hit["organisation"], hit["slug"]) for hit in related["results"]} == {("owner", PUBLIC)}


# -- reads -----------------------------------------------------------------------------------

READ_CASES = [pytest.param(route, id=route or "home") for route in COVERED]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", READ_CASES)
def test_no_route_tells_outsiders_about_hidden_documents(world, route, caller):
    probe = COVERED[route]
    client = world.client(caller)
    if probe.target == "document":
        for accept in probe.accepts:
            for url in urls_of(route, probe, PUBLIC):
                assert_no_secret(get(client, url, accept), url)
            for slug in (HIDDEN, DRAFT):
                for url in urls_of(route, probe, slug):
                    assert_like(client, url, slug, MISSING, accept)
    elif probe.target == "alert":
        for url in urls_of(route, probe, ALERT):
            assert_no_secret(client.get(url), url)
        for said, instead in ((SECRET_ALERT, f"{UNKNOWN}Alert"), (SECRET[:-1], UNKNOWN[:-1])):
            for url in urls_of(route, probe, said):
                assert_like(client, url, said, instead)
    else:
        for url in urls_of(route, probe, ""):
            if SECRET in url:
                assert_like(client, url, SECRET, UNKNOWN)
            elif MISSPELT in url:
                assert_like(client, url, MISSPELT, UNKNOWN_MISSPELT)
            else:
                assert_no_secret(client.get(url), url)


# -- aggregates ------------------------------------------------------------------------------

AGGREGATE_CASES = [
    pytest.param(url, id=url)
    for route, probe in COVERED.items()
    if probe.aggregate
    for url in urls_of(route, probe, PUBLIC)
]


@pytest.mark.parametrize("url", AGGREGATE_CASES)
def test_aggregates_do_not_move_when_hidden_documents_are_added(world, url):
    """Counts, facets, suggestions, feeds, related documents and figures of what the outsider
    reads are the same before and after more hidden documents matching them are written."""
    client = world.client("outsider")
    before = answer(client.get(url))
    write_documents(world.owner, world.part, world.release, suffix="-2")
    after = answer(client.get(url))
    assert after == before
