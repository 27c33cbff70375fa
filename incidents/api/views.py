from django.http import Http404
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from opsknowledge.api.documents import DocumentViewSet
from opsknowledge.api.schema import ErrorSerializer
from opsknowledge.hotcache import hot_cached
from opsknowledge.models import Organisation
from opsknowledge.revisions import etag, parse_if_match
from opsknowledge.services import Actor
from opsknowledge.visibility import Access
from runbooks.models import Runbook

from .. import services, transparency
from ..filtersets import FailureReportFilterSet
from ..models import ActionItem, FailureReport
from .serializers import ActionItemSerializer, FailureReportSerializer


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

    @extend_schema(
        request=inline_serializer(
            "ActionItemStatus", {"status": serializers.ChoiceField(ActionItem.Status.choices)}
        ),
        responses={
            200: OpenApiResponse(
                ActionItemSerializer, description="The item; ETag: the report's revision."
            )
        },
    )
    def action_item(self, request, *args, item_id=None, **kwargs):
        """Change one action item's status (If-Match: the report's revision); a new
        revision of the report."""
        organisation = self.organisation_for_write(kwargs["organisation"])
        report = self.existing(organisation, kwargs["slug"])
        data = request.data
        if not isinstance(data, dict) or "status" not in data:
            raise ValidationError({"status": ["This field is required."]})
        others = sorted(set(data) - {"status"})
        if others:
            raise ValidationError(
                {
                    name: ["Only the status changes here; PATCH the report for the rest."]
                    for name in others
                }
            )
        report, item, _changed = services.action_item_set_status(
            report=report,
            item_id=item_id,
            status=data["status"],
            actor=Actor.of_request(request),
            if_match=parse_if_match(request.headers.get("If-Match")),
        )
        return Response(ActionItemSerializer(item).data, headers={"ETag": etag(report.revision)})


class TransparencyView(APIView):
    """GET /api/v1/organisations/{organisation}/transparency/: the organisation's figures,
    computed from what the caller may read (incidents.transparency)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("organisation", str, OpenApiParameter.PATH),
            OpenApiParameter("days", int, enum=list(transparency.PERIOD_DAYS),
                             description="the period ending today (default 365)"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="first day (with to)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="last day (with from)"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: ErrorSerializer},
    )  # fmt: skip
    @method_decorator(hot_cached)
    def get(self, request, organisation):
        found = Organisation.objects.filter(slug=organisation).first()
        if found is None:
            raise Http404(f"No organisation '{organisation}'.")
        try:
            start, end = transparency.read_period(request.query_params)
        except transparency.PeriodError as error:
            raise ValidationError({error.field: [str(error)]}) from None
        return Response(transparency.figures(found, Access.of(request), start, end))
