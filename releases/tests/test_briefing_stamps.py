"""The briefing stamps the write services keep (opsknowledge.stamps): after any write, each
stamp counts exactly the published documents of its step, organisation and visibility, as
counting the documents afresh would; and a reader's briefing ETag moves with what that
reader can see, and only with that."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import FailureReport
from opsknowledge import services, stamps
from opsknowledge.models import BriefingStamp, Organisation, Release
from opsknowledge.tests.factories import OrganisationFactory, member
from opsknowledge.visibility import Access
from releases.models import ReleaseNote
from releases.services import release_note_upsert
from runbooks.models import Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db

OPERATOR = services.Actor.operator()
KEY = ("kind", "release_id", "start_pk", "note_kind", "organisation_id", "visibility")


def kept() -> dict:
    """The kept stamps' counts, without the emptied ones (a stamp stays at 0)."""
    rows = BriefingStamp.objects.exclude(count=0).values_list(*KEY, "count")
    return {tuple(row[:-1]): row[-1] for row in rows}


def fresh() -> dict:
    return {tuple(getattr(s, f) for f in KEY): s.count for s in stamps.counted()}


def versions() -> dict:
    rows = BriefingStamp.objects.values_list(*KEY, "version")
    return {tuple(row[:-1]): row[-1] for row in rows}


def published_report(organisation, releases):
    return publish(
        FailureReport,
        organisation=organisation,
        slug="full",
        releases=releases,
        impact="Writes stalled.",
        root_cause="Full.",
        summary="Full.",
    )


def update(document, **data):
    return services.document_update(document=document, data=data, actor=OPERATOR, if_match="*")[0]


def note(organisation, release, slug, **fields):
    return release_note_upsert(
        organisation=organisation,
        release=Release.objects.get(slug=release),
        slug=slug,
        fields={"kind": "upgrade", "title": slug, "visibility": "public", **fields},
        actor=OPERATOR,
    )[1]


@pytest.fixture
def west(catalogue):
    return OrganisationFactory(slug="west")


def test_kept_stamps_count_what_the_documents_hold_after_every_kind_of_write(west):
    scs = Organisation.objects.get(slug="scs")
    steps = []

    def check(what):
        steps.append(what)
        assert kept() == fresh(), f"after {what}"

    runbook = publish(organisation=west, slug="up", upgrade_from="r2", upgrade_to="r3")
    check("an upgrade runbook published")
    draft = publish(
        organisation=west, slug="draft", upgrade_from="r2", upgrade_to="r3", status="draft"
    )
    publish(organisation=west, slug="plain")  # no upgrade: on no step
    check("a draft and a runbook without an upgrade")
    update(draft, status="published")
    check("the draft published")
    before = versions()
    update(runbook, title="Up, edited")
    check("an edit")
    changed = [key for key, version in versions().items() if before.get(key) != version]
    assert len(changed) == 1 and changed[0][0] == "runbook", changed
    update(runbook, visibility="organisation")
    check("a runbook hidden")
    update(runbook, upgrade_from="r3", upgrade_to="r4")
    check("a runbook moved to another step")
    services.document_archive(document=runbook, actor=OPERATOR, if_match="*")
    check("a runbook archived")
    update(runbook, status="published", upgrade_from=None, upgrade_to=None)
    check("a runbook republished without an upgrade")

    report = published_report(scs, ["r3", "r4"])
    check("a report on two releases")
    update(report, releases=["r4", "r5"])
    check("a report's releases changed")
    update(report, visibility="community")
    check("a report shown to the community only")
    update(report, status="archived")
    check("a report archived")

    known = note(west, "r3", "known", kind="known-issue")
    note(scs, "r4", "private", visibility="organisation")
    check("notes")
    note(west, "r3", "known", kind="deprecation")
    check("a note's kind changed")
    note(west, "r3", "known", kind="deprecation", status="archived")
    check("a note archived")
    assert ReleaseNote.objects.get(pk=known.pk).status == "archived"
    assert len(steps) == 15
    assert fresh()  # the checks compared something


def test_recount_rebuilds_what_the_writes_kept(west):
    publish(organisation=west, slug="up", upgrade_from="r2", upgrade_to="r3")
    publish(organisation=west, slug="up-2", upgrade_from="r2", upgrade_to="r3")
    note(west, "r3", "n")
    expected = kept()
    BriefingStamp.objects.all().delete()
    assert stamps.recount() == 2
    assert kept() == expected


def briefing_etag(client, **headers):
    response = client.get("/api/v1/upgrade-path/?from=r2&to=r4", **headers)
    assert response.status_code == 200, response.content
    return response["ETag"], response.json()


def test_a_readers_etag_moves_with_what_it_sees_and_only_that(client, west):
    scs = Organisation.objects.get(slug="scs")
    publish(organisation=scs, slug="public-up", upgrade_from="r2", upgrade_to="r3")
    private = publish(
        organisation=west,
        slug="private-up",
        upgrade_from="r2",
        upgrade_to="r3",
        visibility="organisation",
    )
    viewer = member(west, "viewer")
    anonymous, body = briefing_etag(client)
    assert body["steps"][0]["runbooks_count"] == 1
    client.force_login(viewer)
    insider, body = briefing_etag(client)
    assert body["steps"][0]["runbooks_count"] == 2
    client.logout()

    # West's private runbook changes: outsiders' ETag stays, the member's moves.
    update(private, title="Private, edited")
    assert briefing_etag(client)[0] == anonymous
    client.force_login(viewer)
    assert briefing_etag(client)[0] != insider
    client.logout()

    # Made public, it joins what everyone sees.
    update(private, visibility="public")
    etag, body = briefing_etag(client)
    assert etag != anonymous and body["steps"][0]["runbooks_count"] == 2
    # A runbook of another step (r2->r4 is no step of this path) changes nothing.
    publish(organisation=scs, slug="skip", upgrade_from="r2", upgrade_to="r4")
    assert briefing_etag(client)[0] == etag
    # An archived runbook leaves it.
    services.document_archive(
        document=Runbook.objects.get(slug="public-up"), actor=OPERATOR, if_match="*"
    )
    moved, body = briefing_etag(client)
    assert moved != etag and body["steps"][0]["runbooks_count"] == 1


def test_a_write_to_an_upgrade_runbook_costs_one_statement_for_its_stamps(west):
    runbook = publish(organisation=west, slug="up", upgrade_from="r2", upgrade_to="r3")
    plain = publish(organisation=west, slug="plain")
    for document in (plain, runbook):
        with CaptureQueriesContext(connection) as queries:
            update(document, title=f"{document.slug} edited")
        stamped = [q["sql"] for q in queries if BriefingStamp._meta.db_table in q["sql"]]
        assert len(stamped) == (document is runbook), stamped


def test_a_renamed_release_keeps_the_counts_exact(west):
    report = published_report(west, ["r3"])
    release = Release.objects.get(slug="r3")
    release.slug = "r3-renamed"
    services.catalogue_save(entry=release, actor=OPERATOR)
    # The report's stored snapshot still says "r3": archiving it must still leave r3's stamp.
    services.document_archive(document=report, actor=OPERATOR, if_match="*")
    assert kept() == fresh()
    assert not kept()


def test_a_renamed_start_release_still_counts_its_upgrade_runbooks(client, west):
    runbook = publish(organisation=west, slug="up", upgrade_from="r2", upgrade_to="r3")
    release = Release.objects.get(slug="r2")
    release.slug = "r2-renamed"
    services.catalogue_save(entry=release, actor=OPERATOR)
    url = "/api/v1/upgrade-path/?from=r2-renamed&to=r3"
    etag = client.get(url)["ETag"]
    # The stored snapshot still says "r2"; the stamps go by the release's id.
    update(runbook, title="Up, edited")
    assert kept() == fresh()
    edited = client.get(url)
    assert edited["ETag"] != etag and edited.json()["steps"][0]["runbooks_count"] == 1
    services.document_archive(document=runbook, actor=OPERATOR, if_match="*")
    assert kept() == fresh()
    archived = client.get(url)
    assert archived["ETag"] != edited["ETag"]
    assert archived.json()["steps"][0]["runbooks_count"] == 0


def test_a_slug_given_to_a_new_release_moves_no_count(west):
    report = published_report(west, ["r3"])
    old = Release.objects.get(slug="r3")
    old.slug = "r3-old"
    services.catalogue_save(entry=old, actor=OPERATOR)
    newer = Release(slug="r3", name="A new r3", version="9.9", previous=None)
    services.catalogue_save(entry=newer, actor=OPERATOR)
    # The report's snapshot says "r3", which now names the new release: its stamps are
    # those of the release it is related to, r3-old.
    services.document_archive(document=report, actor=OPERATOR, if_match="*")
    assert kept() == fresh() == {}
    assert not BriefingStamp.objects.filter(release=newer).exists()


# -- catalogue names a briefing shows -------------------------------------------------------

BRIEFING_MD = "/api/v1/upgrade-path/?from=r2&to=r3&format=md"


def test_renaming_a_notes_component_changes_the_briefing_etag(client, west):
    from opsknowledge.models import Component

    ceph = Component.objects.get(slug="ceph")
    note(west, "r3", "osd-flags", component=ceph, body="Set noout first.")
    before = client.get(BRIEFING_MD)
    assert "[Ceph" in before.content.decode()
    ceph.name = "Ceph storage"
    services.catalogue_save(entry=ceph, actor=OPERATOR)
    after = client.get(BRIEFING_MD, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200, "the Markdown names the component: a 304 would be stale"
    assert "[Ceph storage]" in after.content.decode()


def test_renaming_an_organisation_changes_its_briefings_etag_and_an_edit_of_nothing_shown_does_not(
    client, west
):
    note(west, "r3", "osd-flags", body="Set noout first.")
    before = client.get(BRIEFING_MD)
    west.website = "https://west.example"
    services.organisation_save(organisation=west, actor=OPERATOR)
    assert client.get(BRIEFING_MD, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304
    west.name = "West Cloud"
    services.organisation_save(organisation=west, actor=OPERATOR)
    after = client.get(BRIEFING_MD, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert "Published by West Cloud." in after.content.decode()
    assert kept() == fresh()


def test_only_staff_change_organisations(west):
    from django.core.exceptions import PermissionDenied

    editor = member(west, role="admin")
    west.name = "Taken over"
    with pytest.raises(PermissionDenied):
        services.organisation_save(
            organisation=west, actor=services.Actor(access=Access.for_user(editor))
        )
