"""Writing in a real browser: an editor creates a runbook with a code block (previewed by
the server's renderer), edits it into revision 2 and sees the diff; two tabs editing the
same runbook end on the conflict page with the text intact; a failure report saying "human
error" is published only with the acknowledgement; a viewer sees no edit control and a
forged POST is refused; a runbook is created with the keyboard alone. Screenshots of the
forms and the conflict page at 375 and 1280 px, each scanned by axe-core."""

import json
import re

import pytest

from incidents.models import FailureReport
from opsknowledge.models import Component, Revision
from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Runbook

from .conftest import ROOT, WIDTHS
from .test_shell import PASSWORD, focused, tab_until

SERIOUS = {"serious", "critical"}
AXE_REPORTS = ROOT / "var" / "artifacts" / "axe"
COMMAND = "systemctl restart ceph-osd@7.service"


@pytest.fixture
def writers(transactional_db):
    north = OrganisationFactory(slug="north", name="North Cloud")
    Component.objects.create(slug="ceph", name="Ceph")
    member(north, "editor", username="edna")
    member(north, "viewer", username="vic")
    return north


def sign_in(tab, username, next_path="/"):
    page = tab.page
    tab.goto(f"/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


def assert_accessible(tab, name):
    found = tab.axe()
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{name}-{tab.width}.json").write_text(json.dumps(found, indent=2))
    serious = [f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in found]
    serious = [line for line, v in zip(serious, found, strict=True) if v["impact"] in SERIOUS]
    assert not serious, "\n".join(serious)
    assert tab.scroll_width() <= tab.width, f"{name} scrolls sideways at {tab.width} px"


def create_runbook(page, title, body):
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body (Markdown)").fill(body)


def test_create_preview_save_edit_and_diff(writers, open_tab):
    tab = open_tab()
    page = tab.page
    sign_in(tab, "edna", "/runbooks/new/")
    create_runbook(page, "Restart a stuck OSD", f"## Steps\n\n```sh\n{COMMAND}\n```\n")
    # The slug follows the title; the live preview is the server's rendering.
    assert page.get_by_label("Slug").input_value() == "restart-a-stuck-osd"
    preview = page.locator("[data-preview-for=id_body] .markdown pre")
    preview.wait_for()
    assert COMMAND in preview.inner_text()
    page.get_by_label("Components").fill("ceph")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/runbooks/north/restart-a-stuck-osd/")
    assert "Saved as revision 1." in page.locator(".messages").inner_text()
    assert "(revision 1)" in page.locator(".facts").inner_text()
    assert COMMAND in page.locator(".markdown pre").inner_text()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url("**/edit/")
    page.get_by_label("Body (Markdown)").fill(
        f"## Steps\n\n```sh\n{COMMAND}\n```\n\nThen check `ceph -s`.\n"
    )
    page.get_by_label("What did you change? (optional)").fill("Say how to check")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/runbooks/north/restart-a-stuck-osd/")
    assert "Saved as revision 2." in page.locator(".messages").inner_text()
    history = page.locator("section.revisions")
    assert "Say how to check" in history.inner_text()
    assert "edna" in history.inner_text() and "session" in history.inner_text().lower()
    history.get_by_role("button", name="Compare the selected revisions").click()
    page.wait_for_url(re.compile(r"/diff/\?"))
    assert "Then check `ceph -s`." in page.locator("table.diff ins").all_inner_texts()
    runbook = Runbook.objects.get(slug="restart-a-stuck-osd")
    assert runbook.revision == 2
    vias = Revision.objects.filter(object_id=runbook.pk).values_list("via", "author__username")
    assert set(vias) == {(Revision.Via.SESSION, "edna")}


def test_two_tabs_edit_the_same_runbook_and_the_second_gets_the_conflict_page(writers, open_tab):
    from opsknowledge import services

    services.document_create(
        model=Runbook,
        organisation=writers,
        slug="disk-full",
        data={"title": "Disk full", "body": "1. look\n"},
        actor=services.Actor.operator(),
    )
    first, second = open_tab(), open_tab()
    for tab in (first, second):
        sign_in(tab, "edna", "/runbooks/north/disk-full/edit/")
    first.page.get_by_label("Body (Markdown)").fill("1. look\n2. first tab's step\n")
    first.page.get_by_role("button", name="Save", exact=True).click()
    first.page.wait_for_url("**/runbooks/north/disk-full/")
    mine = "1. look\n2. second tab's step, typed with care\n"
    second.page.get_by_label("Body (Markdown)").fill(mine)
    second.allowed_statuses[second.base_url + "/runbooks/north/disk-full/edit/"] = 409
    second.page.get_by_role("button", name="Save", exact=True).click()
    page = second.page
    page.wait_for_selector("section.conflict")
    assert "while you were editing" in page.locator("h1").inner_text()
    assert "first tab's step" in page.locator("section.conflict table.diff ins").inner_text()
    assert page.get_by_label("Body (Markdown)").input_value() == mine
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        second.width = width
        second.shot("editing-conflict")
        assert_accessible(second, "editing-conflict")
    page.get_by_role("button", name="Save mine over current (revision 2)").click()
    page.wait_for_url("**/runbooks/north/disk-full/")
    runbook = Runbook.objects.get(slug="disk-full")
    assert (runbook.revision, runbook.body) == (3, mine)


def test_a_report_saying_human_error_is_published_only_with_the_acknowledgement(writers, open_tab):
    tab = open_tab()
    page = tab.page
    sign_in(tab, "edna", "/incidents/new/")
    page.get_by_label("Title").fill("Storage outage")
    page.get_by_label("Summary").fill("Volumes hung for an hour.")
    page.get_by_label("Impact (Markdown)").fill("Volumes hung for an hour.")
    page.get_by_label("Root cause (Markdown)").fill("Human error: the pool filled up.")
    page.locator("#id_timeline-0-at").fill("2026-03-02T10:00")
    page.locator("#id_timeline-0-text").fill("The pool filled up")
    page.locator("#id_action_items-0-title").fill("Alert at 80 % full")
    page.locator("#id_status").select_option("published")
    page.get_by_label("Visible to").select_option("public")
    tab.allowed_statuses[tab.base_url + "/incidents/new/"] = 400
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector(".error-summary")
    assert page.locator("mark", has_text="Human error").count() >= 1
    assert not FailureReport.objects.exists()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        tab.width = width
        tab.shot("editing-report-warnings")
        assert_accessible(tab, "editing-report-warnings")
    page.get_by_label("I have read the warnings and publish anyway").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/incidents/north/storage-outage/")
    report = FailureReport.objects.get()
    assert report.status == "published"
    assert report.timeline.get().text == "The pool filled up"


def test_a_viewer_sees_no_edit_control_and_a_forged_post_is_refused(writers, open_tab):
    from opsknowledge import services

    services.document_create(
        model=Runbook,
        organisation=writers,
        slug="disk-full",
        data={"title": "Disk full", "body": "1. look\n", "status": "published"},
        actor=services.Actor.operator(),
    )
    tab = open_tab()
    page = tab.page
    sign_in(tab, "vic", "/runbooks/north/disk-full/")
    assert page.get_by_role("link", name="Edit", exact=True).count() == 0
    assert page.get_by_role("button", name="Archive").count() == 0
    # A forged form post with the viewer's own session and CSRF token.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        tab.base_url + "/runbooks/north/disk-full/edit/",
        form={"csrfmiddlewaretoken": token, "title": "Forged", "base_revision": "1"},
        headers={"Referer": tab.base_url + "/runbooks/north/disk-full/"},
    )
    assert response.status == 403
    tab.allowed_statuses[tab.base_url + "/runbooks/north/disk-full/edit/"] = 403
    assert Runbook.objects.get(slug="disk-full").title == "Disk full"


def test_keyboard_only_creation_of_a_runbook(writers, open_tab):
    for width in WIDTHS:
        tab = open_tab(width=width)
        sign_in(tab, "edna", "/runbooks/new/")
        tab.shot("editing-runbook-new")
        assert_accessible(tab, "editing-runbook-new")
    page = tab.page
    tab_until(page, lambda element: element["id"] == "id_title")
    page.keyboard.type("Keyboard runbook")
    assert focused(page)["id"] == "id_title"
    tab_until(page, lambda element: element["id"] == "id_body")
    page.keyboard.type("Steps typed with the keyboard.")
    tab_until(page, lambda element: element["text"] == "Save", limit=80)
    page.keyboard.press("Enter")
    page.wait_for_url("**/runbooks/north/keyboard-runbook/")
    assert page.locator("h1").inner_text() == "Keyboard runbook"


def test_the_report_form_at_both_widths(writers, open_tab):
    for width in WIDTHS:
        tab = open_tab(width=width)
        sign_in(tab, "edna", "/incidents/new/")
        tab.shot("editing-report-new")
        assert_accessible(tab, "editing-report-new")
