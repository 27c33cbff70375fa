"""Web pages of failure reports: the list and the report page (times, timeline, action
items, linked runbooks, warnings for members)."""

from django.db.models import F
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from opsknowledge.models import Organisation
from opsknowledge.pages import BADGE_PREFETCH, DocumentListView, DocumentPageView
from opsknowledge.search.related import related_documents
from opsknowledge.visibility import Access
from runbooks.models import Runbook

from . import transparency
from .filtersets import FailureReportFilterSet
from .models import ActionItem, FailureReport


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
        return {
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


def month_bars(months: list[dict]) -> dict:
    """The per-month chart as stacked rectangles (x, y, width, height, colour, label)."""
    top = max((sum(m[s] for s in SEVERITY_COLOURS) for m in months), default=0) or 1
    width = CHART_WIDTH / max(len(months), 1)
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
    return {"bars": bars, "top": top, "width": CHART_WIDTH, "height": CHART_HEIGHT}


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
            resolve_chart=bucket_bars(figures["time_to_resolve_distribution"]),
            periods=transparency.PERIOD_DAYS,
        )
        return self.render_to_response(context)
