"""The transparency page in a real browser: its SVG charts render under the site's CSP
(no script, no inline style), pass axe-core and fit 375 px."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import StatusPageIncident
from opsknowledge.tests.factories import OrganisationFactory

from .conftest import SCHEMES, WIDTHS


@pytest.fixture
def incidents(transactional_db):
    organisation = OrganisationFactory(slug="acme", name="Acme")
    now = timezone.now()
    for n in range(12):
        resolved = now - timedelta(days=7 * n + 1)
        StatusPageIncident.objects.create(
            organisation=organisation, source="acme-page", incident_id=f"i{n}",
            title=f"Incident {n}", impact="major" if n % 3 else "minor",
            severity="sev2" if n % 3 else "sev3", resolved_at=resolved,
            started_at=resolved - timedelta(minutes=20 * (n + 1)),
            first_update_at=resolved - timedelta(minutes=10 * (n + 1)),
        )  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_transparency_page_draws_its_charts_accessibly(incidents, open_tab, width, scheme):
    tab = open_tab(width=width, scheme=scheme)
    tab.goto("/organisations/acme/")
    tab.page.get_by_role("link", name="Transparency figures").click()
    tab.page.wait_for_url("**/organisations/acme/transparency/")
    charts = tab.page.locator("svg[role=img]")
    assert charts.count() == 2
    assert tab.page.locator("#month-chart-title").text_content().startswith("Status-page")
    assert tab.page.locator("svg[role=img] rect").count() >= 5 + 3
    box = charts.first.bounding_box()
    assert box["width"] > 100 and box["height"] > 50  # drawn, not collapsed
    assert "0 of 8" in tab.page.locator("#figure-postmortem_coverage_5d").text_content()
    assert tab.scroll_width() <= width
    assert tab.axe() == []
    tab.shot("transparency")
