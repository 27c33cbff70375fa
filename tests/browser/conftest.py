"""The browser-test harness: Playwright for Python driving the system's Chromium against
pytest-django's live server.

- No browser download: Playwright launches `chromium` from PATH (Debian's package), with
  --no-sandbox since CI runs as root. Without it (or without Playwright, or without axe-core
  under var/npm) every browser test is skipped with one line; OKB_REQUIRE_BROWSER=1, which
  CI sets, turns that skip into a failure.
- Every page a test opens is watched: a `securitypolicyviolation` event, an uncaught
  exception or a console error fails the test (a 404 the test asked for excepted).
- Screenshots go to var/artifacts/screenshots/<page>-<width>-<scheme>.png (git-ignored).
"""

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "artifacts" / "screenshots"
AXE = ROOT / "var" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
AXE_INSTALL = "npm install --prefix var/npm axe-core@4.14.1"
WIDTHS = (375, 1280)
SCHEMES = ("light", "dark")

# Registered before any page loads, in every frame: reports each CSP violation to Python.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
});
"""


def missing_requirement() -> str | None:
    """What this machine lacks for browser tests, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (make install)"
    if not shutil.which("chromium"):
        return "no chromium on PATH (apt-get install chromium fonts-dejavu-core)"
    if not AXE.is_file():
        return f"no axe-core under var/npm ({AXE_INSTALL})"
    return None


SKIP_PREFIX = "Browser tests skipped: "


def required() -> bool:
    return os.environ.get("OKB_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session", autouse=True)
def browser_requirements():
    """First of every browser test's fixtures: skipped (no database set up for nothing)
    when this machine cannot run them, failed instead when they are required."""
    missing = missing_requirement()
    if missing and required():
        pytest.fail(f"Browser tests required (OKB_REQUIRE_BROWSER=1), but {missing}.")
    if missing:
        pytest.skip(f"{SKIP_PREFIX}{missing}.")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # One line for all of them in the summary: the harness is the place, not each test.
    if report.skipped and isinstance(report.longrepr, tuple):
        _, _, reason = report.longrepr
        if SKIP_PREFIX in reason:
            report.longrepr = (__file__, None, reason)
    return report


@pytest.fixture(scope="session")
def browser(browser_requirements):
    # Playwright's sync API keeps an event loop running in this thread; Django refuses
    # database access from a thread with a running loop unless told it is safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A browser tab whose every page is checked for CSP violations and console errors."""

    page: object
    base_url: str
    width: int
    scheme: str
    problems: list = field(default_factory=list)
    allowed_statuses: dict = field(default_factory=dict)  # url -> status the test expects

    def goto(self, path: str, status: int = 200):
        url = self.base_url + path
        self.allowed_statuses[url] = status
        response = self.page.goto(url)
        assert response.status == status, f"{path}: {response.status}, expected {status}"
        return response

    def on_console(self, message):
        if message.type != "error":
            return
        url = message.location.get("url", "")
        expected = self.allowed_statuses.get(url)
        if expected and f"status of {expected}" in message.text:
            return  # the failed load of a page the test expected to fail
        self.problems.append(f"console error: {message.text} ({url})")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{self.width}-{self.scheme}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def scroll_width(self) -> int:
        return self.page.evaluate("document.documentElement.scrollWidth")

    def axe(self) -> list:
        """axe-core's violations on the current page. The library is evaluated through the
        DevTools protocol, which the page's CSP does not govern: the site's policy stays
        as strict as it is."""
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        return [
            {
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "nodes": [node["target"] for node in violation["nodes"]][:5],
            }
            for violation in result["violations"]
        ]

    def check(self):
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def open_tab(browser, live_server):
    """open_tab(width=1280, scheme="light", clipboard=False) -> Watched; checked at the end
    of the test for CSP violations and console errors."""
    tabs = []

    def open_(width=1280, scheme="light", clipboard=False, init_script=None):
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            color_scheme=scheme,
            permissions=["clipboard-read", "clipboard-write"] if clipboard else [],
        )
        problems = []
        context.expose_binding(
            "__cspViolation",
            lambda source, violation: problems.append(
                f"CSP violation on {source['frame'].url}: {json.dumps(violation)}"
            ),
        )
        context.add_init_script(WATCH_CSP)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.set_default_timeout(15_000)
        tab = Watched(
            page=page, base_url=live_server.url, width=width, scheme=scheme, problems=problems
        )
        page.on("console", tab.on_console)
        page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
        tabs.append((context, tab))
        return tab

    yield open_
    for context, _tab in tabs:
        context.close()
    for _context, tab in tabs:
        tab.check()
