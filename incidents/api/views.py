from opsknowledge.api.documents import DocumentViewSet
from runbooks.models import Runbook

from ..filtersets import FailureReportFilterSet
from ..models import FailureReport
from .serializers import FailureReportSerializer


class FailureReportViewSet(DocumentViewSet):
    model = FailureReport
    serializer_class = FailureReportSerializer
    filterset_class = FailureReportFilterSet
    ordering_fields = DocumentViewSet.ordering_fields + ["started_at", "severity"]
    # runbook_links: every row lists its linked runbooks as "organisation/slug".
    prefetch_related = DocumentViewSet.prefetch_related + ("runbook_links__runbook__organisation",)
    page_relations = {
        **DocumentViewSet.page_relations,
        # (runbook id, its reference, relation): RunbookLinksField reads these in lists.
        "runbook_links": ("runbook_id", "runbook__organisation__slug", "runbook__slug", "relation"),
    }

    def extra_context(self, documents) -> dict:
        """Which linked runbooks the reader may see, in one query for the whole page."""
        ids = set()
        for d in documents:
            if "runbook_links" in getattr(d, "page_values", {}):
                ids |= {runbook_id for runbook_id, *_rest in d.page_values["runbook_links"]}
            else:
                ids |= {link.runbook_id for link in d.runbook_links.all()}
        visible = Runbook.objects.visible_to(self.access).filter(pk__in=ids)
        return {"visible_runbook_ids": set(visible.values_list("pk", flat=True)) if ids else set()}
