"""List endpoints cost a fixed number of queries, however many rows they return.
(pytest-django prints the SQL of a failing count.)"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsknowledge import services
from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Practice, Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db


def fill(model, count):
    alpen = OrganisationFactory(slug="alpen")
    for n in range(count):
        fields = {
            "components": ["ceph", "nova"],
            "releases": ["r3", "r4"],
            "tags": ["storage", f"tag{n}"],
        }
        if model is Runbook:
            fields.update(alerts=[f"Alert{n}", "CephOSDFull"], upgrade_from="r3", upgrade_to="r4")
        publish(model, organisation=alpen, slug=f"doc-{n}", **fields)
    return alpen


# count, the page's ids, its rows with their organisation, components, releases, tags
# (+ alerts for runbooks)
QUERIES = {Runbook: 7, Practice: 6}


@pytest.mark.parametrize("model", [Runbook, Practice])
@pytest.mark.parametrize("rows", [3, 30])
def test_list_queries_do_not_grow_with_rows(api, catalogue, django_assert_num_queries, model, rows):
    fill(model, rows)
    url = f"/api/v1/{model.kind}s/"
    with django_assert_num_queries(QUERIES[model]):
        response = api.get(url)
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_list_queries_for_a_member_via_token(
    catalogue, token_client, django_assert_num_queries, rows
):
    alpen = fill(Runbook, rows)
    client = token_client(member(alpen, "viewer"), alpen)
    client.get("/api/v1/runbooks/")  # the first call records the token's last use
    # + the token, read with the caller's role in the token's organisation
    with django_assert_num_queries(QUERIES[Runbook] + 1):
        response = client.get("/api/v1/runbooks/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_adopted_documents_cost_one_query_per_page(api, catalogue, django_assert_num_queries, rows):
    from opsknowledge import services

    alpen = fill(Runbook, rows)
    north = OrganisationFactory(slug="north")
    for runbook in Runbook.objects.filter(organisation=alpen):
        services.document_adopt(
            source=runbook,
            organisation=north,
            slug=runbook.slug,
            actor=services.Actor.operator(),
            overrides={"status": "published", "visibility": "public"},
        )
    # + the organisation filter's lookup, + the originals' current revisions (one query)
    with django_assert_num_queries(QUERIES[Runbook] + 2):
        response = api.get("/api/v1/runbooks/?organisation=north")
    assert all(item["upstream"]["behind"] is False for item in response.json()["results"])


def fill_reports(count):
    from incidents.models import FailureReport

    alpen = OrganisationFactory(slug="alpen")
    scs = OrganisationFactory(slug="scs-ops")
    linked = publish(organisation=scs, slug="linked")
    for n in range(count):
        publish(
            FailureReport,
            organisation=alpen,
            slug=f"report-{n}",
            components=["ceph", "nova"],
            releases=["r4"],
            tags=["storage", f"tag{n}"],
            summary="s",
            impact="i",
            root_cause="c",
            runbooks=[{"runbook": linked.reference(), "relation": "used"}],
        )
    return alpen


@pytest.mark.parametrize("rows", [3, 30])
def test_incident_list_queries_do_not_grow_with_rows(
    api, catalogue, django_assert_num_queries, rows
):
    fill_reports(rows)
    # count, the page's ids, its rows, components, releases, tags, runbook links, which
    # linked runbooks are readable
    with django_assert_num_queries(8):
        response = api.get("/api/v1/incidents/")
    items = response.json()["results"]
    assert len(items) == rows and items[0]["runbooks"] == [
        {"runbook": "scs-ops/linked", "relation": "used"}
    ]


@pytest.mark.parametrize("query", ["", "?component=ceph", "?ordering=-updated", "?page_size=2"])
def test_a_list_orders_and_counts_ids_before_it_reads_the_rows_it_shows(api, catalogue, query):
    """The page is found over ids alone (the readable index and the relations' join
    tables answer it), then only the rows shown are read, in the page's order."""
    fill(Runbook, 5)
    with CaptureQueriesContext(connection) as queries:
        results = api.get(f"/api/v1/runbooks/{query}").json()["results"]
    table = Runbook._meta.db_table
    page = [q["sql"] for q in queries if q["sql"].startswith(f'SELECT "{table}"."id" AS "pk" FROM')]
    assert len(page) == 1, [q["sql"] for q in queries]
    rows = [q["sql"] for q in queries if q["sql"].startswith(f'SELECT "{table}"."id", ')]
    assert len(rows) == 1 and f'"{table}"."id" IN (' in rows[0]
    assert '"body_html"' not in rows[0]
    expected = list(
        Runbook.objects.order_by("-updated" if "updated" in query else "organisation__slug", "slug")
    )
    slugs = [item["slug"] for item in results]
    assert slugs == [r.slug for r in expected][: len(slugs)]


def test_a_row_hidden_between_the_ids_and_the_rows_is_left_out(api, catalogue, monkeypatch):
    """READ COMMITTED: a document made private after the page's ids were read is not
    shown (the rows are read through the reader's visibility again)."""
    from opsknowledge.api.documents import DocumentViewSet

    fill(Runbook, 3)
    paginate = DocumentViewSet.paginate_queryset

    def paginate_then_hide(self, queryset):
        ids = paginate(self, queryset)
        Runbook.objects.filter(slug="doc-1").update(visibility="private")
        return ids

    monkeypatch.setattr(DocumentViewSet, "paginate_queryset", paginate_then_hide)
    body = api.get("/api/v1/runbooks/").json()
    assert [item["slug"] for item in body["results"]] == ["doc-0", "doc-2"]


@pytest.mark.parametrize("rows", [3, 30])
def test_filtered_lists_use_exists_not_distinct(api, catalogue, rows):
    """A hierarchical component filter (openstack includes nova), a tag and an alert: each
    is an EXISTS, so no DISTINCT over every column (bodies included), and the query count
    stays that of the plain list plus the filter's own lookups."""
    fill(Runbook, rows)
    # The component filter reads the component and the catalogue's tree (its descendants).
    for query, lookups in [
        ("component=openstack", 2),
        ("tag=storage", 0),
        ("alert=CephOSDFull", 0),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/api/v1/runbooks/?{query}")
        assert response.json()["count"] == rows, query
        sql = [q["sql"] for q in queries]
        assert not any("DISTINCT" in s for s in sql), (query, sql)
        assert len(sql) == QUERIES[Runbook] + lookups, (query, sql)


@pytest.mark.parametrize("rows", [3, 30])
def test_feeds_and_release_notes_cost_a_fixed_number_of_queries(
    client, api, catalogue, django_assert_num_queries, rows
):
    from opsknowledge.models import Release
    from releases.services import release_note_upsert

    alpen = fill(Runbook, rows)
    for n in range(rows):
        release_note_upsert(
            organisation=alpen,
            release=Release.objects.get(slug="r4"),
            slug=f"note-{n}",
            fields={"kind": "upgrade", "title": f"Note {n}", "body": "x", "visibility": "public"},
            actor=services.Actor.operator(),
        )
    with django_assert_num_queries(1):  # the 50 newest, with their organisation
        assert client.get("/feeds/runbooks.atom").status_code == 200
    # + the component, its descendants (the catalogue); no DISTINCT
    with django_assert_num_queries(3):
        assert client.get("/feeds/runbooks.atom?component=openstack").status_code == 200
    with django_assert_num_queries(1):
        assert client.get("/feeds/releases.atom").status_code == 200
    with django_assert_num_queries(3):  # the release, count, page
        assert api.get("/api/v1/releases/r4/notes/").json()["count"] == rows


# -- web pages ---------------------------------------------------------------------------
# Every page costs a fixed number of queries, pinned for 3 and 30 items (documents on a
# list, alerts and reports of a runbook, timeline rows of a report, notes of a briefing).


def fill_pages(rows):
    """`rows` documents of every kind about Ceph for release r4, each runbook answering
    `rows` alerts, a report linking every runbook with `rows` timeline rows and action
    items, `rows` release notes on r3 and r4, `rows` revisions of one runbook."""
    from incidents.models import FailureReport
    from opsknowledge import services
    from opsknowledge.models import Component, Organisation, Release
    from releases.services import release_note_upsert

    alpen = Organisation.objects.get(slug="alpenwolke")
    common = {"components": ["ceph", "nova"], "releases": ["r3", "r4"], "tags": ["storage"]}
    runbooks = [
        publish(
            Runbook,
            organisation=alpen,
            slug=f"rb-{n}",
            alerts=[f"Alert{n}x{m}" for m in range(rows)],
            upgrade_from="r3",
            upgrade_to="r4",
            body="# Title\n\n## Meaning\n\ntext\n\n## Impact\n\n## Diagnosis\n\n## Mitigation\n",
            **common,
        )
        for n in range(rows)
    ]
    for n in range(rows):
        publish(Practice, organisation=alpen, slug=f"pr-{n}", **common)
        publish(
            FailureReport,
            organisation=alpen,
            slug=f"ir-{n}",
            summary="s",
            impact="i",
            root_cause="r",
            started_at="2024-01-01T10:00:00Z",
            resolved_at="2024-01-01T11:00:00Z",
            timeline=[{"at": "2024-01-01T10:00:00Z", "text": f"t{m}"} for m in range(rows)],
            action_items=[{"title": f"a{m}", "due": "2024-02-01"} for m in range(rows)],
            runbooks=[{"runbook": f"alpenwolke/rb-{m}", "relation": "used"} for m in range(rows)],
            **common,
        )
    for release in Release.objects.filter(slug__in=["r3", "r4"]):
        for n in range(rows):
            release_note_upsert(
                organisation=alpen,
                release=release,
                slug=f"note-{n}",
                fields={
                    "kind": ["upgrade", "known-issue", "feature"][n % 3],
                    "title": f"Note {n}",
                    "component": Component.objects.get(slug=["ceph", "nova"][n % 2]),
                },
                actor=services.Actor.operator(),
            )
    runbook = runbooks[0]
    for n in range(rows):
        runbook, _ = services.document_update(
            document=runbook,
            data={"summary": f"summary {n}"},
            actor=services.Actor.operator(),
            if_match={runbook.revision},
        )


# page -> queries for an anonymous reader; what each costs is in the comment.
PAGE_QUERIES = {
    # choices (organisations, components, releases), count, page, components, releases, tags
    "/runbooks/": 8,
    "/practices/": 8,
    "/incidents/": 8,
    # + the filters' catalogue lookups (component, its tree, release)
    "/runbooks/?component=ceph&release=r4": 11,
    # per kind: rows, components, releases, tags; releases; components + children; organisations
    "/": 16,
    # component, its tree, per kind count/rows/components/releases/tags, children, notes
    "/components/ceph/": 19,
    # organisation, per kind count/rows/components/releases/tags, note count
    "/organisations/alpenwolke/": 17,
    # release, next, notes, per kind rows/components/releases/tags
    "/releases/r4/": 15,
    # document, components, releases, tags, alerts, revisions, reports using it, and the
    # related documents of other organisations (its index entry, its alerts, the hits)
    "/runbooks/alpenwolke/rb-0/": 10,
    # document, components, releases, tags, timeline, action items, runbook links,
    # readable runbooks, revisions, and the revisions again for the picker; related
    # documents of other organisations (its index entry, the hits)
    "/incidents/alpenwolke/ir-0/": 13,
    # document, revisions (picker), the two snapshots
    "/runbooks/alpenwolke/rb-0/diff/?from=1&to=2": 3,
    # document, components, releases, tags, alerts, then the snapshot's tags
    "/runbooks/alpenwolke/rb-0/markdown/": 8,
    # releases, components, the briefing's plan (chain, the stamps of its steps) and its
    # rows (notes; the ranking of runbooks and reports, then the ones shown per step)
    "/upgrade/?from=r2&to=r4": 9,
}
# A signed-in member: + session, user, memberships (for visibility), and the header's
# memberships with their organisations ("signed in as … in organisation …"); on a runbook
# page also lint (the organisation's runbook policy; the runbooks here link no documents).
MEMBER_QUERIES = {url: count + 4 for url, count in PAGE_QUERIES.items()}
MEMBER_QUERIES["/runbooks/alpenwolke/rb-0/markdown/"] -= 1  # a download: no header
MEMBER_QUERIES["/runbooks/alpenwolke/rb-0/"] += 1


@pytest.mark.parametrize("caller", ["anonymous", "member"])
@pytest.mark.parametrize("url", list(PAGE_QUERIES))
@pytest.mark.parametrize("rows", [3, 30])
def test_pages_cost_a_fixed_number_of_queries(
    client, catalogue, django_assert_num_queries, rows, url, caller
):
    from opsknowledge.models import Organisation

    fill_pages(rows)
    expected = PAGE_QUERIES[url]
    if caller == "member":
        client.force_login(member(Organisation.objects.get(slug="alpenwolke"), "viewer"))
        expected = MEMBER_QUERIES[url]
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    # The page shows all the items it was filled with (not a count that stays flat by
    # showing fewer).
    if url == "/runbooks/alpenwolke/rb-0/":
        assert html.count("/r/Alert0x") == rows
        assert html.count('href="/incidents/alpenwolke/ir-') == rows
    elif url == "/incidents/alpenwolke/ir-0/":
        assert html.count('class="timeline-entry"') == rows
        assert html.count('href="/runbooks/alpenwolke/rb-') == rows
    elif url in ("/runbooks/", "/practices/", "/incidents/"):
        assert html.count('class="document-item"') == min(rows, 20)
    elif url.startswith("/upgrade/"):
        assert html.count('class="release-note"') == 2 * len(
            [n for n in range(rows) if n % 3 != 2]  # features are not briefing kinds
        )


@pytest.mark.parametrize("rows", [3, 30])
def test_the_unknown_alert_page_costs_a_fixed_number_of_queries(
    client, catalogue, monkeypatch, rows
):
    """`/r/<alert>` for an alert no runbook answers: the 404 page with near matches reads a
    bounded number of candidate names (resolver.NEAR_MATCH_CANDIDATES) in one query, never
    every visible alert name."""
    from runbooks import resolver

    alpen = OrganisationFactory(slug="alpen")
    for n in range(rows):
        publish(organisation=alpen, slug=f"osd-{n}", alerts=[f"CephOSDFull{n}"])
    monkeypatch.setattr(resolver, "NEAR_MATCH_CANDIDATES", 10)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/r/CephOSDFul")
    assert response.status_code == 404
    # the answers (none), the candidate names (one query, LIMIT 10)
    assert len(queries) == 2, "\n".join(q["sql"] for q in queries)
    candidates = [q["sql"] for q in queries if "runbooks_runbookalert" in q["sql"]][-1]
    assert "LIMIT 10" in candidates
    assert len(resolver.candidate_alert_names(response.wsgi_request, "CephOSDFul")) == min(rows, 10)
    assert b"CephOSDFull1" in response.content  # a near match is offered
