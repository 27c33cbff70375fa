"""Web pages of failure reports: the list and the report page (times, timeline, action
items, linked runbooks, warnings for members)."""

from django.db.models import F
from django.utils import timezone

from opsknowledge.pages import BADGE_PREFETCH, DocumentListView, DocumentPageView
from opsknowledge.search.related import related_documents
from runbooks.models import Runbook

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
