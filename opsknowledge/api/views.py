from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..models import APIToken, AuditEvent, Component, Membership, Organisation, Release, Role
from ..visibility import Access
from .serializers import (
    AuditEventSerializer,
    ComponentSerializer,
    MeSerializer,
    OrganisationSerializer,
    ReleaseSerializer,
)


class SlugLookupMixin:
    """Catalogue entries by slug; a missing one is a 404 naming what was missing, like the
    documents' ("No release 'nope'."), not Django's
    "No Release matches the given query."
    """

    lookup_field = "slug"

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            kind = self.get_queryset().model._meta.verbose_name
            raise Http404(f"No {kind} '{self.kwargs[self.lookup_field]}'.") from None


class OrganisationViewSet(SlugLookupMixin, viewsets.ReadOnlyModelViewSet):
    """Organisations are public: everyone may know who publishes."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    ordering_fields = ["slug", "name"]
    filterset_fields = ["slug"]

    @extend_schema(
        responses=AuditEventSerializer(many=True),
        summary="The organisation's audit log (organisation admins only)",
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=AuditEventSerializer)
    def audit(self, request, slug=None):
        """Every write in the organisation, newest first: who, via token, session or
        command, what, when and from which address."""
        organisation = self.get_object()
        if Access.of(request).role_in(organisation) != Role.ADMIN:
            self.permission_denied(
                request, message=f"Only admins of '{organisation.slug}' read its audit log."
            )
        events = AuditEvent.objects.filter(organisation=organisation).select_related(None)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)


class CatalogueWriteMixin:
    """Writes of catalogue entries go through the catalogue services, like any other write."""

    def perform_create(self, serializer):
        entry = self.get_queryset().model(**serializer.validated_data)
        serializer.instance = services.catalogue_save(
            entry=entry, actor=services.Actor.of_request(self.request)
        )

    def perform_update(self, serializer):
        entry = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(entry, name, value)
        services.catalogue_save(entry=entry, actor=services.Actor.of_request(self.request))

    def perform_destroy(self, instance):
        services.catalogue_delete(entry=instance, actor=services.Actor.of_request(self.request))


class ComponentViewSet(CatalogueWriteMixin, SlugLookupMixin, viewsets.ModelViewSet):
    # parent: the serializer reads parent.slug for every row.
    queryset = Component.objects.select_related("parent")
    serializer_class = ComponentSerializer
    ordering_fields = ["slug", "name"]
    filterset_fields = {"parent__slug": ["exact"]}


class ReleaseViewSet(CatalogueWriteMixin, SlugLookupMixin, viewsets.ModelViewSet):
    # previous / next_release: the serializer reads both slugs for every row.
    queryset = Release.objects.select_related("previous", "next_release")
    serializer_class = ReleaseSerializer
    ordering_fields = []  # the list follows the upgrade chain

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
            "token_organisation": token.organisation_slug if token else None,
        }
        return Response(MeSerializer(data).data)
