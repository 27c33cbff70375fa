"""Web pages of failure reports: the list and the report page (times, timeline, action
items, linked runbooks, warnings for members)."""

import math

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from opsknowledge.exceptions import NotFound, PreconditionFailed
from opsknowledge.hotcache import hot_cached
from opsknowledge.models import Organisation
from opsknowledge.pages import BADGE_PREFETCH, DocumentListView, DocumentPageView
from opsknowledge.revisions import REVISION_NUMBER
from opsknowledge.search.related import related_documents
from opsknowledge.services import Actor
from opsknowledge.visibility import Access
from runbooks.models import Runbook

from . import services, statuspage, transparency
from .filtersets import FailureReportFilterSet
from .models import ActionItem, FailureReport, StatusPageIncident


class IncidentListView(DocumentListView):
    model = FailureReport
    filterset_class = FailureReportFilterSet
    # Newest incident first; reports without a start time after those with one, on every
    # database (PostgreSQL sorts NULL first when descending).
    ordering = (F("started_at").desc(nulls_last=True), "-updated", "organisation__slug", "slug")


class IncidentPageView(DocumentPageView):
    prefetch_related = BADGE_PREFETCH + (
        "timeline",
        "action_items",
        "runbook_links__runbook__organisation",
    )

    def extra_context_for(self, document, access) -> dict:
        links = list(document.runbook_links.all())
        # Only the linked runbooks the reader may read, as in the API (one query).
        visible = (
            set(
                Runbook.objects.visible_to(access)
                .filter(pk__in={link.runbook_id for link in links})
                .values_list("pk", flat=True)
            )
            if links
            else set()
        )
        today = timezone.localdate()
        items = [
            {
                "item": item,
                "overdue": bool(
                    item.due and item.due < today and item.status in ActionItem.OPEN_STATUSES
                ),
            }
            for item in document.action_items.all()
        ]
        can_write = access.can_write(document.organisation_id)
        # Upstream news held back because the report was edited since it was imported
        # (incidents.statuspage): writers see it and may apply it.
        pending = (
            [r for r in document.status_page_incidents.all() if r.pending_updates]
            if can_write
            else []
        )
        return {
            "can_write": can_write,
            "pending_sources": pending,
            "action_statuses": ActionItem.Status.choices,
            "timeline": list(document.timeline.all()),
            "action_items": items,
            "runbook_links": [link for link in links if link.runbook_id in visible],
            "warnings": document.warnings if access.is_member_of(document.organisation_id) else [],
            "today": today,
            "related": related_documents(document, access),  # similar failures elsewhere
        }


# Bar colours of the per-month chart, by severity (presentation attributes: no inline style).
SEVERITY_COLOURS = {"sev1": "#8b0000", "sev2": "#d2691e", "sev3": "#daa520", "sev4": "#708090"}
CHART_WIDTH, CHART_HEIGHT = 720, 160
MONTH_TICKS = 8  # labels under the per-month chart, at 720 px about one per 90 px
TICK_HALF_WIDTH = 40  # half a month label ("2026-01") at the small-screen size, in units


def month_bars(months: list[dict]) -> dict:
    """The per-month chart as stacked rectangles (x, y, width, height, colour, label), and
    the month axis: at most MONTH_TICKS labels, evenly spaced, the first month always one
    (a reader must be able to tell when a peak was without hovering every bar)."""
    top = max((sum(m[s] for s in SEVERITY_COLOURS) for m in months), default=0) or 1
    width = CHART_WIDTH / max(len(months), 1)
    step = max(1, math.ceil(len(months) / MONTH_TICKS))
    ticks = [
        {"x": round(index * width + width / 2, 2), "month": month["month"]}
        for index, month in enumerate(months)
        if index % step == 0
    ]
    for number, tick in enumerate(ticks):
        # Every other label, which a small screen hides to give the rest a readable size.
        tick["alternate"] = number % 2 == 1
        # A label centred on a bar at either edge would be cut off there (a small screen
        # draws it about 80 units wide): it starts at the left edge or ends at the right.
        tick["anchor"] = "middle"
        if tick["x"] < TICK_HALF_WIDTH:
            tick["x"], tick["anchor"] = 0, "start"
        elif tick["x"] > CHART_WIDTH - TICK_HALF_WIDTH:
            tick["x"], tick["anchor"] = CHART_WIDTH, "end"
    bars = []
    for index, month in enumerate(months):
        y = CHART_HEIGHT
        for severity, colour in SEVERITY_COLOURS.items():
            if not month[severity]:
                continue
            height = month[severity] / top * CHART_HEIGHT
            y -= height
            bars.append(
                {
                    "x": round(index * width, 2),
                    "y": round(y, 2),
                    "width": round(max(width - 1, 0.5), 2),
                    "height": round(height, 2),
                    "colour": colour,
                    "label": f"{month['month']}: {month[severity]} {severity}",
                }
            )
    return {"bars": bars, "ticks": ticks, "top": top, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def bucket_bars(buckets: list[dict]) -> dict:
    top = max((b["incidents"] for b in buckets), default=0) or 1
    width = CHART_WIDTH / max(len(buckets), 1)
    bars = [
        {
            "x": round(index * width + 4, 2),
            "y": round(CHART_HEIGHT - b["incidents"] / top * CHART_HEIGHT, 2),
            "width": round(width - 8, 2),
            "height": round(b["incidents"] / top * CHART_HEIGHT, 2),
            "label": f"{b['bucket']}: {b['incidents']}",
            "bucket": b["bucket"],
            "text_x": round(index * width + width / 2, 2),
        }
        for index, b in enumerate(buckets)
    ]
    return {"bars": bars, "top": top, "width": CHART_WIDTH, "height": CHART_HEIGHT}


class TransparencyPageView(TemplateView):
    """The organisation's transparency figures, as the API gives them, with SVG charts and
    the same numbers as tables (incidents.transparency)."""

    template_name = "incidents/transparency.html"

    @method_decorator(hot_cached)
    def get(self, request, *args, **kwargs):
        organisation = get_object_or_404(Organisation, slug=kwargs["slug"])
        context = {"organisation": organisation, "severity_colours": SEVERITY_COLOURS}
        try:
            start, end = transparency.read_period(request.GET)
        except transparency.PeriodError as error:
            context["error"] = f"{error.field}: {error}"
            return self.render_to_response(context, status=400)
        figures = transparency.figures(organisation, Access.of(request), start, end)
        context.update(
            figures=figures,
            month_chart=month_bars(figures["incidents_per_month"]),
            has_incidents=any(b["incidents"] for b in figures["time_to_resolve_distribution"])
            or any(any(m[s] for s in SEVERITY_COLOURS) for m in figures["incidents_per_month"]),
            resolve_chart=bucket_bars(figures["time_to_resolve_distribution"]),
            periods=transparency.PERIOD_DAYS,
        )
        return self.render_to_response(context)


@require_POST
def action_item_status(request, organisation, slug, item_id):
    """The report page's status control: the same service as the API's PATCH, with the
    revision the page showed as If-Match. What the reader may not read is a 404; a reader
    who may not write gets 403, as from the API."""
    report = (
        FailureReport.objects.select_related("organisation")
        .prefetch_related("action_items")
        .get_visible_or_404(request, organisation__slug=organisation, slug=slug)
    )
    if not Access.of(request).can_write(report.organisation_id):
        raise PermissionDenied("You need the editor or admin role to change action items.")
    revision = request.POST.get("revision", "")
    if not REVISION_NUMBER.fullmatch(revision):
        return HttpResponseBadRequest("The form lacks the revision it was shown at.")
    back = HttpResponseRedirect(f"{report.get_absolute_url()}#page-action-item-{item_id}")
    try:
        report, item, changed = services.action_item_set_status(
            report=report,
            item_id=item_id,
            status=request.POST.get("status", ""),
            actor=Actor.of_request(request),
            if_match={int(revision)},
        )
    except NotFound as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(report.get_absolute_url())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    except PreconditionFailed as error:
        messages.error(
            request,
            f"The report changed since you opened it (it is now at revision "
            f"{error.current_revision}); nothing was changed. Here it is as it is now.",
        )
        return back
    if changed:
        messages.success(
            request,
            f"'{item.title}' is now {item.get_status_display().lower()} "
            f"(revision {report.revision}).",
        )
    return back


@require_POST
def apply_status_page_updates(request, organisation, slug, record_id):
    """The report page's "apply" of upstream status-page updates waiting on its source
    record, with the page's revision as If-Match (a stale page changes nothing)."""
    report = FailureReport.objects.select_related("organisation").get_visible_or_404(
        request, organisation__slug=organisation, slug=slug
    )
    if not Access.of(request).can_write(report.organisation_id):
        raise PermissionDenied("You need the editor or admin role to apply updates.")
    record = get_object_or_404(StatusPageIncident, pk=record_id, report=report)
    revision = request.POST.get("revision", "")
    if not REVISION_NUMBER.fullmatch(revision):
        return HttpResponseBadRequest("The form lacks the revision it was shown at.")
    try:
        report, _changed = statuspage.apply_pending_updates(
            record=record, actor=Actor.of_request(request), if_match={int(revision)}
        )
    except PreconditionFailed as error:
        messages.error(
            request,
            f"The report changed since you opened it (it is now at revision "
            f"{error.current_revision}); nothing was applied.",
        )
        return HttpResponseRedirect(report.get_absolute_url())
    messages.success(request, f"Status-page updates applied (revision {report.revision}).")
    return HttpResponseRedirect(report.get_absolute_url())
