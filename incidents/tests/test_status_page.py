"""`import_status_page` against GitHub's real status-page history (../shared/data/status-pages,
see its README for the quirks) and a live server following the SCS status page OpenAPI
schema, and the parsing behind it (incidents.statuspage)."""

import io
import json
import math
import random
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import median
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents import statuspage
from incidents.models import FailureReport, Severity, StatusPageIncident
from opsknowledge import services
from opsknowledge.models import Revision
from opsknowledge.revisions import ANY
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import ComponentFactory, OrganisationFactory, member

pytestmark = pytest.mark.django_db

GITHUB = shared_data.path("status-pages", "github-incident-history", "incidents")
WHAT = "GitHub's status-page incident history"
# The data README's counts by impact.
README_IMPACTS = {"minor": 1048, "major": 199, "none": 33, "critical": 2}
REVERSED = ("nk9gdvl03ztg", "qb2vmff9bnf5", "qrrdvssfmrs2")


def run(source, *args, organisation="github"):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_status_page",
        str(source),
        "--organisation",
        organisation,
        *args,
        stdout=out,
        stderr=err,
    )
    return out.getvalue()


def rows_of(report):
    return list(report.timeline.values_list("at", "text"))


def moment(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def github_figures_by_hand(folder):
    """The figures of the GitHub set straight from its files, without the importer: the
    number of major/critical incidents, and the median and nearest-rank p90 of the time to
    resolve, taking start and end from the timeline where the page gives equal or reversed
    ones (the issue's rule)."""
    major, spans = 0, []
    for path in folder.glob("*.json"):
        incident = json.loads(path.read_text())["incident"]
        major += incident["impact"] in ("major", "critical")
        times = []
        for item in incident["incident_updates"]:
            shown = moment(item["display_at"])
            rows = re.findall(r"<strong>([^<]+)</strong>", item["body"])
            # Rows with a date and a time; one incident's rows give only times, on the day
            # the update is shown.
            times += [
                moment(f"{row}Z".replace(" ", "T"))
                if len(row) > 8
                else moment(f"{shown.date().isoformat()}T{row}Z")
                for row in rows
            ] or [shown]
        start, end = moment(incident["started_at"]), moment(incident["resolved_at"])
        if end < start:
            start = min(start, moment(incident["created_at"]), *times)
            end = max(end, *times)
        elif end == start:
            start, end = min(start, *times), max(end, *times)
        spans.append((end - start).total_seconds())
    spans.sort()
    return major, median(spans), spans[math.ceil(0.9 * len(spans)) - 1]


def test_the_github_history_imports_whole_and_again_unchanged(api):
    data = shared_data.require(GITHUB, WHAT)
    OrganisationFactory(slug="github")
    started = time.perf_counter()
    out = run(data)
    elapsed = time.perf_counter() - started
    print(f"import of 1,282 GitHub incidents: {elapsed:.1f} s")  # for the note
    assert "1282 files: 1282 created, 0 updated, 0 unchanged, 0 skipped, 0 failed." in out
    for identifier in REVERSED:
        assert f"{identifier}: resolved (" in out  # the correction is listed
    records = StatusPageIncident.objects.filter(source="kctbh9vrtdwd")
    assert Counter(records.values_list("impact", flat=True)) == README_IMPACTS
    assert records.filter(severity__in=(Severity.SEV1, Severity.SEV2)).count() == 201
    assert FailureReport.objects.filter(status="draft", visibility="organisation").count() == 1282

    revisions = Revision.objects.count()
    again = run(data)
    assert "1282 files: 0 created, 0 updated, 1282 unchanged, 0 skipped, 0 failed." in again
    assert Revision.objects.count() == revisions

    # Start and end from the timeline rows where the page's are equal: not 0 s.
    minutes = [(r.resolved_at - r.started_at).total_seconds() / 60 for r in records]
    assert median(minutes) > 0
    assert 30 < median(minutes) < 40

    # An old incident's HTML timeline becomes its rows, with their times.
    html_incidents = []
    for path in sorted(data.glob("*.json")):
        incident = json.loads(path.read_text())["incident"]
        bodies = [u["body"] or "" for u in incident["incident_updates"]]
        if len(bodies) == 1 and bodies[0].count("<li>") >= 5:
            html_incidents.append(incident)
    assert html_incidents
    incident = html_incidents[0]
    report = FailureReport.objects.get(slug=f"kctbh9vrtdwd-{incident['id']}")
    rows = rows_of(report)
    assert len(rows) >= 5 and all(at is not None for at, _ in rows)
    assert "<" not in "".join(text for _, text in rows)

    # Newest-first updates end oldest-first.
    newest_first = json.loads((data / "00km0kwpz23b.json").read_text())["incident"]
    shown = [u["display_at"] for u in newest_first["incident_updates"]]
    assert shown == sorted(shown, reverse=True)
    times = [at for at, _ in rows_of(FailureReport.objects.get(slug="kctbh9vrtdwd-00km0kwpz23b"))]
    assert times == sorted(times) and len(times) == len(shown)

    # The transparency figures of the set, as anyone may read them, match a computation
    # from the files themselves.
    figures = api.get(
        "/api/v1/organisations/github/transparency/", {"from": "2010-01-01", "to": "2023-12-31"}
    ).json()
    print("GitHub figures:", json.dumps(figures["figures"][:5]))
    major, median_seconds, p90_seconds = github_figures_by_hand(data)
    by_key = {f["key"]: f for f in figures["figures"]}
    coverage = by_key["postmortem_coverage_30d"]
    assert (coverage["numerator"], coverage["denominator"], major) == (0, 201, 201)
    assert by_key["postmortem_coverage_5d"]["denominator"] == 201
    resolve = by_key["incident_time_to_resolve"]
    assert resolve["cases"] == 1282
    assert resolve["median_seconds"] == round(median_seconds)
    assert resolve["p90_seconds"] == round(p90_seconds)
    months = figures["incidents_per_month"]
    assert sum(m["sev2"] for m in months) == 199 and sum(m["sev3"] for m in months) == 1048
    assert sum(b["incidents"] for b in figures["time_to_resolve_distribution"]) == 1282

    # The pseudo-component is dropped; the real names the catalogue lacks are kept.
    unmatched = Counter(n for r in records for n in r.unmatched_components)
    assert "Visit www.githubstatus.com for more information" not in unmatched
    assert unmatched["Git Operations"] > 0


def update(identifier, status, body, at):
    return {"id": identifier, "status": status, "body": body, "display_at": at, "created_at": at}


def statuspage_incident(**extra):
    return {
        "page": {"id": "examplepage"},
        "incident": {
            "id": "abc123",
            "name": "Elevated errors",
            "status": "resolved",
            "impact": "major",
            "created_at": "2024-03-01T10:00:00Z",
            "started_at": "2024-03-01T10:00:00Z",
            "resolved_at": "2024-03-01T11:00:00Z",
            "shortlink": "https://stspg.example/abc",
            "components": [{"id": "c1", "name": "Object Storage"}],
            "incident_updates": [
                update("u1", "investigating", "We are <a href='https://x.example/a'>looking</a>.",
                       "2024-03-01T10:05:00Z"),
                update("u2", "identified", "Found it.", "2024-03-01T10:20:00Z"),
                update("u3", "monitoring", "Fix deployed.", "2024-03-01T10:40:00Z"),
                update("u4", "resolved", "Resolved.", "2024-03-01T11:00:00Z"),
            ],
            **extra,
        },
    }  # fmt: skip


def test_updates_in_any_order_end_in_time_order(tmp_path):
    OrganisationFactory(slug="github")
    ComponentFactory(slug="object-storage", name="Object Storage")
    data = statuspage_incident()
    random.Random(17).shuffle(data["incident"]["incident_updates"])
    assert [u["id"] for u in data["incident"]["incident_updates"]] != ["u1", "u2", "u3", "u4"]
    (tmp_path / "one.json").write_text(json.dumps(data))
    run(tmp_path / "one.json")
    report = FailureReport.objects.get(slug="examplepage-abc123")
    texts = [text for _, text in rows_of(report)]
    assert texts == [
        "**Investigating**: We are [looking](https://x.example/a).",
        "**Identified**: Found it.",
        "**Monitoring**: Fix deployed.",
        "**Resolved**: Resolved.",
    ]
    assert report.severity == "sev2" and report.status == "draft"
    assert list(report.components.values_list("slug", flat=True)) == ["object-storage"]
    assert report.source_url == "https://stspg.example/abc"


def test_an_html_timeline_with_a_time_without_a_date():
    body = (
        "<ul><li><strong>2012-05-01 14:50:00</strong> - Investigating <em>slow</em> pushes.</li>"
        "<li><strong>15:14</strong> - Still on it.</li></ul>"
    )
    rows = statuspage.html_timeline(body, datetime(2012, 5, 1, 14, 50, tzinfo=UTC))
    assert rows == [
        {"at": datetime(2012, 5, 1, 14, 50, tzinfo=UTC), "at_text": "",
         "text": "Investigating *slow* pushes."},
        {"at": datetime(2012, 5, 1, 15, 14, tzinfo=UTC), "at_text": "", "text": "Still on it."},
    ]  # fmt: skip


def test_maintenance_is_skipped_with_its_reason(tmp_path):
    OrganisationFactory(slug="github")
    data = statuspage_incident(status="completed", scheduled_for="2024-03-01T10:00:00Z")
    (tmp_path / "m.json").write_text(json.dumps(data))
    out = run(tmp_path / "m.json")
    assert "skipped: m.json: a maintenance, not an incident" in out
    assert not StatusPageIncident.objects.exists()


def edited_with_news(tmp_path):
    """An imported report an editor has since edited, and a re-import bringing news."""
    organisation = OrganisationFactory(slug="github")
    path = tmp_path / "one.json"
    data = statuspage_incident()
    path.write_text(json.dumps(data))
    run(path)
    report = FailureReport.objects.get(slug="examplepage-abc123")
    editor = member(organisation)
    services.document_update(
        document=report,
        data={"root_cause": "A full disk."},
        actor=services.Actor(access=services.Access.for_user(editor)),
        if_match=ANY,
    )
    data["incident"]["incident_updates"].append(
        update("u5", "postmortem", "Review to follow.", "2024-03-01T12:00:00Z")
    )
    path.write_text(json.dumps(data))
    out = run(path)
    assert "1 upstream update(s) kept as pending" in out
    report.refresh_from_db()
    assert report.root_cause == "A full disk." and report.timeline.count() == 4
    record = StatusPageIncident.objects.get()
    assert [row["text"] for row in record.pending_updates] == ["**Postmortem**: Review to follow."]
    assert "0 updated, 1 unchanged" in run(path)  # nothing new since
    return editor, path


def test_an_edited_report_keeps_upstream_news_pending(tmp_path):
    edited_with_news(tmp_path)


def test_pending_updates_are_shown_to_writers_and_applied_on_request(client, tmp_path):
    editor, path = edited_with_news(tmp_path)
    report = FailureReport.objects.get(slug="examplepage-abc123")
    page = "/incidents/github/examplepage-abc123/"
    assert "Review to follow." not in client.get(page).content.decode()  # anonymous
    client.force_login(editor)
    shown = client.get(page).content.decode()
    assert "Updates from status page examplepage" in shown and "Review to follow." in shown
    record = StatusPageIncident.objects.get()
    apply = f"{page}status-page/{record.pk}/apply/"
    stale = client.post(apply, {"revision": report.revision - 1})
    assert stale.status_code == 302 and FailureReport.objects.get().timeline.count() == 4
    assert client.post(apply, {"revision": report.revision}).status_code == 302
    report.refresh_from_db()
    assert [text for _, text in rows_of(report)][-1] == "**Postmortem**: Review to follow."
    assert report.root_cause == "A full disk."  # the edit stays
    record.refresh_from_db()
    assert record.pending_updates == []
    assert "0 updated, 1 unchanged" in run(path)


def test_new_upstream_updates_become_a_new_revision(tmp_path):
    OrganisationFactory(slug="github")
    path = tmp_path / "one.json"
    data = statuspage_incident()
    path.write_text(json.dumps(data))
    run(path)
    data["incident"]["incident_updates"].append(
        update("u5", "postmortem", "Review to follow.", "2024-03-01T12:00:00Z")
    )
    path.write_text(json.dumps(data))
    assert "1 updated" in run(path)
    report = FailureReport.objects.get(slug="examplepage-abc123")
    assert report.revision == 2 and report.timeline.count() == 5
    assert StatusPageIncident.objects.get().imported_revision == 2


# -- a live SCS status page ---------------------------------------------------------------

COMPONENT = "1ab6a7de-0000-4000-8000-000000000001"
BROKEN = "1ab6a7de-0000-4000-8000-0000000000b0"
NOW = datetime.now(UTC).replace(microsecond=0)


def scs_time(days_ago, hours=0):
    return statuspage.iso(NOW - timedelta(days=days_ago) + timedelta(hours=hours))


class SCSPage:
    """The state of a small SCS status page, served as the OpenAPI schema says."""

    def __init__(self):
        self.requests = []
        self.fail_once = {"/components"}  # answers 503 the first time
        self.incidents = {
            "00000000-0000-4000-8000-000000000001": {
                "displayName": "Object storage unavailable",
                "description": "Requests to <b>object storage</b> failed.",
                "beganAt": scs_time(200),
                "endedAt": scs_time(200, 2),
                "phase": {"generation": 1, "order": 4},
                "affects": [{"reference": COMPONENT, "type": BROKEN, "severity": 100}],
                "updates": [
                    {"order": 1, "displayName": "Fixed", "description": "Disk replaced.",
                     "createdAt": scs_time(200, 2)},
                    {"order": 0, "displayName": "Investigating", "description": "Looking.",
                     "createdAt": scs_time(200, 0.25)},
                ],
            },
            "00000000-0000-4000-8000-000000000002": {
                "displayName": "Slow API",
                "description": "",
                "beganAt": scs_time(45),
                "endedAt": scs_time(45, 1),
                "phase": {"generation": 1, "order": 4},
                "affects": [{"reference": COMPONENT, "type": BROKEN, "severity": 50}],
                "updates": [{"order": 0, "displayName": "Done", "description": "Recovered.",
                             "createdAt": scs_time(45, 1)}],
            },
            "00000000-0000-4000-8000-000000000003": {
                "displayName": "Network flaps",
                "description": "Ongoing.",
                "beganAt": scs_time(1),
                "endedAt": None,
                "phase": {"generation": 1, "order": 1},
                "affects": [{"reference": COMPONENT, "type": BROKEN, "severity": 66}],
                "updates": [{"order": 0, "displayName": "Investigating", "description": "On it.",
                             "createdAt": scs_time(1, 0.5)}],
            },
            "00000000-0000-4000-8000-000000000004": {
                "displayName": "Planned upgrade",
                "description": "",
                "beganAt": scs_time(10),
                "endedAt": scs_time(10, 1),
                "phase": {"generation": 1, "order": 0},
                "affects": [{"reference": COMPONENT, "type": BROKEN, "severity": 33}],
                "updates": [],
            },
        }  # fmt: skip

    def answer(self, path, query):
        if path == "/components":
            return [{"id": COMPONENT, "displayName": "Object Storage", "labels": {}}]
        if path == "/phases":
            return {
                "generation": 1,
                "phases": [
                    "Scheduled",
                    "Investigation ongoing",
                    "Working on it",
                    "Potential fix deployed",
                    "Done",
                ],
            }
        if path == "/impacttypes":
            return [{"id": BROKEN, "displayName": "Performance degration", "description": ""}]
        if path == "/incidents":
            start = datetime.fromisoformat(query["start"][0].replace("Z", "+00:00"))
            end = datetime.fromisoformat(query["end"][0].replace("Z", "+00:00"))
            found = []
            for identifier, incident in self.incidents.items():
                began = datetime.fromisoformat(incident["beganAt"].replace("Z", "+00:00"))
                ended = incident["endedAt"]
                ended = datetime.fromisoformat(ended.replace("Z", "+00:00")) if ended else NOW
                if began <= end and ended >= start:
                    listed = {k: v for k, v in incident.items() if k != "updates"}
                    orders = [u["order"] for u in incident["updates"]]
                    found.append({"id": identifier, **listed, "updates": orders})
            return found
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "incidents" and parts[2] == "updates":
            return self.incidents[parts[1]]["updates"]
        return None


@pytest.fixture
def scs_server():
    page = SCSPage()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            page.requests.append(url.path)
            if url.path in page.fail_once:
                page.fail_once.discard(url.path)
                self.send_response(503)
                self.end_headers()
                return
            data = page.answer(url.path, parse_qs(url.query))
            body = json.dumps({"data": data}).encode()
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield page, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def state_of(organisation):
    return sorted(
        (
            record.incident_id,
            record.title,
            record.impact,
            record.severity,
            record.started_at,
            record.resolved_at,
            record.report.title,
            record.report.severity,
            record.report.body,
            record.link,
            tuple(rows_of(record.report)),
            tuple(record.report.components.values_list("slug", flat=True)),
        )
        for record in StatusPageIncident.objects.filter(organisation__slug=organisation)
    )


def test_a_live_scs_page_imports_as_its_file_does(scs_server, tmp_path):
    page, url = scs_server
    OrganisationFactory(slug="scs")
    OrganisationFactory(slug="scs-file")
    ComponentFactory(slug="object-storage", name="Object Storage")
    since = (NOW - timedelta(days=365)).date().isoformat()
    live = ["--format", "scs", "--since", since, "--backoff", "0.01", "--source", "scs-page"]
    dump = tmp_path / "dump.json"
    out = run(url, *live, "--dump", str(dump), organisation="scs")
    assert "4 files: 3 created, 0 updated, 0 unchanged, 1 skipped, 0 failed." in out
    assert "a maintenance, not an incident" in out
    windows = [p for p in page.requests if p == "/incidents"]
    assert len(windows) >= 12  # a year in 30-day windows
    assert page.requests.count("/components") == 2  # the 503, then the answer

    ongoing = StatusPageIncident.objects.get(incident_id="00000000-0000-4000-8000-000000000003")
    assert ongoing.resolved_at is None and ongoing.severity == "sev3"
    major = StatusPageIncident.objects.get(incident_id="00000000-0000-4000-8000-000000000001")
    assert major.severity == "sev2" and major.impact == "severity 100"
    assert [text for _, text in rows_of(major.report)] == [
        "**Investigating**: Looking.",
        "**Fixed**: Disk replaced.",
    ]
    assert major.link == f"{url}/incidents/00000000-0000-4000-8000-000000000001"

    # An update between two runs: appended as a new revision; the rest unchanged.
    page.incidents["00000000-0000-4000-8000-000000000003"]["updates"].append(
        {"order": 1, "displayName": "Working on it", "description": "A switch is replaced.",
         "createdAt": scs_time(0, -1)}
    )  # fmt: skip
    out = run(url, *live, "--dump", str(dump), organisation="scs")
    assert "0 created, 1 updated, 2 unchanged, 1 skipped" in out
    ongoing.refresh_from_db()
    assert ongoing.report.revision == 2 and ongoing.report.timeline.count() == 2

    out = run(dump, "--source", "scs-page", organisation="scs-file")
    assert "3 created" in out
    assert state_of("scs") == state_of("scs-file")


def test_an_unreachable_page_is_a_clear_error():
    OrganisationFactory(slug="github")
    with pytest.raises(CommandError, match=r"cannot fetch http://127\.0\.0\.1:9/api/v2/"):
        run("http://127.0.0.1:9", "--retries", "1", "--backoff", "0.01", "--timeout", "1")


def test_an_scs_file_needs_a_source_name(tmp_path):
    OrganisationFactory(slug="github")
    (tmp_path / "scs.json").write_text(json.dumps({"components": [], "incidents": []}))
    with pytest.raises(CommandError, match="--source NAME is required"):
        run(tmp_path / "scs.json", "--format", "scs")


@pytest.fixture
def statuspage_server():
    """A Statuspage page serving 5 incidents, 2 per page, with a `pagination` object."""
    incidents = []
    for n in range(5):
        incident = statuspage_incident()["incident"]
        incidents.append({**incident, "id": f"inc{n}", "name": f"Incident {n}"})
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            requests.append(self.path)
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            body = {
                "page": {"id": "pagedpage"},
                "incidents": incidents[(page - 1) * 2 : page * 2],
                "pagination": {"page": page, "per_page": 2, "total": 5, "has_more": page < 3},
            }
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield requests, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_live_statuspage_is_read_page_by_page(statuspage_server):
    requests, url = statuspage_server
    OrganisationFactory(slug="github")
    out = run(url)
    assert "5 files: 5 created" in out
    assert requests == [
        "/api/v2/incidents.json",
        "/api/v2/incidents.json?page=2&per_page=2",
        "/api/v2/incidents.json?page=3&per_page=2",
    ]
    assert set(StatusPageIncident.objects.values_list("source", flat=True)) == {"pagedpage"}


def test_a_postmortem_the_page_published_is_imported_and_counts(tmp_path, api):
    OrganisationFactory(slug="github")
    resolved = datetime.now(UTC) - timedelta(days=10)
    data = statuspage_incident(
        started_at=statuspage.iso(resolved - timedelta(hours=1)),
        resolved_at=statuspage.iso(resolved),
        postmortem_body="<p>The <strong>root cause</strong> was a full disk.</p>",
        postmortem_published_at=statuspage.iso(resolved + timedelta(days=2)),
    )
    data["incident"]["incident_updates"] = []
    (tmp_path / "pm.json").write_text(json.dumps(data))
    run(tmp_path / "pm.json")
    report = FailureReport.objects.get(slug="examplepage-abc123")
    assert "The **root cause** was a full disk." in report.body and report.status == "draft"
    figures = api.get("/api/v1/organisations/github/transparency/?days=90").json()["figures"]
    coverage = {f["key"]: f for f in figures}["postmortem_coverage_5d"]
    assert (coverage["numerator"], coverage["denominator"]) == (1, 1)


def test_component_map_and_dry_run(tmp_path):
    OrganisationFactory(slug="github")
    ComponentFactory(slug="git", name="Git")
    data = statuspage_incident()
    data["incident"]["components"] = [
        {"id": "a", "name": "Git Operations"},
        {"id": "b", "name": "Object Storage"},
        {"id": "c", "name": "Webhooks"},
    ]
    (tmp_path / "one.json").write_text(json.dumps(data))
    (tmp_path / "map.yaml").write_text("git operations: git\nOBJECT STORAGE: ignore\n")
    out = run(tmp_path / "one.json", "--component-map", str(tmp_path / "map.yaml"), "--dry-run")
    assert out.startswith("note: components not in the catalogue") and "Webhooks (1)" in out
    assert "Dry run, nothing written: 1 files: 1 created" in out
    assert not StatusPageIncident.objects.exists() and not FailureReport.objects.exists()
    run(tmp_path / "one.json", "--component-map", str(tmp_path / "map.yaml"))
    report = FailureReport.objects.get()
    assert list(report.components.values_list("slug", flat=True)) == ["git"]
    assert StatusPageIncident.objects.get().unmatched_components == ["Webhooks"]
    assert "Webhooks" in report.body
