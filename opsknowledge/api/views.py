from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import APIToken, Component, Membership, Organisation, Release
from ..permissions import Access
from .serializers import (
    ComponentSerializer,
    MeSerializer,
    OrganisationSerializer,
    ReleaseSerializer,
)


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations are public: everyone may know who publishes."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    lookup_field = "slug"
    ordering_fields = ["slug", "name"]
    filterset_fields = ["slug"]


class ComponentViewSet(viewsets.ModelViewSet):
    # parent: the serializer reads parent.slug for every row.
    queryset = Component.objects.select_related("parent")
    serializer_class = ComponentSerializer
    lookup_field = "slug"
    ordering_fields = ["slug", "name"]
    filterset_fields = {"parent__slug": ["exact"]}


class ReleaseViewSet(viewsets.ModelViewSet):
    # previous / next_release: the serializer reads both slugs for every row.
    queryset = Release.objects.select_related("previous", "next_release")
    serializer_class = ReleaseSerializer
    lookup_field = "slug"
    ordering_fields = []  # the list follows the upgrade chain

    def list(self, request, *args, **kwargs):
        releases = self.get_queryset().in_upgrade_order()
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
