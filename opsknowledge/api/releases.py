"""Release notes and the upgrade briefing over the API."""

import django_filters
from django.http import HttpResponse
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import renderers, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ..filtersets import catalogue_object
from ..models import Component, NoteKind, Organisation, ReleaseNote, Status
from ..upgrades import BriefingError, briefing_markdown, build_briefing, fingerprint
from ..visibility import Access
from .schema import IF_NONE_MATCH, ErrorSerializer
from .serializers import ReleaseBriefSerializer, ReleaseNoteSerializer


class ReleaseNoteFilterSet(django_filters.FilterSet):
    kind = django_filters.CharFilter(method="filter_kind", help_text="comma-separated kinds")
    component = django_filters.CharFilter(method="filter_component")
    organisation = django_filters.CharFilter(method="filter_organisation")

    class Meta:
        model = ReleaseNote
        fields = []

    def filter_kind(self, queryset, name, value):
        kinds = [k.strip() for k in value.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in NoteKind.values]
        if unknown:
            raise ValidationError(
                {name: [f"unknown kind '{unknown[0]}'; valid: {', '.join(NoteKind.values)}."]}
            )
        return queryset.filter(kind__in=kinds)

    def filter_component(self, queryset, name, value):
        component = catalogue_object(Component, name, value, aliases=True)
        return queryset.filter(component__in=Component.objects.with_descendants([component]))

    def filter_organisation(self, queryset, name, value):
        return queryset.filter(organisation=catalogue_object(Organisation, name, value))


def release_notes(view, request, release):
    """GET /api/v1/releases/{slug}/notes/ (mounted on the release viewset)."""
    # organisation, component, release: the serializer reads their slugs for every row.
    notes = (
        ReleaseNote.objects.visible_to(Access.of(request))
        .filter(release=release, status=Status.PUBLISHED)
        .select_related("organisation", "component", "release")
    )
    notes = ReleaseNoteFilterSet(request.query_params, queryset=notes, request=request).qs
    page = view.paginate_queryset(notes)
    return view.get_paginated_response(ReleaseNoteSerializer(page, many=True).data)


class BriefRunbookSerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.slug")
    slug = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    upgrade_from = serializers.CharField(source="upgrade_from.slug")
    upgrade_to = serializers.CharField(source="upgrade_to.slug")
    revision = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    def get_url(self, document) -> str:
        return self.context["request"].build_absolute_uri(document.get_absolute_url())

    def get_api_url(self, document) -> str:
        return self.context["request"].build_absolute_uri(document.get_api_url())


class BriefIncidentSerializer(BriefRunbookSerializer):
    upgrade_from = None
    upgrade_to = None
    severity = serializers.CharField()
    started_at = serializers.DateTimeField()


class StepSerializer(serializers.Serializer):
    release = ReleaseBriefSerializer()
    notes = ReleaseNoteSerializer(many=True)
    runbooks = BriefRunbookSerializer(many=True)
    incidents = BriefIncidentSerializer(many=True)


BRIEFING = inline_serializer(
    "UpgradeBriefing",
    {
        "from": serializers.CharField(),
        "to": serializers.CharField(),
        "component": serializers.CharField(allow_null=True),
        "kinds": serializers.ListField(child=serializers.CharField()),
        "steps": StepSerializer(many=True),
        "warnings": serializers.ListField(child=serializers.CharField()),
    },
)


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
    def get(self, request):
        params = request.query_params
        fmt = params.get("format")
        if fmt not in (None, "json", "md"):
            raise ValidationError({"format": ["Use 'json' or 'md'."]})
        try:
            briefing = build_briefing(
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
        etag = fingerprint(briefing, "markdown" if markdown else "json")
        headers = {"ETag": etag, "Vary": "Accept, Authorization, Cookie"}
        modified = briefing.last_modified()
        if modified:
            headers["Last-Modified"] = http_date(modified.timestamp())
        wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
        if "*" in wanted or etag in [quote_etag(t) for t in wanted if t]:
            return HttpResponse(status=304, headers=headers)
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
