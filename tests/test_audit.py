"""The audit log: every write leaves one event (who, how, from where, what), in the same
transaction as the write; organisation admins read their own organisation's log in the API
and on a page; no secret ever reaches it or a log line."""

import io
import json
import logging

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from opsknowledge.models import APIToken, AuditEvent, Component
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member

pytestmark = pytest.mark.django_db

RUNBOOK = {"title": "Ceph OSD full", "body": "## Steps\n\n1. Look.\n", "status": "published"}


@pytest.fixture
def alpen():
    return OrganisationFactory(slug="alpen", name="Alpenwolke")


def token_for(user, organisation):
    _, key = APIToken.issue(user=user, organisation=organisation)
    client = APIClient(REMOTE_ADDR="192.0.2.10")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def test_token_writes_are_recorded_with_who_how_where_and_what(alpen):
    editor = member(alpen, "editor", username="erika")
    client, key = token_for(editor, alpen)
    assert client.put("/api/v1/runbooks/alpen/osd-full/", RUNBOOK, format="json").status_code == 201
    changed = {**RUNBOOK, "summary": "changed"}
    response = client.put(
        "/api/v1/runbooks/alpen/osd-full/", changed, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.revision, e.target) for e in events] == [
        ("runbook.create", 1, "alpen/osd-full"),
        ("runbook.update", 2, "alpen/osd-full"),
    ]
    for event in events:
        assert (event.username, event.via, event.address, event.organisation) == (
            "erika",
            "token",
            "192.0.2.10",
            alpen,
        )
        assert event.token_start and key.startswith(event.token_start)


def test_a_refused_write_leaves_no_event(alpen):
    client, _ = token_for(member(alpen, "editor"), alpen)
    client.put("/api/v1/runbooks/alpen/osd-full/", RUNBOOK, format="json")
    stale = client.put(
        "/api/v1/runbooks/alpen/osd-full/",
        {**RUNBOOK, "summary": "x"},
        format="json",
        HTTP_IF_MATCH='"9"',
    )
    assert stale.status_code == 412
    assert AuditEvent.objects.count() == 1


def test_session_command_and_catalogue_writes_say_how_they_were_made(alpen):
    session = APIClient()
    session.force_login(member(alpen, "editor", username="sam"))
    session.put("/api/v1/practices/alpen/backups/", {"title": "Backups"}, format="json")
    call_command("load_demo", "--catalogue-only", stderr=io.StringIO())
    staff = UserFactory(is_staff=True)
    _, key = APIToken.issue(user=staff, organisation=None)
    catalogue = APIClient()
    catalogue.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    created = catalogue.post(
        "/api/v1/components/", {"slug": "lbaas-made-up", "name": "Octavia"}, format="json"
    )
    assert created.status_code == 201, created.content
    practice = AuditEvent.objects.get(action="practice.create")
    assert (practice.via, practice.username) == ("session", "sam")
    component = AuditEvent.objects.get(action="component.create", target="lbaas-made-up")
    assert (component.via, component.organisation) == ("token", None)
    assert Component.objects.filter(slug="lbaas-made-up").exists()


def test_only_the_organisations_admins_read_its_log(alpen, client):
    other = OrganisationFactory(slug="other")
    editor_client, _ = token_for(member(alpen, "editor"), alpen)
    editor_client.put("/api/v1/runbooks/alpen/osd-full/", RUNBOOK, format="json")
    other_client, _ = token_for(member(other, "editor"), other)
    other_client.put("/api/v1/runbooks/other/theirs/", RUNBOOK, format="json")
    admin_client, _ = token_for(member(alpen, "admin", username="ada"), alpen)

    log = admin_client.get("/api/v1/organisations/alpen/audit/")
    assert log.status_code == 200
    assert [e["target"] for e in log.json()["results"]] == ["alpen/osd-full"]
    assert editor_client.get("/api/v1/organisations/alpen/audit/").status_code == 403
    assert other_client.get("/api/v1/organisations/alpen/audit/").status_code == 403
    assert APIClient().get("/api/v1/organisations/alpen/audit/").status_code == 401

    client.force_login(alpen.memberships.get(user__username="ada").user)
    page = client.get("/organisations/alpen/audit/")
    assert page.status_code == 200 and b"alpen/osd-full" in page.content
    assert b"other/theirs" not in page.content
    assert b"Audit log" in client.get("/organisations/alpen/").content
    client.logout()
    assert client.get("/organisations/alpen/audit/").status_code == 302  # sign in first
    client.force_login(alpen.memberships.exclude(role="admin").first().user)
    assert client.get("/organisations/alpen/audit/").status_code == 403


def test_no_secret_reaches_the_audit_log_or_a_log_line(alpen, caplog, monkeypatch):
    password = "correct-horse-battery-staple-42"
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    call_command(
        "add_member", "pat", "alpen", "--role", "admin", "--password-stdin", stderr=io.StringIO()
    )
    out = io.StringIO()
    call_command("create_token", "pat", "--organisation", "alpen", stdout=out)
    key = out.getvalue().strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with caplog.at_level(logging.DEBUG):
        client.put("/api/v1/runbooks/alpen/osd-full/", RUNBOOK, format="json")
        client.put(
            "/api/v1/runbooks/alpen/osd-full/",
            {**RUNBOOK, "summary": "x"},
            format="json",
            HTTP_IF_MATCH='"9"',
        )  # refused, logged as a 412
        client.get("/api/v1/organisations/alpen/audit/")
        APIClient().get("/api/v1/runbooks/", HTTP_AUTHORIZATION=f"Token {key}x")  # 401
    everything = json.dumps(list(AuditEvent.objects.values()), default=str) + caplog.text
    assert AuditEvent.objects.exists()
    assert key not in everything and key[12:] not in everything
    assert password not in everything


def test_an_import_is_one_event_with_its_counts_beside_one_per_document(alpen):
    import tarfile

    from opsknowledge.metrics import IMPORT_RESULTS

    client, _ = token_for(member(alpen, "editor", username="ci-bot"), alpen)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in {
            "ceph/OsdFull.md": "# OSD full\n",
            "ceph/Bad.md": "---\n1: x\n---\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    created_before = IMPORT_RESULTS.labels(kind="runbook", outcome="created")._value.get()
    response = client.post("/api/v1/import/", buffer.getvalue(), content_type="application/gzip")
    assert response.status_code == 200, response.content
    run = AuditEvent.objects.get(action="import")
    assert (run.username, run.via, run.organisation) == ("ci-bot", "token", alpen)
    assert (run.detail["files"], run.detail["created"], run.detail["failed"]) == (2, 1, 1)
    assert AuditEvent.objects.filter(action="runbook.create").count() == 1
    after = IMPORT_RESULTS.labels(kind="runbook", outcome="created")._value.get()
    assert after == created_before + 1
