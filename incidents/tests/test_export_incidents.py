"""export_incidents → import_incidents gives back the same reports (issue 12, item 10): the
real DFDS collection, and a report written through the API's vocabulary with every field."""

import io

import pytest
from django.core.management import call_command

from incidents.importers import export_report
from incidents.models import FailureReport
from opsknowledge.models import Component, Organisation, Revision
from opsknowledge.revisions import snapshot
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory
from runbooks.models import Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db

DATA = shared_data.path("postmortems", "dfds__postmortems")


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def reports(organisation):
    return {
        report.slug: (snapshot(report), report.source_url)
        for report in FailureReport.objects.filter(organisation__slug=organisation)
    }


def test_the_dfds_reports_round_trip(tmp_path):
    data = shared_data.require(DATA, "the DFDS postmortems")
    OrganisationFactory(slug="dfds")
    run("import_incidents", str(data), "--organisation", "dfds")
    before = reports("dfds")
    revisions = Revision.objects.count()

    assert "Exported 39" in run("export_incidents", str(tmp_path / "out"), "--organisation", "dfds")
    # Into the same database: nothing to do.
    again = run("import_incidents", str(tmp_path / "out"), "--organisation", "dfds")
    assert "39 files: 0 created, 0 updated, 39 unchanged, 0 skipped, 0 failed." in again
    assert Revision.objects.count() == revisions
    # Front matter holds only what the body does not say already.
    exported = (tmp_path / "out" / f"{next(iter(before))}.md").read_text()
    assert "timeline:" not in exported and "summary:" not in exported

    FailureReport.objects.all().delete()
    run("import_incidents", str(tmp_path / "out"), "--organisation", "dfds")
    assert reports("dfds") == before


def test_every_field_round_trips_into_an_empty_database(tmp_path):
    acme = OrganisationFactory(slug="acme")
    Component.objects.create(slug="ceph", name="Ceph")
    publish(organisation=acme, slug="osd-down", body="# OSDDown\n")
    fields = {
        "title": "Ceph OSDs flapping",
        "summary": "Writes stalled.",
        "body": "Free text without any of the usual sections.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        "impact": "Slow volumes.",
        "root_cause": "A bad NIC.",
        "trigger": "A firmware update.",
        "resolution": "Replaced the NIC.",
        "contributing_factors": "No alert on packet loss.",
        "lessons_learned": "Alert on packet loss.",
        "severity": "sev2",
        "started_at": "2024-03-01T14:05:00Z",
        "detected_at": "2024-03-01T14:20:30Z",
        "resolved_at": "2024-03-02T01:00:00Z",
        "stated_time_to_detect": 900,
        "attendees": ["Kim", "Alex"],
        "tags": ["network", "ceph"],
        "components": ["ceph"],
        "timeline": [
            {"at": "2024-03-01T14:05:00Z", "text": "Latency | rises"},
            {"at": None, "at_text": "later --:--", "text": "Multi-line\n\nevent"},
        ],
        "action_items": [
            {"title": "Alert on loss", "status": "done", "owner": "Kim", "due": "2024-04-01"},
            {"title": "Spare NICs", "url": "https://tracker.example.org/1"},
        ],
        "runbooks": [{"runbook": "acme/osd-down", "relation": "used"}],
        "visibility": "public",
        "status": "draft",
        "license": "CC-BY-4.0",
        "source_url": "https://example.org/pm/1",
    }
    from opsknowledge import services
    from opsknowledge.importing import import_document

    import_document(
        model=FailureReport,
        organisation=acme,
        slug="ceph-osds-flapping",
        fields=fields,
        actor=services.Actor.operator(),
    )
    before = reports("acme")
    run("export_incidents", str(tmp_path / "out"))
    path = tmp_path / "out" / "acme" / "ceph-osds-flapping.md"
    assert path.read_text().endswith(fields["body"])  # the body as stored

    assert "1 unchanged" in run("import_incidents", str(path.parent), "--organisation", "acme")
    FailureReport.objects.all().delete()
    Runbook.objects.all().delete()
    Organisation.objects.exclude(slug="acme").delete()
    publish(organisation=acme, slug="osd-down", body="# OSDDown\n")
    assert "1 created" in run("import_incidents", str(path.parent), "--organisation", "acme")
    assert reports("acme") == before


def test_a_report_with_acknowledged_warnings_stays_published(tmp_path):
    acme = OrganisationFactory(slug="acme")
    OrganisationFactory(slug="other")
    text = (
        "# Outage\n## Summary\nBob forgot to renew the certificate.\n## Contributing Factors\n"
        "- human error\n"
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "outage.md").write_text(text)
    folder = str(tmp_path / "in")
    run("import_incidents", folder, "--organisation", "acme", "--acknowledge-warnings")
    report = FailureReport.objects.get(organisation=acme)
    assert report.status == "published" and report.warnings
    assert "acknowledge_warnings: true" in export_report(report)
    run("export_incidents", str(tmp_path / "out"), "--organisation", "acme")
    FailureReport.objects.all().delete()
    run("import_incidents", str(tmp_path / "out"), "--organisation", "acme")
    assert FailureReport.objects.get(organisation=acme).status == "published"
