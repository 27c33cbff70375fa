"""The site in a real browser: finding and copying a command, signing in and out, the
keyboard alone, 375 px, an axe-core scan of the main pages in both colour schemes and
widths, and the pages that are not ours (API docs, admin login) under our CSP."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from incidents.models import FailureReport
from opsknowledge import services
from opsknowledge.models import Organisation
from opsknowledge.tests.factories import member
from runbooks.models import Runbook

from .conftest import ROOT, SCHEMES, WIDTHS

PASSWORD = "correct horse battery staple"  # the factories' password
MEMBERS_ONLY = "/runbooks/alpenwolke/members-only-restart/"
COMMAND = "systemctl restart ceph-osd@12.service"


@pytest.fixture
def content(transactional_db):
    """The demo content, a viewer of alpenwolke with a password, and a runbook only
    alpenwolke's members may read."""
    call_command("load_demo", stderr=io.StringIO())
    alpenwolke = Organisation.objects.get(slug="alpenwolke")
    member(alpenwolke, "viewer", username="vera")
    services.document_create(
        model=Runbook,
        organisation=alpenwolke,
        slug="members-only-restart",
        data={
            "title": "Restart a stuck OSD (members only)",
            "body": f"## Steps\n\n```sh\n{COMMAND}\n```\n",
            "visibility": "organisation",
            "status": "published",
        },
        actor=services.Actor.operator(),
    )


def first_public(model):
    document = (
        model.objects.filter(visibility="public", status="published")
        .select_related("organisation")
        .order_by("organisation__slug", "slug")
        .first()
    )
    assert document, f"the demo content has no public {model._meta.verbose_name}"
    return document.get_absolute_url()


def test_search_open_a_runbook_and_copy_its_command(content, open_tab):
    tab = open_tab(clipboard=True)
    tab.goto("/")
    page = tab.page
    assert page.evaluate("document.activeElement.id") == "site-search-q"  # focused on home
    page.keyboard.type("nearfull")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=nearfull")
    page.locator("main a[href='/runbooks/scs/ceph-osd-nearfull/']").first.click()
    page.wait_for_url("**/runbooks/scs/ceph-osd-nearfull/")
    block = page.locator(".markdown .code-block").first
    expected = block.locator("pre").inner_text().rstrip("\n")
    block.locator("button.copy-button").click()
    from playwright.sync_api import expect

    # expect() polls through the selector engine: a string predicate would be eval, which
    # the site's CSP refuses (and reports as a violation) once polling is needed.
    expect(page.locator("#live-region")).to_have_text("Copied")
    assert block.locator("button.copy-button").inner_text() == "Copied"
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_the_facet_in_force_looks_chosen(content, open_tab):
    tab = open_tab()
    tab.goto("/search/?q=ceph&component=ceph")
    page = tab.page
    chosen = page.locator(".facets a[aria-current='true']")
    assert chosen.count() == 1 and chosen.inner_text() == "ceph"
    other = page.locator(".facets a:not([aria-current])").first

    def look(link):
        return link.evaluate(
            "a => [getComputedStyle(a).fontWeight, getComputedStyle(a).textDecorationLine]"
        )

    assert look(chosen) == ["700", "none"]
    assert look(other) != look(chosen)


def test_copy_falls_back_where_there_is_no_clipboard_api(content, open_tab):
    # As on plain HTTP to a non-local address: no navigator.clipboard. The test keeps a
    # reader of its own to see what landed on the clipboard.
    hide_clipboard = """
      window.__readClipboard = navigator.clipboard.readText.bind(navigator.clipboard);
      Object.defineProperty(Navigator.prototype, "clipboard", {get: () => undefined});
    """
    tab = open_tab(clipboard=True, init_script=hide_clipboard)
    tab.goto("/runbooks/scs/ceph-osd-nearfull/")
    page = tab.page
    assert page.evaluate("navigator.clipboard === undefined")
    block = page.locator(".markdown .code-block").first
    expected = block.locator("pre").inner_text().rstrip("\n")
    block.locator("button.copy-button").click()
    from playwright.sync_api import expect

    # expect() polls through the selector engine: a string predicate would be eval, which
    # the site's CSP refuses (and reports as a violation) once polling is needed.
    expect(page.locator("#live-region")).to_have_text("Copied")
    assert page.evaluate("window.__readClipboard()") == expected


def test_a_viewer_signs_in_reads_a_members_only_runbook_and_signs_out(content, open_tab):
    tab = open_tab()
    page = tab.page
    tab.goto(MEMBERS_ONLY, status=404)
    assert "signing in" in page.locator(".hint").inner_text()
    page.locator(".hint a", has_text="signing in").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/runbooks/"))
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{MEMBERS_ONLY}")
    assert page.locator("h1").inner_text() == "Restart a stuck OSD (members only)"
    assert COMMAND in page.locator(".markdown pre").inner_text()
    page.locator(".account-menu summary").click()
    menu = page.locator(".account-panel")
    assert "Signed in as vera in organisation Alpenwolke" in " ".join(menu.inner_text().split())
    menu.get_by_role("button", name="Sign out").click()
    page.wait_for_url(tab.base_url + "/")
    assert "You are signed out." in page.locator(".messages").inner_text()
    tab.goto(MEMBERS_ONLY, status=404)
    assert page.locator("h1").inner_text() == "Page not found"


def focused(page) -> dict:
    return page.evaluate(
        "({tag: document.activeElement.tagName, id: document.activeElement.id,"
        " href: document.activeElement.getAttribute('href') || '',"
        " text: document.activeElement.textContent.trim()})"
    )


def tab_until(page, predicate, limit=60) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if predicate(element):
            return element
    raise AssertionError(f"not reached with {limit} presses of Tab; last: {element}")


def test_keyboard_only_search_box_results_and_a_result(content, open_tab):
    tab = open_tab()
    page = tab.page
    tab.goto("/runbooks/scs/ceph-osd-nearfull/")
    # The first Tab reaches the skip link, which moves the focus to the content.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    # "/" jumps to the search box from anywhere that is not a text field.
    page.keyboard.press("/")
    assert focused(page)["id"] == "site-search-q"
    page.keyboard.type("ceph")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=ceph")
    result = tab_until(page, lambda element: element["href"].startswith("/runbooks/scs/"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{result['href']}")
    assert page.locator("h1").inner_text()


def test_the_api_docs_and_the_admin_login_open_without_csp_violations(content, open_tab):
    tab = open_tab()
    tab.goto("/api/docs/")
    tab.page.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI rendered the schema
    tab.shot("api-docs")
    tab.goto("/admin/login/")
    assert tab.page.get_by_label("Username").is_visible()
    tab.shot("admin-login")


# -- every main page: no horizontal scroll at 375 px, axe in both schemes and widths ---------


def briefing_url():
    try:
        return reverse("upgrade-briefing") + "?from=r2&to=r4"
    except NoReverseMatch:
        return None


PAGES = {
    "home": lambda: "/",
    "search": lambda: "/search/?q=ceph",
    "runbook": lambda: first_public(Runbook),
    "failure-report": lambda: first_public(FailureReport),
    "briefing": briefing_url,
    "login": lambda: "/accounts/login/",
    # Beyond the list: the pages a reader browses on the way.
    "runbook-list": lambda: "/runbooks/",
    "component": lambda: "/components/ceph/",
    "release": lambda: "/releases/r4/",
}
SERIOUS = {"serious", "critical"}
AXE_REPORTS = ROOT / "var" / "artifacts" / "axe"


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible_and_fits_375_px_in_both_schemes(content, open_tab, name):
    path = PAGES[name]()
    if path is None:
        pytest.skip(f"no {name} page in this build")
    report = {}
    for scheme in SCHEMES:
        for width in WIDTHS:
            tab = open_tab(width=width, scheme=scheme)
            tab.goto(path)
            tab.shot(name)
            assert tab.scroll_width() <= width, f"{name} scrolls sideways at {width} px"
            report[f"{width}-{scheme}"] = tab.axe()
            tab.page.context.close()
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{name}.json").write_text(json.dumps({"path": path, **report}, indent=2))
    serious = {}
    for key, found in report.items():
        worst = [f"{v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in found]
        worst = [line for line, v in zip(worst, found, strict=True) if v["impact"] in SERIOUS]
        if worst:
            serious[key] = worst
    assert not serious, json.dumps(serious, indent=2)


def test_every_control_is_reachable_at_375_px(content, open_tab):
    """At 375 px the header wraps instead of hiding: search, navigation and sign-in are
    all on screen and reachable with Tab."""
    tab = open_tab(width=375)
    tab.goto("/search/?q=ceph")
    page = tab.page
    for selector in ("#site-search-q", ".site-search button", ".site-nav a", ".sign-in"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
    sign_in = tab_until(page, lambda element: element["text"] == "Sign in")
    assert sign_in["href"].startswith("/accounts/login/")
    assert re.match(r"^/accounts/login/\?next=", sign_in["href"])


# -- the pages of a runbook, a failure report and the upgrade briefing --------------------


def test_a_runbook_revision_diff_from_its_history(content, open_tab):
    runbook = Runbook.objects.get(organisation__slug="scs", slug="ceph-osd-nearfull")
    services.document_update(
        document=runbook,
        data={"body": runbook.body + "\n## Afterwards\n\nFile a capacity ticket.\n"},
        actor=services.Actor.operator(),
        if_match={runbook.revision},
        message="Say what to do afterwards",
    )
    tab = open_tab()
    page = tab.page
    tab.goto(runbook.get_absolute_url())
    history = page.locator("section.revisions")
    assert history.locator("tbody tr").count() == 2
    assert "Say what to do afterwards" in history.inner_text()
    # The newest two are preselected: revision 1 → 2.
    history.get_by_role("button", name="Compare the selected revisions").click()
    page.wait_for_url(re.compile(r"/diff/\?"))
    assert sorted(page.url.split("?")[1].split("&")) == ["from=1", "to=2"]
    assert "revision 1 → 2" in page.locator("h1").inner_text()
    added = page.locator("table.diff ins").all_inner_texts()
    assert "File a capacity ticket." in added
    tab.shot("runbook-diff")


def test_a_failure_report_shows_its_timeline_and_action_items(content, open_tab):
    tab = open_tab()
    page = tab.page
    tab.goto("/incidents/northbridge/rabbitmq-partition-after-r3-upgrade/")
    facts = {
        fact.locator("dt").text_content(): " ".join(fact.locator("dd").text_content().split())
        for fact in page.locator("dl.facts > div").all()
    }
    assert facts["Started"] == "2023-10-05 14:02 UTC"
    assert facts["Resolved"] == "2023-10-05 15:40 UTC"
    assert (facts["Time to detect"], facts["Time to resolve"]) == ("19 min", "1 h 38 min")
    entries = page.locator(".timeline .timeline-entry")
    assert entries.count() == 8
    first = " ".join(entries.first.inner_text().split())
    assert first.startswith("2023-10-05 11:50 UTC R2 to R3 upgrade of the control plane")
    rows = page.locator("section.action-items tbody tr")
    assert rows.count() == 4
    assert "Page on RabbitMQClusterPartition" in rows.nth(1).inner_text()
    open_items = page.locator("section.action-items tr.overdue")
    assert open_items.count() == 2  # open or in progress, and due long ago
    assert "overdue" in open_items.first.inner_text()
    linked = page.locator("section.linked-runbooks li")
    assert linked.count() == 2
    tab.shot("failure-report-timeline")


def test_the_upgrade_briefing_from_r2_to_r4(content, open_tab):
    tab = open_tab()
    page = tab.page
    tab.goto("/upgrade/")
    page.get_by_label("From release").select_option("r2")
    page.get_by_label("To release").select_option("r4")
    page.get_by_role("button", name="Show the briefing").click()
    page.wait_for_url(re.compile(r"/upgrade/\?from=r2&to=r4"))
    steps = page.locator("section.briefing-step h2").all_inner_texts()
    assert [" ".join(step.split()) for step in steps] == [
        "Step 1: Release 2 → Release 3",
        "Step 2: Release 3 → Release 4",
    ]
    first_step = page.locator("section.briefing-step").first
    assert "Upgrading an SCS deployment from R2 to R3" in first_step.inner_text()
    assert first_step.locator(".release-note").count() > 0
    for name in ("Markdown", "JSON"):
        href = page.get_by_role("link", name=name, exact=True).get_attribute("href")
        response = page.request.get(tab.base_url + href)
        assert response.status == 200, (name, href)
    tab.shot("briefing-r2-r4")
