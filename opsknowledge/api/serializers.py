from rest_framework import serializers

from ..models import AuditEvent, Component, Organisation, Release
from .fields import SlugReferenceField


class OrganisationSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:organisation-detail", lookup_field="slug"
    )

    class Meta:
        model = Organisation
        fields = ["slug", "name", "website", "description", "api_url"]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["created", "username", "via", "token_start", "address", "action", "target",
                  "revision", "detail"]  # fmt: skip
        read_only_fields = fields


class ComponentSerializer(serializers.ModelSerializer):
    parent = SlugReferenceField(
        noun="component", queryset=Component.objects.all(), required=False, allow_null=True
    )
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:component-detail", lookup_field="slug"
    )

    class Meta:
        model = Component
        fields = ["slug", "name", "description", "parent", "aliases", "api_url"]


class ReleaseSerializer(serializers.ModelSerializer):
    previous = SlugReferenceField(
        noun="release",
        queryset=Release.objects.all(),
        required=False,
        allow_null=True,
        validators=[],  # a fork of the chain is refused by the model (Release.previous)
    )
    next = serializers.SerializerMethodField()
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:release-detail", lookup_field="slug"
    )

    class Meta:
        model = Release
        fields = [
            "slug",
            "name",
            "version",
            "released_on",
            "end_of_maintenance",
            "previous",
            "next",
            "api_url",
        ]

    def get_next(self, release) -> str | None:
        successor = release.next
        return successor.slug if successor else None


class MembershipBriefSerializer(serializers.Serializer):
    slug = serializers.CharField(source="organisation.slug")
    name = serializers.CharField(source="organisation.name")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    authenticated = serializers.BooleanField()
    username = serializers.CharField(allow_null=True)
    is_staff = serializers.BooleanField()
    organisations = MembershipBriefSerializer(many=True)
    token_organisation = serializers.CharField(
        allow_null=True, help_text="The one organisation a token acts for (null for sessions)."
    )


class ReleaseBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:release-detail", lookup_field="slug")

    class Meta:
        model = Release
        fields = ["slug", "name", "version", "released_on", "end_of_maintenance", "url"]
