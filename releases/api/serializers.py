from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from opsknowledge.api.representation import ReadersMixin
from opsknowledge.api.serializers import ReleaseBriefSerializer
from opsknowledge.paths import absolute_url

from ..models import ReleaseNote


class ReleaseNoteSerializer(ReadersMixin, serializers.ModelSerializer):
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


class BriefRunbookSerializer(ReadersMixin, serializers.Serializer):
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
        return absolute_url(self.context["request"], document.get_absolute_url())

    def get_api_url(self, document) -> str:
        return absolute_url(self.context["request"], document.get_api_url())


class BriefIncidentSerializer(BriefRunbookSerializer):
    upgrade_from = None
    upgrade_to = None
    severity = serializers.CharField()
    started_at = serializers.DateTimeField()


class StepSerializer(ReadersMixin, serializers.Serializer):
    release = ReleaseBriefSerializer()
    notes = ReleaseNoteSerializer(many=True)
    # At most STEP_LIMIT of each, the most relevant first; the counts and URLs give the rest.
    runbooks = BriefRunbookSerializer(many=True)
    runbooks_count = serializers.IntegerField()
    runbooks_url = serializers.SerializerMethodField()
    incidents = BriefIncidentSerializer(many=True)
    incidents_count = serializers.IntegerField()
    incidents_url = serializers.SerializerMethodField()

    def get_runbooks_url(self, step) -> str:
        return self.context["request"].build_absolute_uri(step.runbooks_url)

    def get_incidents_url(self, step) -> str:
        return self.context["request"].build_absolute_uri(step.incidents_url)


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
