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


# count, page, organisation, components, releases, tags (+ alerts for runbooks)
QUERIES = {Runbook: 6, Practice: 5}


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
    # count, page, components, releases, tags, runbook links, which linked runbooks are
    # readable
    with django_assert_num_queries(7):
        response = api.get("/api/v1/incidents/")
    items = response.json()["results"]
    assert len(items) == rows and items[0]["runbooks"] == [
        {"runbook": "scs-ops/linked", "relation": "used"}
    ]


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
