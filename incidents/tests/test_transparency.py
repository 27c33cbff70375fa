"""Transparency figures (incidents.transparency) over HTTP: each figure honest about what it
counts, and computed from what the caller may read."""

from datetime import date, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from incidents import transparency
from incidents.models import FailureReport, StatusPageIncident
from incidents.views import month_bars
from opsknowledge import services
from opsknowledge.models import Revision
from opsknowledge.revisions import ANY
from opsknowledge.tests.factories import OrganisationFactory, member

pytestmark = pytest.mark.django_db

OPERATOR = services.Actor.operator()
URL = "/api/v1/organisations/acme/transparency/"
PUBLISHABLE = {"summary": "Disks filled.", "impact": "An hour down.", "root_cause": "No alert."}


def figure(data, key):
    return next(f for f in data["figures"] if f["key"] == key)


def incident(organisation, number, *, days_ago=20, severity="sev2", report=None, **extra):
    resolved = timezone.now() - timedelta(days=days_ago)
    return StatusPageIncident.objects.create(
        organisation=organisation,
        source="acme-page",
        incident_id=f"i{number}",
        title=f"Incident {number}",
        impact={"sev1": "critical", "sev2": "major", "sev3": "minor"}[severity],
        severity=severity,
        started_at=resolved - timedelta(hours=1),
        resolved_at=resolved,
        first_update_at=resolved - timedelta(minutes=50),
        report=report,
        **extra,
    )


def report(organisation, slug, *, status="published", visibility="public", **content):
    return services.document_create(
        model=FailureReport,
        organisation=organisation,
        slug=slug,
        data={"title": slug, "status": status, "visibility": visibility, **PUBLISHABLE, **content},
        actor=OPERATOR,
    )


def published_on(document, moment):
    """Date the report's publication (its revisions) to `moment`."""
    Revision.objects.filter(
        content_type=ContentType.objects.get_for_model(FailureReport), object_id=document.pk
    ).update(created=moment)


@pytest.fixture
def acme():
    return OrganisationFactory(slug="acme", name="Acme")


def test_an_incident_without_a_report_counts_against_coverage(api, acme):
    for number in range(6):
        published = report(acme, f"r{number}") if number < 2 else None
        record = incident(acme, number, report=published)
        if published:
            published_on(published, record.resolved_at + timedelta(days=number * 10 + 1))
    data = api.get(URL, {"days": 90}).json()
    five, thirty = figure(data, "postmortem_coverage_5d"), figure(data, "postmortem_coverage_30d")
    assert (five["numerator"], five["denominator"], five["value"]) == (1, 6, round(1 / 6, 4))
    assert (thirty["numerator"], thirty["denominator"]) == (2, 6)
    assert "counts against" in five["definition"]
    assert data["computed_for"].startswith("anonymous visitors")


def test_fewer_than_five_cases_say_not_enough_data(api, acme):
    for number in range(4):
        incident(acme, number)
    data = api.get(URL).json()
    coverage = figure(data, "postmortem_coverage_5d")
    assert coverage["denominator"] == 4 and coverage["value"] is None
    assert coverage["note"] == transparency.NOT_ENOUGH and coverage["insufficient_data"]
    resolve = figure(data, "incident_time_to_resolve")
    assert resolve["cases"] == 4 and resolve["median_seconds"] is None
    incident(acme, 4)
    resolve = figure(api.get(URL).json(), "incident_time_to_resolve")
    assert (resolve["median_seconds"], resolve["p90_seconds"], resolve["note"]) == (3600, 3600, "")


def test_downgrading_archiving_or_deleting_a_report_keeps_its_incident(api, acme):
    reports = [report(acme, f"r{n}", severity="sev2") for n in range(3)]
    for number in range(5):
        incident(acme, number, report=reports[number] if number < 3 else None)
    services.document_update(
        document=reports[0], data={"severity": "sev4"}, actor=OPERATOR, if_match=ANY
    )
    services.document_archive(document=reports[1], actor=OPERATOR, if_match=ANY)
    reports[2].delete()
    coverage = figure(api.get(URL).json(), "postmortem_coverage_30d")
    # The archived report was published in time: it still counts; the deleted one does not.
    assert (coverage["numerator"], coverage["denominator"]) == (2, 5)


def test_drafts_and_members_only_reports_count_only_for_members(api, acme):
    drafts = [report(acme, f"d{n}", status="draft") for n in range(2)]
    private = report(acme, "private", visibility="organisation")
    public = report(acme, "public")
    for number, document in enumerate([*drafts, private, public, None]):
        incident(acme, number, report=document)
    incident(acme, 9, visibility="organisation")  # a members-only source
    anonymous = figure(api.get(URL).json(), "postmortem_coverage_30d")
    assert (anonymous["numerator"], anonymous["denominator"]) == (1, 5)
    api.force_authenticate(member(acme, "viewer"))
    members = api.get(URL).json()
    assert members["computed_for"].startswith("members of Acme")
    coverage = figure(members, "postmortem_coverage_30d")
    assert (coverage["numerator"], coverage["denominator"]) == (2, 6)  # drafts never count


def test_published_reports_give_time_to_detect_and_resolve(api, acme):
    start = timezone.now() - timedelta(days=10)
    for n in range(5):
        report(
            acme,
            f"r{n}",
            started_at=start.isoformat(),
            detected_at=(start + timedelta(minutes=10 * (n + 1))).isoformat(),
            resolved_at=(start + timedelta(hours=n + 1)).isoformat(),
        )
    report(acme, "draft", status="draft", started_at=start.isoformat(),
           resolved_at=(start + timedelta(days=9)).isoformat())  # fmt: skip
    data = api.get(URL).json()
    detect, resolve = figure(data, "report_time_to_detect"), figure(data, "report_time_to_resolve")
    assert (detect["cases"], detect["median_seconds"], detect["p90_seconds"]) == (5, 1800, 3000)
    assert (resolve["cases"], resolve["median_seconds"], resolve["p90_seconds"]) == (
        5,
        3 * 3600,
        5 * 3600,
    )


def test_reuse_counts_other_organisations_only(api, acme):
    from runbooks.models import Runbook

    runbook = services.document_create(
        model=Runbook,
        organisation=acme,
        slug="disk-full",
        data={"title": "Disk full", "status": "published", "visibility": "public"},
        actor=OPERATOR,
    )
    for slug in ("beta", "gamma"):
        other = OrganisationFactory(slug=slug)
        report(other, f"{slug}-report", runbooks=[{"runbook": runbook, "relation": "used"}])
    report(acme, "own", runbooks=[{"runbook": runbook, "relation": "used"}])
    assert figure(api.get(URL).json(), "reuse")["value"] == 2


def test_periods_are_checked(api, acme):
    for query, field in (
        ({"days": "7"}, "days"),
        ({"from": "2020-01-01"}, "to"),
        ({"from": "2020-02-30", "to": "2020-03-01"}, "from"),
        ({"from": "2021-01-01", "to": "2020-01-01"}, "from"),
    ):
        response = api.get(URL, query)
        assert response.status_code == 400, query
        assert field in response.json()["error"]["fields"], query
    assert api.get("/api/v1/organisations/nobody/transparency/").status_code == 404
    ok = api.get(URL, {"from": "2010-01-01", "to": "2023-12-31"}).json()
    assert ok["period"] == {"from": "2010-01-01", "to": "2023-12-31"}
    assert transparency.read_period({"days": "90"}, today=date(2024, 3, 31)) == (
        date(2024, 1, 2),
        date(2024, 3, 31),
    )


def test_the_page_shows_charts_with_titles_and_the_same_figures_as_tables(client, acme):
    for number in range(6):
        incident(acme, number, severity="sev1" if number % 2 else "sev3")
    page = client.get("/organisations/acme/transparency/?days=90")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        html.count('<svg class="chart" role="img"') == 2
        and '<title id="month-chart-title">' in html
    )
    assert html.count('class="month-tick"') >= 1
    assert "Postmortem coverage within 5 days" in html and "0 of 3" in html
    assert "anonymous visitors" in html
    assert client.get("/organisations/acme/transparency/?days=7").status_code == 400
    assert b"/organisations/acme/transparency/" in client.get("/organisations/acme/").content


def items_report(organisation, slug, items):
    return report(organisation, slug, action_items=items)


def rewrite_items(document, items):
    document.refresh_from_db()
    document, _changed = services.document_update(
        document=document, data={"action_items": items}, actor=OPERATOR, if_match=ANY
    )
    return document


def closed_by_due_date(api):
    found = figure(api.get(URL).json(), "action_items_closed_by_due_date")
    return found["numerator"], found["denominator"]


def test_closed_by_due_date_cannot_be_improved_by_moving_or_deleting(api, acme):
    today = timezone.localdate()
    past, future = (today - timedelta(days=3)).isoformat(), (today + timedelta(days=9)).isoformat()
    in_time = [{"title": f"in time {n}", "due": future} for n in range(4)]
    document = items_report(acme, "r", [*in_time, {"title": "late", "due": past},
                                        {"title": "gone", "due": past}])  # fmt: skip
    assert closed_by_due_date(api) == (0, 2)  # two due dates passed, nothing closed
    ids = {item.title: item.pk for item in document.action_items.all()}
    closed = [{"id": ids[i["title"]], **i, "status": "done"} for i in in_time]
    # "late" gets a later due date, then is closed; "gone" is deleted.
    document = rewrite_items(
        document, [*closed, {"id": ids["late"], "title": "late", "due": future, "status": "done"}]
    )
    assert closed_by_due_date(api) == (4, 6)
    # A write that re-creates the items (no ids) cannot reset the first due date either.
    rewrite_items(document, [{**i, "status": "done"} for i in in_time] + [
        {"title": "late", "due": future, "status": "done"}
    ])  # fmt: skip
    assert closed_by_due_date(api) == (4, 6)


def test_open_and_overdue_action_items(api, acme):
    today = timezone.localdate()
    items_report(
        acme,
        "r",
        [
            {"title": "a", "due": (today - timedelta(days=1)).isoformat()},
            {"title": "b", "due": (today + timedelta(days=1)).isoformat(), "status": "in_progress"},
            {"title": "c", "status": "done"},
        ],
    )
    data = api.get(URL).json()
    assert figure(data, "action_items_open")["value"] == 2
    assert figure(data, "action_items_overdue")["value"] == 1
    assert figure(data, "action_items_open_age")["note"] == transparency.NOT_ENOUGH


def test_the_month_chart_labels_its_axis_with_at_most_eight_months_the_first_included():
    months = [
        {
            "month": f"{2020 + n // 12}-{n % 12 + 1:02d}",
            "sev1": n % 3,
            "sev2": 0,
            "sev3": 1,
            "sev4": 0,
        }
        for n in range(30)
    ]
    ticks = [tick["month"] for tick in month_bars(months)["ticks"]]
    assert ticks[0] == "2020-01" and len(ticks) <= 8
    assert ticks == [
        "2020-01",
        "2020-05",
        "2020-09",
        "2021-01",
        "2021-05",
        "2021-09",
        "2022-01",
        "2022-05",
    ]
    assert [t["month"] for t in month_bars(months[:3])["ticks"]] == [
        "2020-01",
        "2020-02",
        "2020-03",
    ]


def test_month_labels_at_the_chart_edges_stay_inside_it_and_every_other_one_can_hide():
    """A label centred on the first or last bar would be cut off at the chart's edge (as it
    was at 375 px): it is anchored to the edge instead. Small screens hide the alternate
    ones, so the others have room at a readable size."""
    months = [
        {"month": f"2026-{n + 1:02d}", "sev1": 1, "sev2": 0, "sev3": 0, "sev4": 0}
        for n in range(15)
    ]
    ticks = month_bars(months)["ticks"]
    assert (ticks[0]["x"], ticks[0]["anchor"]) == (0, "start")
    assert all(t["anchor"] == "middle" for t in ticks[1:-1])
    assert [t["alternate"] for t in ticks] == [n % 2 == 1 for n in range(len(ticks))]
    # 15 months, a label every second one: the last is on the last bar, 24 units from the
    # right edge.
    assert (ticks[-1]["month"], ticks[-1]["x"], ticks[-1]["anchor"]) == ("2026-15", 720, "end")
