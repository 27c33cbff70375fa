"""`import_incidents` against DFDS Cloud Engineering's real postmortems
(../shared/data/postmortems/dfds__postmortems, see its README for every quirk), and the
parsers behind it (incidents.importers)."""

import io
import shutil
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.text import slugify

from incidents.importers import (
    COPENHAGEN,
    date_in_text,
    display_name,
    parse_duration,
    parse_report,
    read_time,
    tag_for,
)
from incidents.models import FailureReport
from opsknowledge.models import Revision
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

DATA = shared_data.path("postmortems", "dfds__postmortems")
WHAT = "the DFDS postmortems"
EXTENSIONLESS = "PM2022-009 - Bad AWS EKS AMI causing Kubernetes issues"
SUMMER_CET = "PM2020-005 - ALB instance attachment.md"
WINTER_CET = "PM2020-002 - KIAM service disruption on Hellman.md"
LOG4SHELL = "PM2021-011 - Log4Shell.md"
HUMAN_ERROR = "PM2022-002 -  Logs not shipped to CloudWatch.md"
FULL_RUN = "42 files: 39 created, 0 updated, 0 unchanged, 3 skipped, 0 failed."


@pytest.fixture
def data_dir():
    return shared_data.require(DATA, WHAT)


@pytest.fixture
def organisation():
    return OrganisationFactory(slug="dfds")


def import_dir(directory, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_incidents", str(directory), "--organisation", "dfds", *args, stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def imported(file_name):
    return FailureReport.objects.get(slug=slugify(display_name(file_name)))


def parsed(file_name):
    text = (shared_data.require(DATA, WHAT) / file_name).read_text(encoding="utf-8")
    return parse_report(text, file_name).fields


# -- the command, on the whole folder ---------------------------------------------------


def test_imports_every_report_and_skips_the_rest_with_a_reason(data_dir, organisation):
    out, err = import_dir(data_dir)

    assert FULL_RUN in out
    assert [line for line in err.splitlines() if not line.startswith("import_incidents: ")] == []
    assert FailureReport.objects.filter(organisation=organisation).count() == 39
    assert "skipped: README.md: the folder's README, not a report" in out
    assert "skipped: LICENSE: the licence of the reports (MIT" in out
    assert "skipped: PMyyyy-nnn - Postmortem template.md: the postmortem template" in out
    assert set(FailureReport.objects.values_list("license", flat=True)) == {"MIT"}
    # No .md extension, and the title comes from the heading, not the file name.
    extensionless = imported(EXTENSIONLESS)
    assert extensionless.title == "Bad AWS EKS AMI"
    assert extensionless.slug == "pm2022-009-bad-aws-eks-ami-causing-kubernetes-issues"
    # Spaces (two in a row, even) in the file name.
    assert imported(HUMAN_ERROR).slug == "pm2022-002-logs-not-shipped-to-cloudwatch"


def test_reports_sharing_a_title_keep_distinct_slugs(data_dir, organisation):
    import_dir(data_dir)

    flux = FailureReport.objects.filter(title="Flux unintended version update")
    assert sorted(flux.values_list("slug", flat=True)) == [
        "pm2021-002-flux-version-bump-causing-component-downtime",
        "pm2021-003-flux-version-bump-causing-component-downtime",
    ]
    outages = FailureReport.objects.filter(title="All services returning 503 in Kubernetes")
    assert outages.values("slug").distinct().count() == 3


def test_second_run_changes_nothing(data_dir, organisation):
    import_dir(data_dir)
    revisions = Revision.objects.count()

    out, _ = import_dir(data_dir)

    assert "42 files: 0 created, 0 updated, 39 unchanged, 3 skipped, 0 failed." in out
    assert Revision.objects.count() == revisions == 39


def test_dry_run_writes_nothing_but_prints_the_same_summary(data_dir, organisation):
    out, _ = import_dir(data_dir, "--dry-run")

    assert f"Dry run, nothing written: {FULL_RUN}" in out
    assert FailureReport.objects.count() == 0
    assert Revision.objects.count() == 0


def test_timeline_is_stored_in_utc_with_unreadable_rows_kept(data_dir, organisation):
    import_dir(data_dir)

    # "All times in CET." on 9 June 2020 means Copenhagen summer time: CEST, UTC+2.
    first = imported(SUMMER_CET).timeline.first()
    assert first.at == datetime(2020, 6, 9, 9, 0, tzinfo=UTC)
    assert first.text == "Maintenance for changing Hellman auto-scaling groups started"
    starving = imported("PM2019-009 - Kubernetes network infrastructure IP starvation.md")
    unreadable = starving.timeline.get(position=5)
    assert (unreadable.at, unreadable.at_text) == (None, "2019-12-03 --:--")
    assert unreadable.text.startswith("Surge new deployments")


def test_report_without_contributing_factors_goes_in_for_review(data_dir, organisation):
    out, _ = import_dir(data_dir)

    log4shell = imported(LOG4SHELL)
    assert log4shell.status == "in_review"
    assert log4shell.root_cause == ""
    assert log4shell.timeline.count() == 26
    assert (
        f"created: {LOG4SHELL}: imported in_review, not publishable: no Root cause or "
        "Contributing Factors section" in out
    )


# -- the command, on a few copies -------------------------------------------------------


def copy_reports(tmp_path, *names):
    for name in names:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def test_blaming_language_holds_a_report_back_unless_acknowledged(data_dir, organisation, tmp_path):
    folder = copy_reports(tmp_path, HUMAN_ERROR, WINTER_CET)

    out, _ = import_dir(folder)

    assert imported(WINTER_CET).status == "published"
    report = imported(HUMAN_ERROR)
    assert report.status == "in_review"
    assert "imported in_review: " in out
    assert "e.g. 'Human error'" in out  # the blaming phrase before the attendees' initials
    out, _ = import_dir(folder, "--acknowledge-warnings")
    report.refresh_from_db()
    assert report.status == "published"
    assert report.warnings  # acknowledged, not gone
    assert "1 updated, 1 unchanged" in out


def test_status_and_visibility_options(data_dir, organisation, tmp_path):
    folder = copy_reports(tmp_path, WINTER_CET)

    import_dir(folder, "--status", "draft", "--visibility", "public")

    report = imported(WINTER_CET)
    assert (report.status, report.visibility) == ("draft", "public")


def test_a_broken_file_fails_alone_and_the_command_exits_non_zero(data_dir, organisation, tmp_path):
    folder = copy_reports(tmp_path, WINTER_CET)
    (folder / "broken.md").write_bytes(b"# Broken\n\n## Summary\n\n\xff\xfe not UTF-8\n")
    (folder / "notes.md").write_text("Just some notes, no headings at all.\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="2 file"):
        call_command(
            "import_incidents", str(folder), "--organisation", "dfds", stdout=out, stderr=err
        )

    assert "failed: broken.md: not valid UTF-8" in err.getvalue()
    assert "failed: notes.md: no postmortem sections found" in err.getvalue()
    assert "3 files: 1 created, 0 updated, 0 unchanged, 0 skipped, 2 failed." in out.getvalue()
    assert imported(WINTER_CET).title == "KIAM Service disruption"
    assert FailureReport.objects.count() == 1


def test_front_matter_slug_wins_over_the_file_name(organisation, tmp_path):
    (tmp_path / "Some report.md").write_text(
        "---\nslug: chosen-slug\n---\n# Disk full\n\n## Summary\n\nThe disk filled up.\n",
        encoding="utf-8",
    )

    import_dir(tmp_path)

    report = FailureReport.objects.get()
    assert (report.slug, report.title, report.status) == ("chosen-slug", "Disk full", "in_review")


def test_unknown_organisation_and_missing_folder(data_dir, organisation, tmp_path):
    with pytest.raises(CommandError, match="No organisation 'nope'"):
        call_command("import_incidents", str(data_dir), "--organisation", "nope")
    with pytest.raises(CommandError, match="is not a directory"):
        import_dir(tmp_path / "missing")


# -- the parser, on real reports --------------------------------------------------------


def test_cet_in_winter_is_utc_plus_one_and_in_summer_utc_plus_two(data_dir):
    winter = parsed(WINTER_CET)["timeline"][0]  # | 2020-01-21 15:36 | Certificate ... |
    assert winter["text"] == "Certificate for KIAM server expires"
    assert winter["at"] == "2020-01-21T14:36:00Z"
    summer = parsed(SUMMER_CET)["timeline"][1]  # | 2020-06-09 12:20 | Terraform ... |
    assert summer["text"].startswith("Terraform changes applied")
    assert summer["at"] == "2020-06-09T10:20:00Z"
    # The 2019 reports state the zone in the column header instead.
    name = "PM2019-010 - Hellman Kubernetes cluster node deletion.md"
    deletion = parsed(name)
    assert deletion["timeline"][0]["at"] == "2019-12-03T23:30:00Z"  # 00:30 CET on 4 Dec
    assert deletion["started_at"] == "2019-12-03T23:30:00Z"


def test_utc_reports_are_read_as_written(data_dir):
    fields = parsed("PM2021-005 - All services returning 503 in Kubernetes.md")
    assert fields["timeline"][0] == {
        "at": "2021-06-22T08:21:00Z",
        "at_text": "",
        "text": "VPC CNI replaced by the pipeline",
    }
    assert len(fields["timeline"]) == 7


def test_timestamp_typos_are_recovered_and_say_so(data_dir):
    adsync = parse_report(
        (DATA / "PM2020-003 - Postmortem for ADSync migration.md").read_text(),
        "PM2020-003 - Postmortem for ADSync migration.md",
    )
    first = adsync.fields["timeline"][0]
    assert first["at"] == "2020-01-16T11:00:00Z"  # 20202-01-16 12:00 CET
    assert first["at_text"] == "20202-01-16 12:00"
    assert any("year 20202 read as 2020" in note for note in adsync.notes)
    kiam = parsed("PM2020-009 - KIAM service disruption due to upgrade.md")
    assert kiam["timeline"][0]["at"] == "2020-11-17T09:45:00Z"  # "10:45~" CET
    assert kiam["timeline"][0]["at_text"] == "2020-11-17 10:45~"


def test_placeholder_times_are_kept_without_a_time(data_dir):
    report = parse_report((DATA / "PM2022-006 - ALB 502 errors.md").read_text(), "PM2022-006")
    timeline = report.fields["timeline"]
    assert len(timeline) == 10
    assert [entry["at"] is None for entry in timeline].count(True) == 9
    assert timeline[2]["at_text"] == "2021/22-??-?? HH:mm"
    assert timeline[8]["at"] == "2022-06-07T08:30:00Z"
    # The only readable row is not where the incident started.
    assert report.fields["started_at"] is None
    assert any("9 timeline row(s) kept without a readable time" in n for n in report.notes)


def test_date_only_rows_keep_their_date_and_the_start_is_the_first_time(data_dir):
    fields = parsed(LOG4SHELL)
    assert fields["timeline"][0]["at"] is None
    assert fields["timeline"][0]["at_text"] == "2021-12-10"
    assert fields["started_at"] == "2021-12-10T15:40:00Z"
    assert fields["contributing_factors"] == ""
    assert "### General" in fields["lessons_learned"]


def test_stats_durations_and_category(data_dir):
    kiam = parsed(WINTER_CET)  # "# Stats" as a top-level heading
    assert (kiam["stated_time_to_detect"], kiam["stated_time_to_resolve"]) == (3240, 8880)
    assert kiam["tags"] == ["kubernetes"]
    node_ipc = parsed("PM2022-005 - Node-IPC incident response.md")
    assert node_ipc["stated_time_to_detect"] == 950400  # "11 Days"
    assert node_ipc["stated_time_to_resolve"] is None  # "N/A"
    assert node_ipc["tags"] == ["security-incident"]
    inotify = parsed("PM2020-001 - Inotify file watches exhaustion.md")
    assert (inotify["stated_time_to_detect"], inotify["stated_time_to_resolve"]) == (None, None)
    kafka = parsed("PM2022-004 - Kafka metrics missing from Prometheus.md")
    assert kafka["stated_time_to_detect"] == 19 * 3600 + 43 * 60  # "19 hours 43 minutes."
    adfs = parsed("PM2021-004 - ADFS outage.md")
    assert adfs["tags"] == ["authentication-authorisation"]


def test_reports_without_stats_say_so(data_dir):
    name = "PM2019-011 - Hellman Kubernetes IaC accidentally reverted.md"
    report = parse_report((DATA / name).read_text(), name)
    assert report.fields["stated_time_to_detect"] is None
    assert report.fields["tags"] == []
    assert "no Stats section: no category or stated times" in report.notes


def test_sections_under_their_variant_headings(data_dir):
    unhealthy = parsed("PM2020-007 - Unhealthy nodes.md")  # "Contributing Factors (findings)"
    assert unhealthy["contributing_factors"].startswith("- Prometheus high memory usage")
    assert unhealthy["root_cause"] == unhealthy["contributing_factors"]
    assert unhealthy["impact"] == unhealthy["summary"]
    adfs = parsed("PM2021-004 - ADFS outage.md")  # "## Atendees"
    assert adfs["attendees"] == ["RF", "PW", "RR", "AN", "EC"]


def test_attendees_in_every_layout(data_dir):
    assert parsed("PM2021-003 - Flux version bump causing component downtime.md")["attendees"] == [
        "rifis",
        "wicar",
    ]
    spaced = parsed("PM2025-001 - Node system resource starvation and scheduling capacity.md")
    assert spaced["attendees"] == ["EC", "RF", "SD", "MN", "SC", "AN", "AF", "SP"]
    bare = parsed(
        "PM2024-002 - PODs not able to start while being moved to new nodes during AMI update.md"
    )
    assert bare["attendees"] == ["AF", "EC", "SD", "SC"]


def test_action_items(data_dir):
    failure = parsed("PM2023-001 - Total node failure.md")
    assert len(failure["action_items"]) == 6
    assert failure["action_items"][-1] == {
        "title": "Implement guards against invalid container runtime selection (done)",
        "status": "done",
        "owner": "",
        "due": None,
    }
    assert {item["status"] for item in failure["action_items"][:-1]} == {"open"}
    ami = parsed(EXTENSIONLESS)
    assert ami["action_items"][0]["title"].startswith(
        "Improve coverage of readiness/liveness probes: Reach out to teams"
    )
    # The link definition after the list belongs to no item.
    reverted = parsed("PM2019-011 - Hellman Kubernetes IaC accidentally reverted.md")
    assert "[PM2019-009]" not in reverted["action_items"][-1]["title"]


def test_detection_and_recovery_marked_in_the_timeline(data_dir):
    fields = parsed("PM2022-004 - Kafka metrics missing from Prometheus.md")
    assert fields["started_at"] == "2022-02-08T12:20:00Z"
    assert fields["detected_at"] == "2022-02-09T08:03:00Z"
    assert fields["resolved_at"] == "2022-02-09T08:40:00Z"
    assert "resolved_at" not in parsed(WINTER_CET)


REPORTS = shared_data.files(DATA, "PM20*", WHAT)


def test_all_39_reports_are_there(data_dir):
    assert len(REPORTS) == 39


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_parses_without_losing_its_text(name):
    text = (DATA / name).read_text(encoding="utf-8")
    fields = parse_report(text, name).fields
    assert fields["body"] == text.replace("\r\n", "\n")
    assert fields["title"] and fields["summary"] and fields["timeline"], name


# -- the parsers, unit by unit ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5 minutes", 300),
        ("0 minutes", 0),
        (" 10 minutes", 600),
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("2 hours", 7200),
        ("19 hours 43 minutes.", 70980),
        ("54 hours 10 minutes", 195000),
        ("11 Days", 950400),
        ("279 minutes [^3]", 16740),
        ("1.5 hours", 5400),
        ("1 hour and 5 minutes", 3900),
        ("1:30", 5400),
        ("?", None),
        ("N/A", None),
        ("", None),
        ("YYY", None),
        ("2 months", None),
        ("about an hour", None),
        ("45", None),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("cell", "at", "problem"),
    [
        ("2021-06-22 08:21", datetime(2021, 6, 22, 8, 21, tzinfo=UTC), ""),
        ("2024-04-09 8:40", datetime(2024, 4, 9, 8, 40, tzinfo=UTC), ""),
        ("2021-12-10   15:40", datetime(2021, 12, 10, 15, 40, tzinfo=UTC), ""),
        ("2020-11-17 10:45~", datetime(2020, 11, 17, 10, 45, tzinfo=UTC), "approximate"),
        ("~2025-03-03 19:30", datetime(2025, 3, 3, 19, 30, tzinfo=UTC), "approximate"),
        ("20202-01-16 12:00", datetime(2020, 1, 16, 12, 0, tzinfo=UTC), "year 20202 read as 2020"),
        ("2022-08-03 12:26-12:??", datetime(2022, 8, 3, 12, 26, tzinfo=UTC), "a time range"),
        ("2019-12-03 --:--", None, "unreadable time"),
        ("2024-03-13 14:??", None, "unreadable time"),
        ("2021-12-10", None, "no time of day"),
        ("2022-02-?? ??:??", None, "unreadable"),
        ("2021/22-??-?? HH:mm", None, "unreadable"),
        ("2021-02-30 10:00", None, "unreadable date"),
        ("2021-02-03 25:00", None, "unreadable time"),
        ("", None, "unreadable"),
    ],
)
def test_read_time(cell, at, problem):
    reading = read_time(cell, expected_year=2020)
    assert reading.at == at
    assert reading.problem.startswith(problem)
    assert bool(reading.problem) == bool(problem)


def test_read_time_with_a_time_only():
    carried = read_time("10:00", carried_day=date(2021, 3, 1), fallback_day=date(2020, 1, 1))
    assert (carried.at, carried.problem) == (datetime(2021, 3, 1, 10, 0, tzinfo=UTC), "")
    from_text = read_time("10:00", fallback_day=date(2020, 1, 1))
    assert from_text.at == datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
    assert "taken from the report's text" in from_text.problem
    nowhere = read_time("10:00")
    assert (nowhere.at, nowhere.problem) == (None, "a time without a date")


def test_read_time_in_copenhagen():
    winter = read_time("2020-01-21 15:36", zone=COPENHAGEN)
    assert winter.at == datetime(2020, 1, 21, 14, 36, tzinfo=UTC)
    summer = read_time("2020-10-06 07:00", zone=COPENHAGEN)
    assert summer.at == datetime(2020, 10, 6, 5, 0, tzinfo=UTC)
    # The last Sunday of March switches at 02:00 local time.
    assert read_time("2021-03-28 01:30", zone=COPENHAGEN).at.hour == 0
    assert read_time("2021-03-28 03:30", zone=COPENHAGEN).at.hour == 1


def test_read_time_refuses_an_ambiguous_year_typo():
    reading = read_time("20213-01-16 12:00", expected_year=2020)
    assert reading.at is None
    assert reading.problem == "year 20213 unreadable"


@pytest.mark.parametrize(
    ("text", "year", "found"),
    [
        ("On Monday 3. February 2020, a planned upgrade", None, date(2020, 2, 3)),
        ("On Tuesday 9th of June 2020, a planned maintenance", None, date(2020, 6, 9)),
        ("In the afternoon of January 21st, the certificate", 2020, date(2020, 1, 21)),
        ("On 17. November, KIAM was upgraded", 2020, date(2020, 11, 17)),
        ("changes on 2021-06-22 caused", None, date(2021, 6, 22)),
        ("On 17. November, KIAM was upgraded", None, None),
        ("No date here at all", 2020, None),
    ],
)
def test_date_in_text(text, year, found):
    assert date_in_text(text, year) == found


@pytest.mark.parametrize(
    ("category", "tag"),
    [
        ("Kubernetes", "kubernetes"),
        ("Self-service", "self-service"),
        ("Kubernetes network", "kubernetes-network"),
        ("Authentication/Authorisation", "authentication-authorisation"),
        ("Cloud Infrastructure and Source Code", "cloud-infrastructure-and-source-code"),
    ],
)
def test_tag_for(category, tag):
    assert tag_for(category) == tag


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("PM2020-005 - ALB instance attachment.md", "PM2020-005 - ALB instance attachment"),
        (EXTENSIONLESS, EXTENSIONLESS),
        ("PM2024-009 - Upgrade to v1.2.3.markdown", "PM2024-009 - Upgrade to v1.2.3"),
        ("Upgrade to v1.2.3", "Upgrade to v1.2.3"),
    ],
)
def test_display_name_keeps_dots(file_name, name):
    assert display_name(file_name) == name
