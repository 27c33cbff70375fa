"""Transparency figures of one organisation over a period: what the API
(`GET /api/v1/organisations/{org}/transparency/`) and the page
(`/organisations/{org}/transparency/`) show.

Honesty rules (issue "Open Operations"): every figure carries its numerator, denominator (or
number of cases) and definition; medians and p90, never means; below MIN_CASES a figure
says "not enough data" instead of a number; no composite score, no ranking. Figures are
computed from what the caller may read (visible_to): coverage counts the status-page
incidents the caller may read (source records: public for a public page) against the
reports the caller may read, so a draft or a members-only report never counts for an
anonymous visitor, and deleting or downgrading a report never removes its incident.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Min
from django.utils import timezone

from opsknowledge.models import Revision, Status
from opsknowledge.visibility import Access, readable_revisions

from .models import ActionItem, FailureReport, RunbookLink, Severity, StatusPageIncident

MIN_CASES = 5
NOT_ENOUGH = f"not enough data (fewer than {MIN_CASES} cases)"
MAJOR = (Severity.SEV1, Severity.SEV2)
PERIOD_DAYS = (90, 365)
# The time-to-resolve chart's buckets: (upper bound in seconds or None, label).
RESOLVE_BUCKETS = (
    (15 * 60, "under 15 min"),
    (60 * 60, "15–60 min"),
    (4 * 3600, "1–4 h"),
    (24 * 3600, "4–24 h"),
    (None, "over 24 h"),
)


def p90(values: list[float]) -> float:
    """The nearest-rank 90th percentile: the smallest value at or above 90 % of them."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def share(key, label, definition, numerator: int, denominator: int) -> dict:
    enough = denominator >= MIN_CASES
    return {
        "key": key,
        "label": label,
        "definition": definition,
        "numerator": numerator,
        "denominator": denominator,
        "value": round(numerator / denominator, 4) if enough else None,
        "insufficient_data": not enough,
        "note": "" if enough else NOT_ENOUGH,
    }


def durations(key, label, definition, seconds: list[float]) -> dict:
    enough = len(seconds) >= MIN_CASES
    return {
        "key": key,
        "label": label,
        "definition": definition,
        "cases": len(seconds),
        "value": round(median(seconds)) if enough else None,  # the median, as API.md's value
        "median_seconds": round(median(seconds)) if enough else None,
        "p90_seconds": round(p90(seconds)) if enough else None,
        "insufficient_data": not enough,
        "note": "" if enough else NOT_ENOUGH,
    }


def count(key, label, definition, value: int) -> dict:
    return {
        "key": key,
        "label": label,
        "definition": definition,
        "value": value,
        "insufficient_data": False,
        "note": "",
    }


def audience(organisation, who) -> str:
    access = Access.of(who)
    if access.is_member_of(organisation):
        return f"members of {organisation.name}: drafts and members-only reports included"
    if access.is_community_member:
        return "signed-in community members: public and community documents"
    if access.is_authenticated:
        return "signed-in visitors: public documents only"
    return "anonymous visitors: public documents only"


def first_published(reports) -> dict[int, datetime]:
    """When each report was first published: its first revision whose snapshot says so."""
    content_type = ContentType.objects.get_for_model(FailureReport)
    rows = (
        Revision.objects.filter(
            content_type=content_type,
            object_id__in=[report.pk for report in reports],
            snapshot__status=Status.PUBLISHED,
        )
        .values("object_id")
        .annotate(first=Min("created"))
        .order_by()
    )
    return {row["object_id"]: row["first"] for row in rows}


def figures(organisation, who, start: date, end: date) -> dict:
    """All figures of `organisation` for incidents started from `start` to `end`
    (inclusive), as `who` may read them."""
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    records = list(
        StatusPageIncident.objects.visible_to(who)
        .filter(organisation=organisation, started_at__gte=since, started_at__lt=until)
        .order_by("started_at", "pk")
    )
    readable_reports = FailureReport.objects.visible_to(who).filter(organisation=organisation)
    return {
        "organisation": organisation.slug,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "computed_for": audience(organisation, who),
        "minimum_cases": MIN_CASES,
        "figures": [
            *coverage(records, readable_reports),
            *source_times(records),
            *report_times(readable_reports, since, until),
            *action_items(organisation, who, readable_reports, start, end),
            *runbook_freshness(organisation, who),
            reuse(organisation, who),
        ],
        "incidents_per_month": per_month(records, start, end),
        "time_to_resolve_distribution": resolve_distribution(records),
    }


def coverage(records, readable_reports) -> list[dict]:
    major = [r for r in records if r.severity in MAJOR and r.resolved_at]
    reports = list(
        readable_reports.filter(
            pk__in=[r.report_id for r in major if r.report_id],
            status__in=(Status.PUBLISHED, Status.ARCHIVED),
        )
    )
    published = first_published(reports)
    delays = []
    for record in major:
        moments = [published.get(record.report_id), record.postmortem_published_at]
        moments = [m for m in moments if m is not None]
        if moments:
            delays.append(max((min(moments) - record.resolved_at).total_seconds(), 0))
    base = (
        "status-page incidents of major or critical impact as the page published it "
        "(sev1–2), resolved and started in the period, that you may read"
    )
    return [
        share(
            f"postmortem_coverage_{days}d",
            f"Postmortem coverage within {days} days",
            f"Numerator: those with a published failure report you may read (or a "
            f"postmortem the page published) within {days} days of resolution. "
            f"Denominator: {base}; an incident without a report counts against it.",
            sum(1 for delay in delays if delay <= days * 86400),
            len(major),
        )
        for days in (5, 30)
    ] + [
        durations(
            "resolution_to_postmortem",
            "Time from resolution to postmortem",
            f"From resolution to the first publication of the report, over the {base} "
            "that have one.",
            delays,
        )
    ]


def source_times(records) -> list[dict]:
    resolved = [r for r in records if r.started_at and r.resolved_at]
    updated = [r for r in records if r.started_at and r.first_update_at]
    return [
        count(
            "status_page_incidents",
            "Status-page incidents",
            "Incidents the status page published, started in the period (maintenance "
            "excluded), that you may read.",
            len(records),
        ),
        durations(
            "incident_time_to_resolve",
            "Status-page incidents: time to resolve",
            "From the start to the resolution the page published (where the page gives the "
            "same time for both, from its first to its last timeline row).",
            [(r.resolved_at - r.started_at).total_seconds() for r in resolved],
        ),
        durations(
            "time_to_first_public_update",
            "Status-page incidents: time to first public update",
            "From the start to the page's first update. This is not the time to detect: "
            "a provider may know long before it posts.",
            [max((r.first_update_at - r.started_at).total_seconds(), 0) for r in updated],
        ),
    ]


def report_times(readable_reports, since, until) -> list[dict]:
    reports = list(
        readable_reports.filter(
            status=Status.PUBLISHED, started_at__gte=since, started_at__lt=until
        )
    )
    detect = [r.time_to_detect for r in reports if r.time_to_detect is not None]
    resolve = [r.time_to_resolve for r in reports if r.time_to_resolve is not None]
    return [
        durations(
            "report_time_to_detect",
            "Published reports: time to detect",
            "From the start to the detection the published failure reports state, of "
            "incidents started in the period.",
            detect,
        ),
        durations(
            "report_time_to_resolve",
            "Published reports: time to resolve",
            "From the start to the resolution the published failure reports state, of "
            "incidents started in the period.",
            resolve,
        ),
    ]


def item_history(organisation, who, report_ids) -> dict[tuple[int, str], dict]:
    """What the revisions of the reports say of each action item (by report and title):
    the first due date it was given, and since when it was closed (None if the last
    revision holding it shows it open). The history keeps what a later write changed: a due
    date moved later by a write that re-created the items, an item deleted."""
    content_type = ContentType.objects.get_for_model(FailureReport)
    revisions = Revision.objects.filter(content_type=content_type, object_id__in=list(report_ids))
    # The revisions the caller may read (all for members; else those readable when written).
    revisions = readable_revisions(revisions, FailureReport(organisation=organisation), who)
    history = revisions.order_by("object_id", "number").values_list(
        "object_id", "created", "snapshot"
    )
    seen: dict[tuple[int, str], dict] = {}
    for report_id, created, snapshot in history:
        for item in snapshot.get("action_items") or []:
            if not item.get("title"):
                continue
            found = seen.setdefault(
                (report_id, item["title"]), {"original_due": None, "closed_at": None}
            )
            if found["original_due"] is None and item.get("due"):
                found["original_due"] = date.fromisoformat(str(item["due"])[:10])
            if item.get("status") in ActionItem.CLOSED_STATUSES:
                found["closed_at"] = found["closed_at"] or created
            else:
                found["closed_at"] = None
    return seen


def action_items(organisation, who, readable_reports, start: date, end: date) -> list[dict]:
    today = timezone.localdate()
    now = timezone.now()
    items = list(ActionItem.objects.filter(report__in=readable_reports).order_by())
    open_items = [item for item in items if item.status in ActionItem.OPEN_STATUSES]
    overdue = [item for item in open_items if item.due and item.due < today]
    history = item_history(organisation, who, readable_reports.values_list("pk", flat=True))
    tracked = []
    for item in items:
        earlier = history.pop((item.report_id, item.title), {}).get("original_due")
        dues = [due for due in (item.original_due, earlier) if due]
        tracked.append({"original_due": min(dues, default=None), "closed_at": item.closed_at})
    tracked += history.values()  # items deleted since: they still count

    def decided_in_period(item) -> bool:
        """Its first due date passed in the period, or it was closed in the period."""
        due, closed = item["original_due"], item["closed_at"]
        if due is None:
            return False
        if closed is not None and start <= timezone.localdate(closed) <= end:
            return True
        return start <= due <= end and due < today

    due_in_period = [item for item in tracked if decided_in_period(item)]
    in_time = [
        item
        for item in due_in_period
        if item["closed_at"] and timezone.localdate(item["closed_at"]) <= item["original_due"]
    ]
    of_reports = "of the failure reports you may read"
    return [
        count(
            "action_items_open",
            "Action items open",
            f"Action items open or in progress today, {of_reports}.",
            len(open_items),
        ),
        count(
            "action_items_overdue",
            "Action items overdue",
            f"Open action items whose due date has passed, today, {of_reports}.",
            len(overdue),
        ),
        durations(
            "action_items_open_age",
            "Open action items: age",
            f"How long the open action items have existed, today, {of_reports}.",
            [(now - item.created).total_seconds() for item in open_items],
        ),
        share(
            "action_items_closed_by_due_date",
            "Action items closed by their due date",
            "Numerator: those closed (done or won't do) on or before the first due date "
            "they were given. Denominator: action items with a due date that were closed in "
            "the period or whose first due date passed in it, deleted ones included (a due "
            f"date moved later or an item removed does not improve it), {of_reports}.",
            len(in_time),
            len(due_in_period),
        ),
    ]


def runbook_freshness(organisation, who) -> list[dict]:
    from runbooks.lint import outdated_releases
    from runbooks.models import Runbook

    today = timezone.localdate()
    limit = settings.RUNBOOK_REVIEW_MAX_AGE_DAYS
    runbooks = list(
        Runbook.objects.visible_to(who)
        .filter(organisation=organisation, status=Status.PUBLISHED)
        .prefetch_related("releases")
    )
    stale = [
        runbook
        for runbook in runbooks
        if today - max(runbook.last_reviewed or runbook.created.date(), runbook.updated.date())
        > timedelta(days=limit)
    ]
    unmaintained = [runbook for runbook in runbooks if outdated_releases(runbook, today)]
    what = "published runbooks you may read, today (whatever the period)"
    return [
        share(
            "runbooks_stale",
            "Runbooks neither reviewed nor changed",
            f"Numerator: those neither reviewed nor changed for more than {limit} days "
            f"(RUNBOOK_REVIEW_MAX_AGE_DAYS, as runbook lint). Denominator: {what}.",
            len(stale),
            len(runbooks),
        ),
        share(
            "runbooks_unmaintained_releases",
            "Runbooks only for unmaintained releases",
            "Numerator: those that apply only to releases past their end of maintenance. "
            f"Denominator: {what}.",
            len(unmaintained),
            len(runbooks),
        ),
    ]


def reuse(organisation, who) -> dict:
    from runbooks.models import Practice, Runbook

    others = set()
    for model in (Runbook, Practice):
        others |= set(
            model.objects.visible_to(who)
            .filter(upstream_organisation=organisation.slug, status=Status.PUBLISHED)
            .exclude(organisation=organisation)
            .values_list("organisation_id", flat=True)
        )
    linking = FailureReport.objects.visible_to(who).filter(
        status=Status.PUBLISHED,
        pk__in=RunbookLink.objects.filter(runbook__organisation=organisation).values("report"),
    )
    others |= set(
        linking.exclude(organisation=organisation).values_list("organisation_id", flat=True)
    )
    return count(
        "reuse",
        "Reuse by other organisations",
        "Distinct other organisations with a published adopted copy of one of its "
        "documents, or a published failure report linking one of its runbooks, that you "
        "may read (its own reuse counts zero), today.",
        len(others),
    )


def per_month(records, start: date, end: date) -> list[dict]:
    """Every month of the period, those without incidents included (a gap is a figure)."""
    months: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        months[record.started_at.strftime("%Y-%m")][record.severity] += 1
    found, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        key = f"{year:04d}-{month:02d}"
        found.append({"month": key, **{sev: months[key][sev] for sev in Severity.values}})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def resolve_distribution(records) -> list[dict]:
    counts = Counter()
    for record in records:
        if record.started_at and record.resolved_at:
            seconds = (record.resolved_at - record.started_at).total_seconds()
            label = next(
                label for bound, label in RESOLVE_BUCKETS if bound is None or seconds < bound
            )
            counts[label] += 1
    return [{"bucket": label, "incidents": counts[label]} for _, label in RESOLVE_BUCKETS]


class PeriodError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def read_period(query, today: date | None = None) -> tuple[date, date]:
    """The period of `?days=90|365` (default 365, ending today) or `?from=&to=`."""
    today = today or timezone.localdate()
    given_from, given_to = query.get("from"), query.get("to")
    if given_from or given_to:
        if query.get("days"):
            raise PeriodError("days", "Give either days or from and to, not both.")
        values = {}
        for name, value in (("from", given_from), ("to", given_to)):
            if not value:
                raise PeriodError(name, "Give both from and to (YYYY-MM-DD).")
            try:
                values[name] = date.fromisoformat(value)
            except ValueError:
                raise PeriodError(name, f"'{value}' is not a date; use YYYY-MM-DD.") from None
        if values["from"] > values["to"]:
            raise PeriodError("from", "must not be after to.")
        return values["from"], values["to"]
    days = query.get("days") or "365"
    if days not in {str(d) for d in PERIOD_DAYS}:
        raise PeriodError("days", f"'{days}' is not valid; use 90 or 365.")
    return today - timedelta(days=int(days) - 1), today
