"""Postmortems in other layouts than DFDS's (issue 12, item 9): reports whose facts sit in
YAML front matter, timelines written as time sub-headings or as time lists, times without a
date or a zone. Small trees made here; the real collection is in test_import_postmortems."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.importers import parse_report
from incidents.models import FailureReport
from opsknowledge.models import Component
from opsknowledge.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

FRONT_MATTER_REPORT = """---
title: "Object storage `PUT` errors in **fra1**"
summary: Uploads failed for 40 minutes.
started_at: 2024-03-01T14:05:00+01:00
detected: 2024-03-01 13:15:00
resolved_at: "2024-03-01T13:45:00Z"
severity: SEV-2
services: [Object Storage, billing-engine]
tags: [storage, capacity]
url: https://status.example.org/incidents/8c1b
weight: 3
---
## Impact
Customers could not upload objects.

## Root cause
A full metadata pool.
"""


@pytest.fixture
def organisation():
    return OrganisationFactory(slug="acme")


def run(directory, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_incidents", str(directory), "--organisation", "acme", *args, stdout=out, stderr=err
    )
    return out.getvalue() + err.getvalue()


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_front_matter_fields_become_the_reports_fields(organisation, tmp_path):
    Component.objects.create(slug="object-storage", name="Object Storage")
    write(tmp_path, "6f1c2e4a-97d2-4f0e-9a53-0d1c5b7e2a10.md", FRONT_MATTER_REPORT)

    output = run(tmp_path)

    assert "1 created" in output and "0 failed" in output
    report = FailureReport.objects.get()
    # Titled by its front matter, as plain text, not by its UUID file name.
    assert report.title == "Object storage PUT errors in fra1"
    assert report.summary == "Uploads failed for 40 minutes."
    assert report.started_at == datetime(2024, 3, 1, 13, 5, tzinfo=UTC)
    assert report.detected_at == datetime(2024, 3, 1, 13, 15, tzinfo=UTC)  # no zone: UTC
    assert report.resolved_at == datetime(2024, 3, 1, 13, 45, tzinfo=UTC)
    assert report.time_to_resolve == 40 * 60
    assert report.severity == "sev2"
    assert [c.slug for c in report.components.all()] == ["object-storage"]
    assert sorted(tag.name for tag in report.tags.all()) == ["capacity", "storage"]
    assert report.source_url == "https://status.example.org/incidents/8c1b"
    assert report.root_cause == "A full metadata pool."
    assert "billing-engine" in output and "--create-components" in output
    assert "front matter keys ignored: weight" in output


def test_services_are_created_on_request(organisation, tmp_path):
    write(tmp_path, "r.md", FRONT_MATTER_REPORT)
    run(tmp_path, "--create-components")
    report = FailureReport.objects.get()
    assert sorted(c.slug for c in report.components.all()) == ["billing-engine", "object-storage"]


def test_a_title_that_is_no_text_fails_that_file_alone(organisation, tmp_path):
    write(tmp_path, "a.md", "---\ntitle: [a, b]\n---\n## Summary\nx\n")
    write(tmp_path, "b.md", FRONT_MATTER_REPORT)
    with pytest.raises(CommandError):
        run(tmp_path)
    assert FailureReport.objects.get().slug == "b"
    with pytest.raises(CommandError) as failure:
        run(tmp_path)
    assert "1 file(s) failed" in str(failure.value)


def test_a_bad_front_matter_value_is_noted_and_the_rest_imported(organisation, tmp_path):
    text = FRONT_MATTER_REPORT.replace("SEV-2", "urgent").replace(
        "https://status.example.org/incidents/8c1b", "javascript:alert(1)"
    )
    write(tmp_path, "r.md", text)
    output = run(tmp_path)
    report = FailureReport.objects.get()
    assert (report.severity, report.source_url) == ("", "")
    assert "severity 'urgent' is not sev1…sev4" in output
    assert "is not an http(s) URL" in output


HEADINGS = """# Database failover
## Summary
The primary failed over.
## Timeline
All times in UTC.
### 2024-03-01 14:05
Replication lag alert fired.
### 14:20
Failover started.

It took a while.
### 2024-03-02 01:10 CET
Failover done.
## Contributing Factors
- a slow disk
"""


def test_timeline_as_time_sub_headings():
    report = parse_report(HEADINGS, "db.md")
    timeline = report.fields["timeline"]
    assert timeline == [
        {"at": "2024-03-01T14:05:00Z", "at_text": "", "text": "Replication lag alert fired."},
        {
            "at": "2024-03-01T14:20:00Z",
            "at_text": "",
            "text": "Failover started.\n\nIt took a while.",
        },
        # A zone written with the time wins over the section's.
        {"at": "2024-03-02T00:10:00Z", "at_text": "", "text": "Failover done."},
    ]
    assert report.fields["started_at"] == "2024-03-01T14:05:00Z"
    assert "timeline read from sub-headings (3 rows)" in report.notes


def list_report(zone_line: str, started: str = "2024-07-14T21:30:00Z") -> str:
    return f"""---
title: Network outage
started_at: {started}
---
## Summary
Packets were lost.
## Timeline
{zone_line}

- 23:40 — BGP session dropped
- **23:55** Traffic rerouted
- 00:20 UTC — Session restored
- 2024-07-15 01:00: Monitoring ended
"""


def test_timeline_as_a_time_list_in_summer_cet_rolls_over_midnight():
    report = parse_report(list_report("All times in CET."), "net.md")
    timeline = report.fields["timeline"]
    # A time without a date takes started_at's date (14 July, in CET); CET in July is
    # CEST (UTC+2); 00:20 after 23:55 is the next day; "UTC" in a row is that row's zone.
    assert [entry["at"] for entry in timeline] == [
        "2024-07-14T21:40:00Z",
        "2024-07-14T21:55:00Z",
        "2024-07-15T00:20:00Z",
        "2024-07-14T23:00:00Z",
    ]
    assert [entry["text"] for entry in timeline] == [
        "BGP session dropped",
        "Traffic rerouted",
        "Session restored",
        "Monitoring ended",
    ]
    assert timeline[2]["at_text"] == "00:20 UTC"  # read as the next day, and kept as written
    assert any("summer times read as CEST" in note for note in report.notes)
    # The front matter's start wins over the first row.
    assert report.fields["started_at"] == "2024-07-14T21:30:00Z"


def test_winter_cet_is_utc_plus_one():
    report = parse_report(list_report("All times in CET.", "2024-01-14T21:30:00Z"), "net.md")
    assert report.fields["timeline"][0]["at"] == "2024-01-14T22:40:00Z"


def test_times_without_a_zone_are_utc_and_the_summary_says_so(organisation, tmp_path):
    write(tmp_path, "net.md", list_report("What happened:"))
    output = run(tmp_path)
    report = FailureReport.objects.get()
    assert report.timeline.first().at == datetime(2024, 7, 14, 23, 40, tzinfo=UTC)
    assert "the timeline does not name its time zone; read as UTC" in output
    assert "timeline read from list items (4 rows)" in output


def test_without_started_at_a_time_takes_the_date_of_the_previous_row():
    text = "# X\n## Timeline\n- 2024-05-02 22:00 — a\n- 23:30 — b\n- 00:15 — c\n"
    timeline = parse_report(text, "x.md").fields["timeline"]
    assert [entry["at"] for entry in timeline] == [
        "2024-05-02T22:00:00Z",
        "2024-05-02T23:30:00Z",
        "2024-05-03T00:15:00Z",
    ]


def test_reimporting_front_matter_reports_changes_nothing(organisation, tmp_path):
    write(tmp_path, "net.md", list_report("All times in CET."))
    write(tmp_path, "r.md", FRONT_MATTER_REPORT)
    run(tmp_path)
    assert "2 unchanged" in run(tmp_path)
    assert set(FailureReport.objects.values_list("revision", flat=True)) == {1}
