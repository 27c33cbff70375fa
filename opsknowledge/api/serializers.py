from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from ..models import Component, Organisation, Release, ReleaseNote
from .fields import SlugReferenceField


class OrganisationSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(
        view_name="api:organisation-detail", lookup_field="slug"
    )

    class Meta:
        model = Organisation
        fields = ["slug", "name", "website", "description", "api_url"]


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

    def validate_parent(self, parent):
        ancestor = parent
        while ancestor is not None:
            if self.instance is not None and ancestor.pk == self.instance.pk:
                raise serializers.ValidationError("A component cannot be its own ancestor.")
            ancestor = ancestor.parent
        return parent

    def validate_aliases(self, aliases):
        return sorted({a.strip() for a in aliases if a.strip()})


class ReleaseSerializer(serializers.ModelSerializer):
    previous = SlugReferenceField(
        noun="release",
        queryset=Release.objects.all(),
        required=False,
        allow_null=True,
        validators=[
            UniqueValidator(
                queryset=Release.objects.all(),
                message="That release already has a successor; the upgrade chain cannot fork.",
            )
        ],
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

    def validate_previous(self, previous):
        ancestor = previous
        while ancestor is not None:
            if self.instance is not None and ancestor.pk == self.instance.pk:
                raise serializers.ValidationError("The upgrade chain cannot loop.")
            ancestor = ancestor.previous
        return previous

    def validate(self, attrs):
        released = attrs.get("released_on", getattr(self.instance, "released_on", None))
        ends = attrs.get("end_of_maintenance", getattr(self.instance, "end_of_maintenance", None))
        if released and ends and ends < released:
            raise serializers.ValidationError(
                {"end_of_maintenance": ["must not be before released_on."]}
            )
        return attrs


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


class ReleaseNoteSerializer(serializers.ModelSerializer):
    release = serializers.CharField(source="release.slug")
    organisation = serializers.CharField(source="organisation.slug")
    component = serializers.CharField(source="component.slug", allow_null=True, default=None)

    class Meta:
        model = ReleaseNote
        fields = [
            "release",
            "organisation",
            "slug",
            "kind",
            "component",
            "title",
            "body",
            "body_html",
            "order",
            "source_url",
            "visibility",
            "updated",
        ]
