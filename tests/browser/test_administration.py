"""Follow-up and organisation administration in a real browser: an action item marked
done from the failure report page; an API token created on the tokens page (its key shown
once) that works against /api/v1/me/ over real HTTP and stops working after it is revoked;
the administration pages at 375 and 1280 px, scanned with axe-core."""

import json
import re
import urllib.error
import urllib.request

import pytest

from incidents.models import ActionItem, FailureReport
from opsknowledge import services
from opsknowledge.models import APIToken, Revision
from opsknowledge.tests.factories import OrganisationFactory, member

from .conftest import ROOT, SCHEMES, WIDTHS

PASSWORD = "correct horse battery staple"  # the factories' password
REPORT = "/incidents/alpen/ceph-full/"
ADMIN = "/organisations/alpen/admin/"


@pytest.fixture
def alpen(transactional_db):
    """Organisation alpen with an admin (ada), an editor (eddie), a ci-bot editor and a
    failure report with two open action items."""
    alpen = OrganisationFactory(slug="alpen", name="Alpen Cloud")
    member(alpen, "admin", username="ada")
    member(alpen, "editor", username="eddie")
    member(alpen, "editor", username="ci-bot")
    services.document_create(
        model=FailureReport,
        organisation=alpen,
        slug="ceph-full",
        data={
            "title": "Ceph full during the upgrade",
            "summary": "Block storage stopped accepting writes.",
            "action_items": [
                {"title": "Alert at 75 % raw usage", "owner": "monitoring team"},
                {"title": "Check per-OSD usage before upgrades", "due": "2030-03-31"},
            ],
        },
        actor=services.Actor.operator(),
    )
    return alpen


def sign_in(tab, username):
    page = tab.page
    tab.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(tab.base_url + "/")


def me(base_url, key) -> tuple[int, dict]:
    """GET /api/v1/me/ over real HTTP with `key`."""
    request = urllib.request.Request(
        base_url + "/api/v1/me/", headers={"Authorization": f"Token {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_an_editor_marks_an_action_item_done_from_the_report_page(alpen, open_tab):
    tab = open_tab()
    sign_in(tab, "eddie")
    tab.goto(REPORT)
    page = tab.page
    item = ActionItem.objects.get(title="Alert at 75 % raw usage")
    row = page.locator(f"#page-action-item-{item.pk}")
    assert row.locator(".action-status").inner_text() == "Open"
    row.get_by_label("New status of “Alert at 75 % raw usage”").select_option("done")
    row.get_by_role("button", name="Set status of “Alert at 75 % raw usage”").click()
    page.wait_for_url(re.compile(rf"{REPORT}#page-action-item-{item.pk}$"))
    assert page.locator(f"#page-action-item-{item.pk} .action-status").inner_text() == "Done"
    assert "is now done (revision 2)" in page.locator(".messages").inner_text()
    item.refresh_from_db()
    assert item.status == "done" and item.closed_at is not None
    revision = Revision.objects.get(number=2, object_id=item.report_id)
    assert revision.via == "session" and revision.author.username == "eddie"
    tab.shot("action-item-done")


def test_a_token_created_on_the_tokens_page_works_until_revoked(alpen, open_tab):
    tab = open_tab()
    sign_in(tab, "ada")
    tab.goto(f"{ADMIN}tokens/")
    page = tab.page
    page.get_by_label("For member").select_option(label="ci-bot (editor)")
    page.get_by_label("Name").fill("CI pipeline")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("[data-secret]").inner_text().strip()
    assert key.startswith("okb_") or len(key) > 20
    status, body = me(tab.base_url, key)
    assert status == 200 and body["username"] == "ci-bot"
    # Shown once: the list names the token by its start, never the key.
    tab.goto(f"{ADMIN}tokens/")
    assert key not in page.content()
    token = APIToken.objects.get(description="CI pipeline")
    assert token.key_start in page.locator(".admin-table").inner_text()
    page.get_by_role("button", name=f"Revoke token {token.key_start}").click()
    page.wait_for_url(tab.base_url + f"{ADMIN}tokens/")
    assert "is revoked" in page.locator(".messages").inner_text()
    status, body = me(tab.base_url, key)
    assert status == 401, body


ADMIN_PAGES = {
    "admin-members": ADMIN,
    "admin-tokens": f"{ADMIN}tokens/",
    "admin-import": f"{ADMIN}import/",
}
SERIOUS = {"serious", "critical"}
AXE_REPORTS = ROOT / "var" / "artifacts" / "axe"


@pytest.mark.parametrize("name", list(ADMIN_PAGES))
def test_the_administration_pages_are_accessible_and_fit_375_px(alpen, open_tab, name):
    report = {}
    for scheme in SCHEMES:
        for width in WIDTHS:
            tab = open_tab(width=width, scheme=scheme)
            sign_in(tab, "ada")
            tab.goto(ADMIN_PAGES[name])
            tab.shot(name)
            assert tab.scroll_width() <= width, f"{name} scrolls sideways at {width} px"
            report[f"{width}-{scheme}"] = tab.axe()
            tab.page.context.close()
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    serious = {
        key: [f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in found
              if v["impact"] in SERIOUS]
        for key, found in report.items()
    }  # fmt: skip
    assert not any(serious.values()), json.dumps(serious, indent=2)


def test_the_report_page_with_its_status_controls_is_accessible(alpen, open_tab):
    for width in WIDTHS:
        tab = open_tab(width=width)
        sign_in(tab, "eddie")
        tab.goto(REPORT)
        tab.shot("failure-report-editor")
        assert tab.scroll_width() <= width
        serious = [v for v in tab.axe() if v["impact"] in SERIOUS]
        assert not serious, json.dumps(serious, indent=2)
        tab.page.context.close()
