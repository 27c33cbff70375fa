"""Failure reports over the API: structure, derived times, validation, the blameless and
redaction checks before publishing, backlinks from runbooks and feeds."""

import time

import pytest
from django.test import override_settings

from incidents.checks import blameless_findings, redaction_findings
from incidents.models import FailureReport
from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/alpen/ceph-full/"
REPORT = {
    "title": "Ceph full during the upgrade",
    "summary": "Block storage stopped accepting writes.",
    "impact": "Volumes hung for 47 minutes.",
    "root_cause": "Raw usage was above the guideline when hosts restarted.",
    "severity": "sev2",
    "started_at": "2024-02-14T10:12:00+01:00",
    "detected_at": "2024-02-14T10:15:00+01:00",
    "resolved_at": "2024-02-14T10:59:00+01:00",
    "timeline": [
        {"at": "2024-02-14T10:12:00+01:00", "text": "Host restarted."},
        {"at_text": "--:--", "text": "Time unknown: balancer started."},
    ],
    "action_items": [
        {"title": "Check per-OSD usage", "status": "done", "owner": "storage team"},
        {"title": "Alert at 75 %", "owner": "monitoring team", "due": "2024-03-31"},
    ],
    "components": ["ceph"],
    "releases": ["r4"],
    "visibility": "public",
    "status": "published",
}


@pytest.fixture
def editor(catalogue, token_client):
    alpen = OrganisationFactory(slug="alpen")
    publish(organisation=alpen, slug="ceph-osd-full")
    publish(organisation=alpen, slug="private-runbook", visibility="organisation")
    return token_client(member(alpen, "editor", username="erika"), alpen)


def test_a_report_with_its_timeline_and_action_items(editor):
    response = editor.put(
        URL,
        {**REPORT, "runbooks": [{"runbook": "alpen/ceph-osd-full", "relation": "used"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["time_to_detect"] == 180
    assert body["time_to_resolve"] == 47 * 60
    assert body["timeline"] == [
        {"at": "2024-02-14T09:12:00Z", "at_text": "", "text": "Host restarted."},
        {"at": None, "at_text": "--:--", "text": "Time unknown: balancer started."},
    ]
    assert [item["status"] for item in body["action_items"]] == ["done", "open"]
    assert body["runbooks"] == [{"runbook": "alpen/ceph-osd-full", "relation": "used"}]
    assert "<p>Volumes hung for 47 minutes.</p>" in body["impact_html"]
    assert body["warnings"] == []
    # Re-publishing the same report changes nothing.
    again = editor.put(
        URL,
        {**REPORT, "runbooks": [{"runbook": "alpen/ceph-osd-full", "relation": "used"}]},
        format="json",
    )
    assert again.status_code == 200 and again["ETag"] == '"1"'


def test_list_items_leave_out_sections_timeline_and_action_items(editor, api):
    editor.put(URL, REPORT, format="json")
    item = api.get("/api/v1/incidents/").json()["results"][0]
    for name in ("body", "impact", "root_cause_html", "timeline", "action_items"):
        assert name not in item
    assert item["time_to_detect"] == 180 and item["warnings"] == []


def test_stated_durations_fill_in_for_missing_timestamps(editor):
    report = {
        **REPORT,
        "started_at": None,
        "stated_time_to_detect": 600,
        "stated_time_to_resolve": None,
    }
    body = editor.put(URL, report, format="json").json()
    assert (body["time_to_detect"], body["time_to_resolve"]) == (600, None)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"detected_at": "2024-02-14T08:00:00Z"}, "detected_at"),
        ({"resolved_at": "2024-02-13T10:00:00Z"}, "resolved_at"),
        ({"root_cause": ""}, "root_cause"),
        ({"impact": ""}, "impact"),
        ({"summary": ""}, "summary"),
        ({"severity": "sev5"}, "severity"),
        ({"status": "closed"}, "status"),
        ({"timeline": [{"at": "yesterday", "text": "x"}]}, "timeline.0.at"),
        ({"action_items": [{"title": "x", "status": "later"}]}, "action_items.0.status"),
        ({"runbooks": [{"runbook": "alpen/nope", "relation": "used"}]}, "runbooks.0.runbook"),
        (
            {"runbooks": [{"runbook": "alpen/ceph-osd-full", "relation": "read"}]},
            "runbooks.0.relation",
        ),
    ],
)
def test_bad_reports_are_refused_naming_the_field(editor, change, field):
    response = editor.put(URL, {**REPORT, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not FailureReport.objects.exists()


def test_drafts_need_no_root_cause(editor):
    draft = {**REPORT, "status": "draft", "root_cause": "", "impact": ""}
    assert editor.put(URL, draft, format="json").status_code == 201


def test_linking_a_runbook_the_writer_cannot_read_looks_like_a_missing_one(editor, catalogue):
    north = OrganisationFactory(slug="north")
    publish(organisation=north, slug="secret", visibility="organisation")
    response = editor.put(
        URL,
        {**REPORT, "runbooks": [{"runbook": "north/secret", "relation": "used"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["runbooks.0.runbook"] == [
        "unknown runbook 'north/secret'."
    ]


BLAMING = {
    **REPORT,
    "root_cause": "Human error: Bob should have checked the capacity.",
    "attendees": ["Bob"],
}


def test_publishing_with_blaming_language_needs_acknowledgement(editor):
    refused = editor.put(URL, BLAMING, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "acknowledge_warnings" in error["fields"]
    assert [w["phrase"] for w in error["warnings"]] == ["Human error", "Bob", "should have"]
    assert error["warnings"][0] == {
        "check": "blameless",
        "field": "root_cause",
        "position": 0,
        "phrase": "Human error",
        "suggestion": "Describe what in the system allowed the mistake, not the person.",
    }
    assert not FailureReport.objects.exists()

    # A draft with the same words is fine: warnings never block drafts.
    draft = editor.put(URL, {**BLAMING, "status": "draft"}, format="json")
    assert draft.status_code == 201
    assert len(draft.json()["warnings"]) == 3
    publish_it = editor.patch(URL, {"status": "published"}, format="json", HTTP_IF_MATCH='"1"')
    assert publish_it.status_code == 400
    acknowledged = editor.patch(
        URL,
        {"status": "published", "acknowledge_warnings": True},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert acknowledged.status_code == 200
    assert acknowledged.json()["status"] == "published"


@override_settings(INTERNAL_DOMAINS=["corp.example"])
def test_redaction_applies_when_a_report_goes_public(editor):
    leaky = {
        **REPORT,
        "visibility": "organisation",
        "impact": "db1.corp.example at 10.0.0.12 and fd00::12 stopped; ask ops@example.org.",
    }
    created = editor.put(URL, leaky, format="json")
    assert created.status_code == 201
    assert created.json()["warnings"] == []  # organisation-only: nothing leaves the house

    going_public = editor.patch(URL, {"visibility": "public"}, format="json", HTTP_IF_MATCH='"1"')
    assert going_public.status_code == 400
    phrases = {w["phrase"] for w in going_public.json()["error"]["warnings"]}
    assert phrases == {"db1.corp.example", "10.0.0.12", "fd00::12", "ops@example.org"}
    assert editor.get(URL).json()["visibility"] == "organisation"


def test_in_review_reports_are_for_members_only(editor, api, catalogue):
    editor.put(URL, {**REPORT, "status": "in_review"}, format="json")
    assert editor.get(URL).status_code == 200
    assert api.get(URL).status_code == 404
    outsider = member(OrganisationFactory(slug="north"), "editor")
    api.force_authenticate(outsider)
    assert api.get(URL).status_code == 404
    assert api.get("/api/v1/incidents/").json()["count"] == 0


def test_filters(editor, api):
    editor.put(URL, REPORT, format="json")
    editor.put(
        "/api/v1/incidents/alpen/quiet/",
        {
            **REPORT,
            "severity": "sev4",
            "started_at": "2023-01-01T00:00:00Z",
            "detected_at": None,
            "resolved_at": None,
            "action_items": [{"title": "x", "status": "done"}],
            "runbooks": [{"runbook": "alpen/ceph-osd-full", "relation": "created"}],
        },
        format="json",
    )

    def slugs(query):
        response = api.get("/api/v1/incidents/" + query)
        assert response.status_code == 200, response.content
        return sorted(r["slug"] for r in response.json()["results"])

    assert slugs("?severity=sev2") == ["ceph-full"]
    assert slugs("?started_after=2024-01-01T00:00:00Z") == ["ceph-full"]
    assert slugs("?started_before=2024-01-01T00:00:00Z") == ["quiet"]
    assert slugs("?has_open_actions=true") == ["ceph-full"]
    assert slugs("?has_open_actions=false") == ["quiet"]
    assert slugs("?runbook=alpen/ceph-osd-full") == ["quiet"]
    assert slugs("?component=ceph&release=r4") == ["ceph-full", "quiet"]
    assert api.get("/api/v1/incidents/?severity=sev9").status_code == 400


def test_runbook_lists_the_published_reports_that_link_it(editor, api, catalogue):
    link = [{"runbook": "alpen/ceph-osd-full", "relation": "used"}]
    editor.put(URL, {**REPORT, "runbooks": link}, format="json")
    editor.put(
        "/api/v1/incidents/alpen/draft/",
        {**REPORT, "status": "draft", "runbooks": link},
        format="json",
    )
    editor.put(
        "/api/v1/incidents/alpen/private/",
        {**REPORT, "visibility": "organisation", "runbooks": link},
        format="json",
    )
    anonymous = api.get("/api/v1/runbooks/alpen/ceph-osd-full/").json()["incidents"]
    assert [r["slug"] for r in anonymous] == ["ceph-full"]
    members = editor.get("/api/v1/runbooks/alpen/ceph-osd-full/").json()["incidents"]
    assert sorted(r["slug"] for r in members) == ["ceph-full", "private"]


def test_links_to_runbooks_the_reader_cannot_see_are_left_out(editor, api):
    links = [
        {"runbook": "alpen/ceph-osd-full", "relation": "used"},
        {"runbook": "alpen/private-runbook", "relation": "created"},
    ]
    editor.put(URL, {**REPORT, "runbooks": links}, format="json")
    assert api.get(URL).json()["runbooks"] == [links[0]]
    assert editor.get(URL).json()["runbooks"] == links


def test_stale_edits_get_412(editor):
    editor.put(URL, REPORT, format="json")
    editor.patch(URL, {"summary": "first"}, format="json", HTTP_IF_MATCH='"1"')
    stale = editor.patch(URL, {"summary": "second"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["error"]["current_revision"] == 2


def test_diff_covers_sections_and_timeline(editor):
    editor.put(URL, REPORT, format="json")
    timeline = REPORT["timeline"] + [{"at": "2024-02-14T10:59:00+01:00", "text": "Resolved."}]
    editor.patch(
        URL,
        {"lessons_learned": "Watch usage.", "timeline": timeline},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    changes = editor.get(URL + "diff/").json()["changes"]
    assert set(changes) == {"lessons_learned", "timeline"}
    assert "+Watch usage." in changes["lessons_learned"]
    assert "Resolved." in changes["timeline"]


def test_feeds_show_public_published_reports_only(editor, client):
    editor.put(URL, REPORT, format="json")
    editor.put(
        "/api/v1/incidents/alpen/hidden/", {**REPORT, "visibility": "community"}, format="json"
    )
    editor.put("/api/v1/incidents/alpen/draft/", {**REPORT, "status": "draft"}, format="json")
    feed = client.get("/feeds/incidents.atom").content.decode()
    assert "/incidents/alpen/ceph-full/" in feed
    assert "hidden" not in feed and "/draft/" not in feed
    assert (
        "/incidents/alpen/ceph-full/"
        in client.get("/feeds/incidents.atom?component=ceph").content.decode()
    )
    assert "<entry>" not in client.get("/feeds/incidents.atom?release=r3").content.decode()
    assert client.get("/feeds/incidents.atom?component=cepf").status_code == 404
    runbooks = client.get("/feeds/runbooks.atom?organisation=alpen").content.decode()
    assert "/runbooks/alpen/ceph-osd-full/" in runbooks and "private-runbook" not in runbooks


def test_report_page_shows_the_sections(editor, client):
    editor.put(URL, REPORT, format="json")
    page = client.get("/incidents/alpen/ceph-full/").content.decode()
    assert "Root cause" in page and "Volumes hung for 47 minutes." in page


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("The outage was caused by human error.", "human error"),
        ("Operator error during the change.", "Operator error"),
        ("The admin should have known.", "should have"),
        ("A careless change.", "careless"),
        ("It was the fault of the network team.", "fault of"),
        ("Gross negligence.", "negligence"),
        ("An incompetent rollout.", "incompetent"),
        ("Ursache war menschliches Versagen.", "menschliches Versagen"),
        ("Er hätte die Kapazität prüfen sollen.", "hätte die Kapazität prüfen sollen"),
        ("Das Team ist schuld.", "ist schuld"),
        ("Ein Fehler von Herrn Meier.", "Fehler von Herrn"),
    ],
)
def test_blameless_phrases_in_english_and_german(text, phrase):
    findings = blameless_findings({"root_cause": text}, [])
    assert [f["phrase"] for f in findings] == [phrase]
    assert findings[0]["position"] == text.index(phrase)


def test_blameless_names_people_of_the_report():
    findings = blameless_findings(
        {"summary": "Alice restarted the host; AN paged an engineer."}, ["Alice", "AN"]
    )
    assert [f["phrase"] for f in findings] == ["Alice", "AN"]


def test_an_attendees_section_is_not_blaming(editor):
    body = "## Summary\nThe host was restarted.\n\n## Attendees\n\n- Alice\n- Bob\n"
    report = {
        **REPORT,
        "body": body,
        "attendees": ["Alice", "Bob"],
        "root_cause": "Bob restarted the wrong host.",
    }
    response = editor.put(URL, {**report, "status": "draft"}, format="json")
    assert [(w["field"], w["phrase"]) for w in response.json()["warnings"]] == [
        ("root_cause", "Bob")
    ]


def test_a_write_parses_each_markdown_field_once(editor, monkeypatch):
    """The checks read the body's sections from the parse the write rendered (the
    attendees section above is found in it), not from a second parse of the same text."""
    from opsknowledge import markdown

    parsed = []
    parse = markdown.Document.__init__

    def counting(self, text, links=None):
        parsed.append(text)
        parse(self, text, links)

    monkeypatch.setattr(markdown.Document, "__init__", counting)
    body = "## Summary\nThe host was restarted.\n\n## Attendees\n\n- Alice\n- Bob\n"
    report = {**REPORT, "body": body, "attendees": ["Alice", "Bob"], "status": "draft"}
    response = editor.put(URL, report, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["warnings"] == []  # Alice and Bob are attendees, not blamed
    written = [report[name] for name in FailureReport.MARKDOWN_FIELDS if report.get(name)]
    assert sorted(parsed) == sorted(written)


@pytest.mark.parametrize(
    "text",
    [
        "The on-call engineer restarted the host at 10:45 and 11:02:30.",
        "Upgraded from v5.0.0 to 7.0.0; Ceph 17.2.6 ran fine.",
        "The error budget was consumed; we blamed nobody.",
    ],
)
def test_ordinary_text_is_not_flagged_for_redaction(text):
    assert redaction_findings({"impact": text}, ["corp.example"]) == []


@pytest.mark.parametrize(
    "text, what",
    [
        ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
        ("postgres://admin:hunter22@db/ops", "a password in a URL"),
        ("AKIAIOSFODNN7EXAMPLE leaked", "an AWS access key"),
        ("password: s3cr3t-value", "a credential"),
        ("Authorization: Token okb_abcdefghijklmnopqrstuvwxyz", "an opsknowledge API token"),
    ],
)
def test_secrets_are_flagged(text, what):
    findings = redaction_findings({"body": text}, [])
    assert any(what in f["suggestion"] for f in findings), findings


# Text a plain pattern rescans from every position (each took 10 s or more at this size).
@pytest.mark.parametrize(
    "text",
    ["a." * 30_000, ".o" * 30_000, "o." * 30_000, "eyJ-" * 15_000, "password:" + " " * 60_000],
)
def test_the_checks_take_linear_time(text):
    started = time.perf_counter()
    redaction_findings({"body": text}, ["corp.example"])
    blameless_findings({"body": text}, ["Alice"])
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("Mail ops.team+pager@corp.example now", "ops.team+pager@corp.example"),
        ("See -db-1.eu.corp.example.", "db-1.eu.corp.example"),
        ("x..db2.corp.example", "db2.corp.example"),
        ("url=9a.postgres://admin:hunter22@db/ops", "postgres://admin:hunter22@"),
        ("Bearer x-eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", None),
    ],
)
def test_linear_patterns_find_what_the_plain_ones_found(text, phrase):
    findings = redaction_findings({"body": text}, ["corp.example"])
    expected = phrase or text.removeprefix("Bearer x-")
    assert expected in [f["phrase"] for f in findings], findings
    found = next(f for f in findings if f["phrase"] == expected)
    assert text[found["position"] :].startswith(expected)
