"""Release notes and the upgrade briefing over the API."""

from django.http import Http404, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from opsknowledge.api.permissions import ReadOnlyUnlessStaff
from opsknowledge.api.schema import IF_NONE_MATCH, ErrorSerializer
from opsknowledge.hotcache import hot_cached
from opsknowledge.models import Release, Status
from opsknowledge.visibility import Access

from ..briefing import BriefingError, briefing_markdown, fingerprint, load_rows, plan_briefing
from ..filtersets import ReleaseNoteFilterSet
from ..models import ReleaseNote
from .serializers import BRIEFING, ReleaseNoteSerializer, StepSerializer


class ReleaseNoteListView(GenericAPIView):
    # The catalogue's permission: anyone reads (visibility filters the rows), nobody writes.
    permission_classes = [ReadOnlyUnlessStaff]
    serializer_class = ReleaseNoteSerializer
    queryset = ReleaseNote.objects.none()  # for the schema: the path's slug is a slug
    ordering_fields = []  # notes keep their order in the release notes: ?ordering= is a 400

    @extend_schema(
        responses=ReleaseNoteSerializer(many=True),
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, description="comma-separated kinds"),
            OpenApiParameter("component", OpenApiTypes.STR, description="children included"),
            OpenApiParameter("organisation", OpenApiTypes.STR),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
    )
    def get(self, request, slug):
        """The release's notes the caller may read; filters kind, component, organisation."""
        # First, as the catalogue's lists do: a bad ?ordering= is a 400 before anything else.
        notes = self.filter_queryset(ReleaseNote.objects.visible_to(Access.of(request)))
        release = Release.objects.filter(slug=slug).first()
        if release is None:
            raise Http404(f"No release '{slug}'.")
        # organisation, component, release: the serializer reads their slugs for every row.
        notes = notes.filter(release=release, status=Status.PUBLISHED).select_related(
            "organisation", "component", "release"
        )
        notes = ReleaseNoteFilterSet(request.query_params, queryset=notes, request=request).qs
        page = self.paginate_queryset(notes)
        return self.get_paginated_response(ReleaseNoteSerializer(page, many=True).data)


class MarkdownRenderer(renderers.BaseRenderer):
    """Lets content negotiation accept `Accept: text/markdown`; the view renders the text.
    (Errors never reach it: the exception handler answers them as JSON.)"""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def wants_markdown(request) -> bool:
    if request.query_params.get("format") == "md":
        return True
    return getattr(request, "accepted_renderer", None) is not None and (
        request.accepted_renderer.format == "md"
    )


class UpgradePathView(APIView):
    """GET /api/v1/upgrade-path/?from=r2&to=r4[&component=ceph][&kind=upgrade,known-issue]"""

    renderer_classes = [renderers.JSONRenderer, MarkdownRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.STR, required=True),
            OpenApiParameter("to", OpenApiTypes.STR, required=True),
            OpenApiParameter("component", OpenApiTypes.STR),
            OpenApiParameter("kind", OpenApiTypes.STR, description="comma-separated note kinds"),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "md"]),
            IF_NONE_MATCH,
        ],
        responses={
            200: BRIEFING,
            (200, "text/markdown"): OpenApiTypes.STR,
            304: OpenApiResponse(description="Not modified (If-None-Match matched the ETag)"),
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    @method_decorator(hot_cached)
    def get(self, request):
        params = request.query_params
        fmt = params.get("format")
        if fmt not in (None, "json", "md"):
            raise ValidationError({"format": ["Use 'json' or 'md'."]})
        try:
            # The frame and per-step counts only: the ETag comes before any document row.
            briefing = plan_briefing(
                start=params.get("from"),
                end=params.get("to"),
                component=params.get("component"),
                kinds=params.get("kind"),
                access=Access.of(request),
            )
        except BriefingError as error:
            if error.status == 404:
                raise NotFound(error.message) from None
            raise ValidationError({error.field: [error.message]}) from None
        markdown = wants_markdown(request)
        # The parameters are in the briefing as parsed (from, to, kinds, component; format is
        # the representation). Links in the body are absolute: the host is part of it.
        etag = fingerprint(
            briefing, "markdown" if markdown else "json", request.build_absolute_uri("/")
        )
        headers = {"ETag": etag, "Vary": "Accept, Authorization, Cookie"}
        modified = briefing.last_modified()
        if modified:
            headers["Last-Modified"] = http_date(modified.timestamp())
        wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
        if "*" in wanted or etag in [quote_etag(t) for t in wanted if t]:
            return HttpResponse(status=304, headers=headers)
        load_rows(briefing)
        if markdown:
            base = request.build_absolute_uri("/").rstrip("/")
            return HttpResponse(
                briefing_markdown(briefing, base),
                content_type="text/markdown; charset=utf-8",
                headers=headers,
            )
        context = {"request": request}
        data = {
            "from": briefing.start.slug,
            "to": briefing.end.slug,
            "component": briefing.component.slug if briefing.component else None,
            "kinds": list(briefing.kinds),
            "steps": StepSerializer(briefing.steps, many=True, context=context).data,
            "warnings": briefing.warnings,
        }
        return Response(data, headers=headers)
