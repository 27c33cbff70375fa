"""Release notes and the upgrade briefing, for upgrade tooling (API.md "Releases and
upgrades"). The importers' tests run the same endpoints on the real SCS release notes."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import FailureReport
from opsknowledge import services
from opsknowledge.models import Component, Organisation, Release
from opsknowledge.tests.factories import OrganisationFactory, member
from releases.services import release_note_upsert
from runbooks.models import Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db


def note(
    release,
    kind,
    title,
    *,
    organisation="scs",
    component=None,
    visibility="public",
    order=0,
    body="Details.",
):
    return release_note_upsert(
        organisation=Organisation.objects.get(slug=organisation),
        release=Release.objects.get(slug=release),
        slug=f"{kind}-{title.lower().replace(' ', '-')}",
        fields={
            "kind": kind,
            "title": title,
            "body": body,
            "order": order,
            "visibility": visibility,
            "component": Component.objects.get(slug=component) if component else None,
            "source_url": f"https://example.org/{release}",
        },
        actor=services.Actor.operator(),
    )[1]


@pytest.fixture
def path(catalogue):
    scs = Organisation.objects.get(slug="scs")
    north = OrganisationFactory(slug="north")
    note(
        "r3",
        "upgrade",
        "Move to the new Ceph orchestrator",
        component="ceph",
        body="### Before you start\nSet `noout`.\n",
    )
    note("r3", "deprecation", "Old CAPI templates")
    note("r3", "feature", "A shiny feature")
    note("r4", "upgrade", "Keystone token provider change", component="keystone")
    note(
        "r4", "known-issue", "Private known issue", organisation="north", visibility="organisation"
    )
    note("r5", "upgrade", "Beyond the path")
    publish(
        organisation=scs,
        slug="upgrade-r2-to-r3",
        upgrade_from="r2",
        upgrade_to="r3",
        components=["cluster-api"],
    )
    publish(
        organisation=scs,
        slug="upgrade-r3-to-r4",
        upgrade_from="r3",
        upgrade_to="r4",
        components=["ceph"],
    )
    publish(organisation=scs, slug="skip-r2-to-r4", upgrade_from="r2", upgrade_to="r4")
    publish(
        organisation=scs, slug="draft-r3-to-r4", upgrade_from="r3", upgrade_to="r4", status="draft"
    )
    publish(
        FailureReport,
        organisation=north,
        slug="ceph-full",
        releases=["r4"],
        components=["ceph"],
        summary="s",
        impact="i",
        root_cause="c",
    )
    publish(
        FailureReport,
        organisation=north,
        slug="hidden",
        releases=["r4"],
        visibility="organisation",
        summary="s",
        impact="i",
        root_cause="c",
    )
    return north


def get(api, query, **headers):
    return api.get("/api/v1/upgrade-path/" + query, **headers)


def test_r2_to_r4_has_hops_r3_and_r4_with_their_runbooks_notes_and_reports(api, path):
    response = get(api, "?from=r2&to=r4")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], body["to"]) == ("r2", "r4")
    r3, r4 = body["steps"]
    assert r3["release"]["slug"] == "r3" and r4["release"]["slug"] == "r4"
    assert r3["release"]["version"] == "v4.0.0"
    assert [r["slug"] for r in r3["runbooks"]] == ["upgrade-r2-to-r3"]
    assert [r["slug"] for r in r4["runbooks"]] == ["upgrade-r3-to-r4"]  # not the r2->r4 skip
    assert [n["title"] for n in r3["notes"]] == [
        "Old CAPI templates",
        "Move to the new Ceph orchestrator",
    ]  # default kinds: no features
    assert [n["title"] for n in r4["notes"]] == ["Keystone token provider change"]
    assert [i["slug"] for i in r4["incidents"]] == ["ceph-full"]
    assert r3["notes"][1]["component"] == "ceph"
    assert r3["notes"][1]["source_url"] == "https://example.org/r3"
    assert "one release at a time" in body["warnings"][0]


def test_members_see_their_organisation_only_notes_and_reports(api, path):
    api.force_authenticate(member(path, "viewer"))
    r4 = get(api, "?from=r3&to=r4").json()["steps"][0]
    assert "Private known issue" in [n["title"] for n in r4["notes"]]
    assert sorted(i["slug"] for i in r4["incidents"]) == ["ceph-full", "hidden"]
    assert get(api, "?from=r3&to=r4").json()["warnings"] == []


def test_component_and_kind_filters(api, path):
    body = get(api, "?from=r2&to=r4&component=ceph").json()
    assert [[n["title"] for n in s["notes"]] for s in body["steps"]] == [
        ["Move to the new Ceph orchestrator"],
        [],
    ]
    assert [[r["slug"] for r in s["runbooks"]] for s in body["steps"]] == [[], ["upgrade-r3-to-r4"]]
    openstack = get(api, "?from=r3&to=r4&component=openstack").json()  # keystone is a child
    assert [n["title"] for n in openstack["steps"][0]["notes"]] == [
        "Keystone token provider change"
    ]
    features = get(api, "?from=r2&to=r3&kind=feature").json()
    assert [n["title"] for n in features["steps"][0]["notes"]] == ["A shiny feature"]


@pytest.mark.parametrize(
    "query, status, field",
    [
        ("?from=r2&to=r9", 404, None),
        ("?from=r99&to=r4", 404, None),
        ("?from=r4&to=r2", 400, "from"),
        ("?to=r4", 400, "from"),
        ("?from=r2", 400, "to"),
        ("?from=r2&to=r4&kind=gossip", 400, "kind"),
        ("?from=r2&to=r4&component=cepf", 404, None),
        ("?from=r2&to=r4&format=xml", 400, "format"),
    ],
)
def test_bad_requests(api, path, query, status, field):
    response = get(api, query)
    assert response.status_code == status
    error = response.json()["error"]
    if field:
        assert field in error["fields"]
    else:
        assert "'r9'" in error["detail"] or "'r99'" in error["detail"] or "cepf" in error["detail"]


def test_same_release_has_no_steps(api, path):
    body = get(api, "?from=r4&to=r4").json()
    assert body["steps"] == [] and body["warnings"] == []


def test_end_of_maintenance_warning(api, path):
    Release.objects.filter(slug="r4").update(end_of_maintenance="2024-01-01")
    warnings = get(api, "?from=r3&to=r4").json()["warnings"]
    assert warnings == [
        "Release 4 (r4) reached its end of maintenance on 2024-01-01: plan the next upgrade."
    ]


def test_etag_304_and_what_changes_it(api, path):
    first = get(api, "?from=r2&to=r4")
    etag = first["ETag"]
    assert first["Vary"].startswith("Accept")
    assert first["Last-Modified"]
    assert get(api, "?from=r2&to=r4", HTTP_IF_NONE_MATCH=etag).status_code == 304
    markdown = get(api, "?from=r2&to=r4&format=md")
    assert markdown["ETag"] != etag  # the representation differs
    assert get(api, "?from=r2&to=r4", HTTP_ACCEPT="text/markdown")["ETag"] == markdown["ETag"]

    # Archiving a contributing runbook changes the briefing and so its ETag.
    runbook = publish.__globals__["Runbook"].objects.get(slug="upgrade-r3-to-r4")
    services.document_archive(document=runbook, actor=services.Actor.operator(), if_match="*")
    after = get(api, "?from=r2&to=r4", HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
    # Hiding a report from the public changes it too.
    report = FailureReport.objects.get(slug="ceph-full")
    services.document_update(
        document=report,
        data={"visibility": "organisation"},
        actor=services.Actor.operator(),
        if_match="*",
    )
    assert get(api, "?from=r2&to=r4")["ETag"] != after["ETag"]


def test_304_is_cheap(api, path):
    etag = get(api, "?from=r2&to=r4")["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert get(api, "?from=r2&to=r4", HTTP_IF_NONE_MATCH=etag).status_code == 304
    # The release chain, then one sum over the stamps the writes keep (notes, runbooks,
    # reports of every step): no document row is read, not even a title, before the ETag
    # is known. (Aggregating the documents themselves took one query per kind, and grew
    # with them.)
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert "briefingstamp" in queries[1]["sql"]
    assert not any('"title"' in q["sql"] or '"body"' in q["sql"] for q in queries)


def test_304_with_a_component_filter_aggregates_the_documents(api, path):
    # Stamps are kept per step, not per component: a filtered briefing counts its rows.
    etag = get(api, "?from=r2&to=r4&component=ceph")["ETag"]
    with CaptureQueriesContext(connection) as queries:
        response = get(api, "?from=r2&to=r4&component=ceph", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert not any("briefingstamp" in q["sql"] for q in queries)
    assert not any('"title"' in q["sql"] or '"body"' in q["sql"] for q in queries)


def crowd(path, count):
    """`count` more r3->r4 upgrade runbooks and r4 failure reports, over three organisations,
    with every severity."""
    scs, west = Organisation.objects.get(slug="scs"), OrganisationFactory(slug="west")
    for n in range(count):
        organisation = (scs, path, west)[n % 3]
        publish(
            organisation=organisation,
            slug=f"step-{n}",
            upgrade_from="r3",
            upgrade_to="r4",
            severity=("critical", "warning", "info", "")[n % 4],
        )
        publish(
            FailureReport,
            organisation=organisation,
            slug=f"report-{n}",
            releases=["r4"],
            severity=("sev1", "sev2", "sev3", "sev4", "")[n % 5],
            summary="s",
            impact="i",
            root_cause="c",
        )


@pytest.mark.parametrize("extra", [0, 14])
@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_briefing_queries_do_not_grow_with_documents(
    api, path, django_assert_num_queries, extra, reader
):
    crowd(path, extra)
    if reader == "member":
        api.force_authenticate(member(path, "viewer"))
    # chain, the stamps (ETag and counts), notes, the ranking of the runbooks and the ten
    # shown of each step, the same for the reports (+ the member's roles); a component
    # adds its lookup and its descendants, and aggregates the documents of each kind
    # instead of the stamps (3 queries for 1).
    with django_assert_num_queries(7 + (reader == "member")):
        body = get(api, "?from=r2&to=r4").json()
    assert len(body["steps"][1]["runbooks"]) == min(10, 1 + extra)
    # (no runbook or report of this path is about openstack: each ranking finds none, and
    # no rows are read after it)
    with django_assert_num_queries(9 + (reader == "member")):
        get(api, "?from=r2&to=r4&component=openstack&format=md")


def test_a_runbook_hidden_between_the_ranking_and_its_row_is_left_out(api, path, monkeypatch):
    """READ COMMITTED: the ranking and the rows shown are two statements. A runbook made
    private in between is not shown with its new state: the rows are read through the
    reader's visibility again."""
    from releases import briefing

    crowd(path, 3)
    shown = [r["slug"] for r in get(api, "?from=r3&to=r4").json()["steps"][0]["runbooks"]]
    assert "step-0" in shown
    readable, calls = briefing._readable, []

    def hide_before_the_rows(queryset, plan):
        if queryset.model is Runbook:
            calls.append(queryset.model)
            if len(calls) == 2:  # the first is the ranking's, the second the rows'
                Runbook.objects.filter(slug="step-0").update(visibility="private")
        return readable(queryset, plan)

    monkeypatch.setattr(briefing, "_readable", hide_before_the_rows)
    step = get(api, "?from=r3&to=r4").json()["steps"][0]
    assert [r["slug"] for r in step["runbooks"]] == [s for s in shown if s != "step-0"]


def test_each_step_shows_the_ten_most_relevant_with_a_count_and_the_full_list(api, path):
    crowd(path, 14)
    api.force_authenticate(member(path, "viewer"))
    r4 = get(api, "?from=r3&to=r4").json()["steps"][0]
    assert r4["runbooks_count"] == 15 and len(r4["runbooks"]) == 10
    assert r4["incidents_count"] == 16 and len(r4["incidents"]) == 10  # ceph-full, hidden
    # The caller's organisation first (north: step-1, 4, 7, 10, 13), then severity, then
    # the most recently updated.
    slugs = [r["slug"] for r in r4["runbooks"]]
    assert slugs[:5] == ["step-4", "step-13", "step-1", "step-10", "step-7"]
    assert slugs[5:] == ["step-12", "step-8", "step-0", "step-9", "step-5"]
    assert [i["organisation"] for i in r4["incidents"][:6]] == ["north"] * 6
    full = api.get(r4["runbooks_url"]).json()
    assert full["count"] == 15
    assert api.get(r4["incidents_url"]).json()["count"] == 16
    text = get(api, "?from=r3&to=r4&format=md").content.decode()
    assert text.count("- **Step ") == 10
    assert "Showing 10 of 15 runbooks, most relevant first; all: <http://testserver/api/v1/" in text
    assert "Showing 10 of 16 failure reports" in text


def test_etag_follows_documents_beyond_the_first_ten_and_the_reader(api, path):
    crowd(path, 14)
    etag = get(api, "?from=r3&to=r4")["ETag"]
    # step-3 (west, no severity, old) is not among the ten shown, but its count is.
    hidden = Runbook.objects.get(slug="step-3")
    services.document_archive(document=hidden, actor=services.Actor.operator(), if_match="*")
    archived = get(api, "?from=r3&to=r4", HTTP_IF_NONE_MATCH=etag)
    assert archived.status_code == 200 and archived["ETag"] != etag
    assert archived.json()["steps"][0]["runbooks_count"] == 14
    # An edit of a shown report changes it (its revision and updated).
    report = FailureReport.objects.get(slug="report-0")
    services.document_update(
        document=report, data={"title": "Renamed"}, actor=services.Actor.operator(), if_match="*"
    )
    edited = get(api, "?from=r3&to=r4", HTTP_IF_NONE_MATCH=archived["ETag"])
    assert edited.status_code == 200 and "Renamed" in edited.content.decode()
    # Another reader sees another selection and order: another ETag.
    api.force_authenticate(member(path, "viewer"))
    assert get(api, "?from=r3&to=r4")["ETag"] != edited["ETag"]


def test_markdown_briefing_reads_well(api, path):
    response = get(api, "?from=r2&to=r4", HTTP_ACCEPT="text/markdown")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# Upgrade briefing: r2 → r4\n")
    assert "## Step 1: r2 → r3" in text and "## Step 2: r3 → r4" in text
    assert text.index("## Step 1") < text.index("## Step 2")
    assert "> **Warning:** This path crosses 2 releases" in text
    assert "- **Upgrade R2 To R3** (scs/upgrade-r2-to-r3)" in text
    assert "#### Upgrade note: Move to the new Ceph orchestrator [Ceph]" in text
    assert "\n####### " not in text and "\n###### Before you start" in text  # demoted
    assert "Private known issue" not in text


def test_the_command_prints_the_same_briefing(path):
    out = io.StringIO()
    call_command(
        "upgrade_briefing", "--from", "r2", "--to", "r4", "--component", "ceph", stdout=out
    )
    text = out.getvalue()
    assert text.startswith("# Upgrade briefing: r2 → r4")
    assert "Move to the new Ceph orchestrator" in text and "Old CAPI templates" not in text


def test_release_notes_endpoint(api, path):
    body = api.get("/api/v1/releases/r3/notes/").json()
    assert body["count"] == 3
    kinds = api.get("/api/v1/releases/r3/notes/?kind=upgrade,deprecation").json()
    assert sorted(n["kind"] for n in kinds["results"]) == ["deprecation", "upgrade"]
    assert api.get("/api/v1/releases/r3/notes/?component=ceph").json()["count"] == 1
    assert api.get("/api/v1/releases/r4/notes/?organisation=north").json()["count"] == 0
    assert api.get("/api/v1/releases/r3/notes/?kind=gossip").status_code == 400
    assert api.get("/api/v1/releases/r99/notes/").status_code == 404


def test_release_feed_is_public_notes_only(client, path):
    feed = client.get("/feeds/releases.atom").content.decode()
    assert "Move to the new Ceph orchestrator" in feed
    assert "Private known issue" not in feed
    only_r4 = client.get("/feeds/releases.atom?release=r4").content.decode()
    assert "Keystone token provider change" in only_r4 and "Old CAPI" not in only_r4
