from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import APIToken, Component, Membership, Organisation, Release
from ..permissions import Access, ReadOnlyUnlessStaff
from ..references import describe, references
from .errors import Conflict
from .releases import release_notes
from .serializers import (
    ComponentSerializer,
    MeSerializer,
    OrganisationSerializer,
    ReleaseNoteSerializer,
    ReleaseSerializer,
)


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations are public: everyone may know who publishes."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    lookup_field = "slug"
    ordering_fields = ["slug", "name"]
    filterset_fields = ["slug"]


class RefuseReferencedDeleteMixin:
    """Deleting a component or release that documents or notes refer to would strip it from
    them silently, without a revision (many-to-many links just vanish) and cascade to
    release notes: refuse it while anything refers to it."""

    def perform_destroy(self, instance):
        counts = references(instance)
        if counts:
            raise Conflict(f"'{instance.slug}' is still referenced by {describe(counts)}.")
        instance.delete()


class ComponentViewSet(RefuseReferencedDeleteMixin, viewsets.ModelViewSet):
    # parent: the serializer reads parent.slug for every row.
    queryset = Component.objects.select_related("parent")
    serializer_class = ComponentSerializer
    lookup_field = "slug"
    ordering_fields = ["slug", "name"]
    filterset_fields = {"parent__slug": ["exact"]}


class ReleaseViewSet(RefuseReferencedDeleteMixin, viewsets.ModelViewSet):
    # previous / next_release: the serializer reads both slugs for every row.
    queryset = Release.objects.select_related("previous", "next_release")
    serializer_class = ReleaseSerializer
    lookup_field = "slug"
    ordering_fields = []  # the list follows the upgrade chain

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
    @action(
        detail=True,
        methods=["get"],
        url_path="notes",
        url_name="notes",
        permission_classes=[ReadOnlyUnlessStaff],
    )
    def notes(self, request, slug=None):
        """The release's notes the caller may read; filters kind, component, organisation."""
        return release_notes(self, request, self.get_object())

    def list(self, request, *args, **kwargs):
        # filter_queryset: ?ordering= is refused (the chain is the order), like elsewhere.
        releases = self.filter_queryset(self.get_queryset()).in_upgrade_order()
        page = self.paginate_queryset(releases)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        access = Access.of(request)
        token = request.auth if isinstance(request.auth, APIToken) else None
        memberships = Membership.objects.filter(
            user_id=getattr(request.user, "pk", None), organisation_id__in=access.roles
        ).select_related("organisation")
        data = {
            "authenticated": access.is_authenticated,
            "username": request.user.get_username() if access.is_authenticated else None,
            "is_staff": access.is_staff,
            "organisations": memberships,
            "token_organisation": token.organisation.slug if token else None,
        }
        return Response(MeSerializer(data).data)
