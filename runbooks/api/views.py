from opsknowledge.api.documents import DocumentViewSet

from ..filtersets import PracticeFilterSet, RunbookFilterSet
from ..models import Practice, Runbook
from .serializers import PracticeSerializer, RunbookSerializer


class RunbookViewSet(DocumentViewSet):
    model = Runbook
    serializer_class = RunbookSerializer
    filterset_class = RunbookFilterSet
    # upgrade_from/upgrade_to and alerts: read for every row by the serializer.
    select_related = DocumentViewSet.select_related + ("upgrade_from", "upgrade_to")
    prefetch_related = DocumentViewSet.prefetch_related + ("alerts",)
    page_relations = {**DocumentViewSet.page_relations, "alerts": ("name",)}
    detail_objects = ("releases",)  # lint.outdated_releases reads their maintenance dates


class PracticeViewSet(DocumentViewSet):
    model = Practice
    serializer_class = PracticeSerializer
    filterset_class = PracticeFilterSet
