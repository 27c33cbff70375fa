"""Web pages of the runbooks app: runbook and practice lists, the runbook page (alerts,
lint, the reports that used it, its upstream) and the search page."""

from django.urls import reverse

from opsknowledge import history
from opsknowledge.pages import BADGE_PREFETCH, DocumentListView, DocumentPageView
from opsknowledge.search.related import related_documents

from .filtersets import PracticeFilterSet, RunbookFilterSet
from .lint import lint
from .models import Practice, Runbook


class RunbookListView(DocumentListView):
    model = Runbook
    filterset_class = RunbookFilterSet


class PracticeListView(DocumentListView):
    model = Practice
    filterset_class = PracticeFilterSet


class AdoptablePageView(DocumentPageView):
    """Runbooks and practices: licence and where an adopted copy came from."""

    def extra_context_for(self, document, access) -> dict:
        original = history.upstream_original(document, access)
        behind = bool(original and original.revision > (document.upstream_revision or 0))
        return {
            "original": original,
            "behind_upstream": behind,
            "related": related_documents(document, access),
        }


class RunbookPageView(AdoptablePageView):
    select_related = ("organisation", "upgrade_from", "upgrade_to")
    prefetch_related = BADGE_PREFETCH + ("alerts",)

    def extra_context_for(self, document, access) -> dict:
        context = super().extra_context_for(document, access)
        query = f"?organisation={document.organisation.slug}"
        context.update(
            alerts=[
                {
                    "name": alert.name,
                    "runbook_url": self.request.build_absolute_uri(
                        reverse("alert-runbook", args=[alert.name])
                    )
                    + query,
                }
                for alert in document.alerts.all()
            ],
            reports=list(document.reports_using(access)),
            # Members only, as in the API: dead-link findings tell which documents exist.
            lint=lint(document, reader=access)
            if access.is_member_of(document.organisation_id)
            else None,
        )
        return context
