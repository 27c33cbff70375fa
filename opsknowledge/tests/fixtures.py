"""Fixtures shared by every test module (loaded as a pytest plugin from pyproject.toml, before
Django is set up: project imports stay inside the fixtures)."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from opsknowledge.tests import shared_data


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client():
    """Build an API client that authenticates with a fresh token for `user` in `organisation`."""

    from rest_framework.test import APIClient

    from opsknowledge.models import APIToken

    def build(user, organisation):
        _, key = APIToken.issue(user=user, organisation=organisation)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return build


@pytest.fixture
def demo(db):
    call_command("load_demo", stderr=io.StringIO())


@pytest.fixture
def catalogue(db):
    """The demo catalogue (organisations, SCS components, releases r0-r7), no documents."""
    call_command("load_demo", "--catalogue-only", stderr=io.StringIO())


# -- real data (../shared/data): skipped or, with OKB_REQUIRE_SHARED_DATA=1, failed ---------


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{shared_data.MISSING_MARKER}(what, target): a data-file parameter, its folder missing",
    )


def pytest_runtest_setup(item):
    shared_data.check_item(item)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # A skip for missing data reports the data helper as its place rather than each test's
    # line, so `-ra` folds them all into one line.
    if report.skipped and isinstance(report.longrepr, tuple):
        _, _, reason = report.longrepr
        if shared_data.is_our_skip(reason):
            report.longrepr = (shared_data.__file__, None, reason)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    yield
    # Printed after pytest's short summary, as the last line before the counts. Skips
    # already have their one folded line there; failures are listed one by one, so they get
    # the explanation here.
    if shared_data.missing and (shared_data.required() or "s" not in terminalreporter.reportchars):
        for gone, what in shared_data.missing.items():
            terminalreporter.write_line(
                shared_data.explain(Path(gone), what), yellow=True, bold=True
            )
