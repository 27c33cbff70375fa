"""Action items over the API: their tracking fields (id, created, closed_at, original_due),
PUT/PATCH matching them by id, and the PATCH of one item's status."""

import datetime

import pytest
from django.utils import timezone

from incidents.models import ActionItem, FailureReport
from opsknowledge.models import Revision
from opsknowledge.tests.factories import OrganisationFactory, member

pytestmark = pytest.mark.django_db

URL = "/api/v1/incidents/alpen/ceph-full/"
REPORT = {
    "title": "Ceph full during the upgrade",
    "summary": "Block storage stopped accepting writes.",
    "action_items": [
        {"title": "Check per-OSD usage", "status": "done", "owner": "storage team"},
        {"title": "Alert at 75 %", "owner": "monitoring team", "due": "2024-03-31"},
    ],
}


@pytest.fixture
def alpen():
    return OrganisationFactory(slug="alpen")


@pytest.fixture
def editor(alpen, token_client):
    return token_client(member(alpen, "editor", username="erika"), alpen)


@pytest.fixture
def report(editor):
    response = editor.put(URL, REPORT, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_items_carry_read_only_tracking_fields(report):
    done, alert = report["action_items"]
    assert isinstance(done["id"], int) and isinstance(alert["id"], int)
    created = datetime.datetime.fromisoformat(done["created"].replace("Z", "+00:00"))
    assert abs(timezone.now() - created) < datetime.timedelta(minutes=1)
    assert done["closed_at"] is not None and alert["closed_at"] is None
    assert alert["original_due"] == "2024-03-31" and done["original_due"] is None


def test_put_and_patch_match_items_by_id(editor, report):
    done, alert = report["action_items"]
    moved = {**alert, "due": "2024-06-30", "status": "in_progress", "created": "2000-01-01T00:00Z"}
    new = {"title": "Write the runbook"}
    response = editor.patch(
        URL, {"action_items": [moved, new, done]}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    items = response.json()["action_items"]
    assert [item["title"] for item in items] == [
        "Alert at 75 %",
        "Write the runbook",
        done["title"],
    ]
    assert items[0]["id"] == alert["id"] and items[2]["id"] == done["id"]
    assert items[1]["id"] not in (alert["id"], done["id"])
    # The first due date stays; created is read-only; a done item stays closed when it was.
    assert items[0]["due"] == "2024-06-30" and items[0]["original_due"] == "2024-03-31"
    assert items[0]["created"] == alert["created"]
    assert items[2]["closed_at"] == done["closed_at"]
    # Reopened: closed_at is cleared; left out: removed.
    reopened = {**items[2], "status": "open"}
    response = editor.put(
        URL, {**REPORT, "action_items": [reopened]}, format="json", HTTP_IF_MATCH='"2"'
    )
    assert response.status_code == 200, response.content
    (item,) = response.json()["action_items"]
    assert item["id"] == done["id"] and item["closed_at"] is None
    assert ActionItem.objects.count() == 1


def test_the_same_items_without_ids_change_nothing(editor, report):
    response = editor.put(URL, REPORT, format="json")
    assert response.status_code == 200 and response["ETag"] == '"1"'
    assert [item["id"] for item in response.json()["action_items"]] == [
        item["id"] for item in report["action_items"]
    ]


@pytest.mark.parametrize(
    "item_id, message",
    [(999_999, "This report has no action item 999999"), ("x", "A valid integer is required")],
)
def test_an_unknown_id_is_a_field_error(editor, report, item_id, message):
    response = editor.patch(
        URL,
        {"action_items": [{"id": item_id, "title": "Check per-OSD usage"}]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400, response.content
    assert message in str(response.json()), response.json()
    assert "action_items" in str(response.json())
    assert FailureReport.objects.get().revision == 1


def test_an_item_of_another_report_is_unknown(editor, report):
    editor.put("/api/v1/incidents/alpen/other/", {**REPORT, "title": "Other"}, format="json")
    foreign = ActionItem.objects.filter(report__slug="other").first()
    response = editor.patch(
        URL,
        {"action_items": [{"id": foreign.pk, "title": "stolen"}]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    assert ActionItem.objects.get(pk=foreign.pk).report.slug == "other"


def test_ids_twice_are_refused(editor, report):
    first = report["action_items"][0]
    response = editor.patch(
        URL, {"action_items": [first, first]}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400
    assert "listed twice" in str(response.json())
    assert Revision.objects.count() == 1


def item_url(item_id):
    return f"{URL}action-items/{item_id}/"


def test_patch_one_items_status_is_a_new_revision(editor, report):
    alert = report["action_items"][1]
    response = editor.patch(
        item_url(alert["id"]), {"status": "done"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    body = response.json()
    assert body["id"] == alert["id"] and body["status"] == "done" and body["closed_at"]
    revision = Revision.objects.get(number=2)
    assert revision.via == "token" and revision.author.username == "erika"
    assert "marked done" in revision.message
    assert [item["status"] for item in revision.snapshot["action_items"]] == ["done", "done"]
    # The same status again: nothing to change, no precondition needed.
    again = editor.patch(item_url(alert["id"]), {"status": "done"}, format="json")
    assert again.status_code == 200 and again["ETag"] == '"2"'
    reopened = editor.patch(
        item_url(alert["id"]), {"status": "open"}, format="json", HTTP_IF_MATCH='"2"'
    )
    assert reopened.json()["closed_at"] is None and reopened["ETag"] == '"3"'


@pytest.mark.parametrize(
    "if_match, expected", [(None, 428), ('"7"', 412), ('"1"', 200), ("*", 200)]
)
def test_patch_one_item_needs_the_current_revision(editor, report, if_match, expected):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    response = editor.patch(
        item_url(report["action_items"][1]["id"]), {"status": "wont_do"}, format="json", **headers
    )
    assert response.status_code == expected, response.content
    assert FailureReport.objects.get().revision == (2 if expected == 200 else 1)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "later"}, "status"),
        ({}, "status"),
        ({"status": "done", "title": "renamed"}, "title"),
        (["done"], "status"),
    ],
)
def test_patch_one_item_refuses_bad_input_naming_the_field(editor, report, body, field):
    response = editor.patch(
        item_url(report["action_items"][1]["id"]), body, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400, response.content
    assert field in str(response.json())


def test_patch_one_item_of_an_unknown_item_or_report_is_404(editor, report):
    assert editor.patch(item_url(999_999), {"status": "done"}, format="json").status_code == 404
    missing = "/api/v1/incidents/alpen/nothing/action-items/1/"
    assert editor.patch(missing, {"status": "done"}, format="json").status_code == 404


def test_patch_one_item_needs_an_editor_of_the_organisation(alpen, report, token_client, api):
    item = item_url(report["action_items"][1]["id"])
    viewer = token_client(member(alpen, "viewer", username="vera"), alpen)
    assert viewer.patch(item, {"status": "done"}, format="json").status_code == 403
    other = OrganisationFactory(slug="other")
    outsider = token_client(member(other, "admin", username="otto"), other)
    assert outsider.patch(item, {"status": "done"}, format="json").status_code == 403
    assert api.patch(item, {"status": "done"}, format="json").status_code in (401, 403)
    assert FailureReport.objects.get().revision == 1


# -- the report page's status control ------------------------------------------------------

PAGE = "/incidents/alpen/ceph-full/"


def page_client(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def status_form(client, item_id, status, revision):
    """The page's form as a browser sends it: with the CSRF token the page set."""
    page = client.get(PAGE)
    assert page.status_code == 200
    token = page.context["csrf_token"]
    return client.post(
        f"{PAGE}action-items/{item_id}/status/",
        {"status": status, "revision": revision, "csrfmiddlewaretoken": str(token)},
    )


def test_an_editor_sets_an_items_status_from_the_report_page(alpen, report):
    editor = page_client(member(alpen, "editor", username="eddie"))
    alert = report["action_items"][1]
    page = editor.get(PAGE).content.decode()
    assert f'action="{PAGE}action-items/{alert["id"]}/status/"' in page
    response = status_form(editor, alert["id"], "done", "1")
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}#page-action-item-{alert['id']}"
    assert ActionItem.objects.get(pk=alert["id"]).closed_at is not None
    revision = Revision.objects.get(number=2)
    assert revision.via == "session" and revision.author.username == "eddie"
    shown = editor.get(PAGE).content.decode()
    assert "is now done (revision 2)" in shown


def test_a_stale_page_changes_nothing(alpen, report):
    editor = page_client(member(alpen, "editor", username="eddie"))
    alert = report["action_items"][1]
    assert status_form(editor, alert["id"], "done", "1").status_code == 302
    response = status_form(editor, alert["id"], "wont_do", "1")
    assert response.status_code == 302
    assert ActionItem.objects.get(pk=alert["id"]).status == "done"
    assert "now at revision 2" in editor.get(PAGE).content.decode()


def test_the_form_needs_its_csrf_token(alpen, report):
    editor = page_client(member(alpen, "editor", username="eddie"))
    item = report["action_items"][1]["id"]
    response = editor.post(
        f"{PAGE}action-items/{item}/status/", {"status": "done", "revision": "1"}
    )
    assert response.status_code == 403
    assert FailureReport.objects.get().revision == 1


def test_viewers_and_outsiders_get_no_control_and_a_forged_post_is_refused(alpen, report):
    item = report["action_items"][1]["id"]
    viewer = page_client(member(alpen, "viewer", username="vera"))
    assert "action-status-form" not in viewer.get(PAGE).content.decode()
    assert status_form(viewer, item, "done", "1").status_code == 403
    FailureReport.objects.update(visibility="public", status="published")
    outsider = page_client(member(OrganisationFactory(slug="other"), "admin", username="otto"))
    assert "action-status-form" not in outsider.get(PAGE).content.decode()
    assert status_form(outsider, item, "done", "1").status_code == 403
    FailureReport.objects.update(visibility="organisation")
    forged = outsider.post(f"{PAGE}action-items/{item}/status/", {"status": "done"})
    assert forged.status_code in (403, 404)
    assert FailureReport.objects.get().revision == 1


def test_the_write_service_matches_ids_as_forms_send_them(alpen, report):
    from opsknowledge import services

    alert = report["action_items"][1]
    document = FailureReport.objects.get()
    rows = [{"id": str(alert["id"]), "title": alert["title"], "status": "done"}]
    document, changed = services.document_update(
        document=document,
        data={"action_items": rows},
        actor=services.Actor.operator(),
        if_match={1},
    )
    assert changed
    (item,) = ActionItem.objects.all()
    assert (
        item.pk == alert["id"] and item.closed_at and item.original_due.isoformat() == "2024-03-31"
    )
