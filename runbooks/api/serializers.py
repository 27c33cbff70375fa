from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsknowledge import references
from opsknowledge.api.documents import (
    AdoptableSerializerMixin,
    DocumentSerializer,
    django_errors_as_drf,
)
from opsknowledge.api.fields import PageValues, SlugReferenceField, page_values
from opsknowledge.models import Release
from opsknowledge.paths import absolute_url
from opsknowledge.visibility import Access

from ..lint import lint
from ..models import Practice, Runbook, Severity


class AlertNamesField(serializers.ListField):
    child = serializers.CharField(max_length=200)

    def to_internal_value(self, data):
        names = super().to_internal_value(data)
        return django_errors_as_drf(references.normalise_alert_names, names)

    def get_attribute(self, instance):
        found = page_values(self, instance)
        return found if found is not None else super().get_attribute(instance)

    def to_representation(self, value):
        if isinstance(value, PageValues):
            return sorted(value)
        return sorted(alert.name for alert in value.all())


class IncidentBriefSerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.slug")
    slug = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    started_at = serializers.DateTimeField()
    api_url = serializers.SerializerMethodField()

    def get_api_url(self, report) -> str:
        return absolute_url(self.context.get("request"), report.get_api_url())


class LintFindingSerializer(serializers.Serializer):
    check = serializers.CharField()
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)


class RunbookSerializer(AdoptableSerializerMixin, DocumentSerializer):
    # lint reads every other runbook's slug and the page's text: detail only.
    DETAIL_ONLY = DocumentSerializer.DETAIL_ONLY + ("incidents", "lint")

    alerts = AlertNamesField(required=False)
    incidents = serializers.SerializerMethodField()
    lint = serializers.SerializerMethodField(
        help_text="Advice on this runbook (missing sections, dead links, overdue review...); "
        "never blocks a write. Shown to members of the owning organisation only (null for "
        "everyone else)."
    )
    severity = serializers.ChoiceField(choices=[("", "none")] + Severity.choices, required=False)
    upgrade_from = SlugReferenceField(
        noun="release", queryset=Release.objects.all(), required=False, allow_null=True
    )
    upgrade_to = SlugReferenceField(
        noun="release", queryset=Release.objects.all(), required=False, allow_null=True
    )

    class Meta(DocumentSerializer.Meta):
        model = Runbook
        fields = DocumentSerializer.Meta.fields + [
            "alerts",
            "severity",
            "upgrade_from",
            "upgrade_to",
            "upstream",
            "incidents",
            "lint",
        ]

    @extend_schema_field(IncidentBriefSerializer(many=True))
    def get_incidents(self, runbook):
        """The published failure reports that link this runbook and the reader may see."""
        request = self.context.get("request")
        reports = runbook.reports_using(Access.of(request) if request else None)
        return IncidentBriefSerializer(reports, many=True, context=self.context).data

    @extend_schema_field(LintFindingSerializer(many=True, allow_null=True))
    def get_lint(self, runbook):
        # Members only: dead-link findings tell which linked documents exist.
        request = self.context.get("request")
        access = Access.of(request)
        if request is None or not access.is_member_of(runbook.organisation_id):
            return None
        return lint(runbook, reader=access)


class PracticeSerializer(AdoptableSerializerMixin, DocumentSerializer):
    class Meta(DocumentSerializer.Meta):
        model = Practice
        fields = DocumentSerializer.Meta.fields + ["upstream"]
