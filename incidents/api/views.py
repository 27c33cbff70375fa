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

    def extra_context(self, documents) -> dict:
        """Which linked runbooks the reader may see, in one query for the whole page."""
        ids = {link.runbook_id for d in documents for link in d.runbook_links.all()}
        visible = Runbook.objects.visible_to(self.access).filter(pk__in=ids)
        return {"visible_runbook_ids": set(visible.values_list("pk", flat=True)) if ids else set()}
