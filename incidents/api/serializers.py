from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsknowledge.api.documents import DocumentSerializer
from opsknowledge.models import Status
from opsknowledge.permissions import Access
from runbooks.models import Runbook

from ..models import ActionItem, FailureReport, RunbookLink, Severity


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    at_text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="The time as written, when it is not a readable time ('--:--').",
    )
    text = serializers.CharField()


class ActionItemSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, default="open")
    owner = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    due = serializers.DateField(required=False, allow_null=True, default=None)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


@extend_schema_field(OpenApiTypes.STR)
class RunbookReferenceField(serializers.Field):
    """A runbook as "organisation/slug". Only runbooks the writer can read can be linked:
    anything else is "unknown", exactly like a runbook that does not exist."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or data.count("/") != 1:
            raise serializers.ValidationError("Use 'organisation/slug', e.g. 'scs/ceph-osd-full'.")
        organisation, slug = data.strip().split("/")
        runbooks = Runbook.objects.select_related("organisation")
        request = self.context.get("request")
        if request is not None:
            runbooks = runbooks.visible_to(Access.of(request))
        runbook = runbooks.filter(organisation__slug=organisation, slug=slug).first()
        if runbook is None:
            raise serializers.ValidationError(f"unknown runbook '{data}'.")
        return runbook

    def to_representation(self, runbook):
        return runbook.reference()


class RunbookLinkSerializer(serializers.Serializer):
    runbook = RunbookReferenceField()
    relation = serializers.ChoiceField(choices=RunbookLink.Relation.choices)


class RunbookLinksField(serializers.ListField):
    child = RunbookLinkSerializer()

    def to_internal_value(self, data):
        links = super().to_internal_value(data)
        seen = set()
        for link in links:
            key = (link["runbook"].pk, link["relation"])
            if key in seen:
                raise serializers.ValidationError(
                    f"'{link['runbook'].reference()}' is linked twice as '{link['relation']}'."
                )
            seen.add(key)
        return links

    def to_representation(self, links):
        # Links to runbooks the reader cannot see are left out (no slug leaks through them).
        visible = self.context.get("visible_runbook_ids")
        return [
            {"runbook": link.runbook.reference(), "relation": link.relation}
            for link in links.all()
            if visible is None or link.runbook_id in visible
        ]


SECTION_HELP = "Markdown"


class FailureReportSerializer(DocumentSerializer):
    DETAIL_ONLY = (
        DocumentSerializer.DETAIL_ONLY
        + FailureReport.SECTIONS
        + tuple(f"{name}_html" for name in FailureReport.SECTIONS)
        + ("timeline", "action_items")
    )

    severity = serializers.ChoiceField(choices=[("", "not set")] + Severity.choices, required=False)
    time_to_detect = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="seconds from start to detection"
    )
    time_to_resolve = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="seconds from start to resolution"
    )
    attendees = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    timeline = TimelineEntrySerializer(many=True, required=False)
    action_items = ActionItemSerializer(many=True, required=False)
    runbooks = RunbookLinksField(source="runbook_links", required=False)
    warnings = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta(DocumentSerializer.Meta):
        model = FailureReport
        fields = (
            DocumentSerializer.Meta.fields
            + [
                "severity",
                "started_at",
                "detected_at",
                "resolved_at",
                "time_to_detect",
                "time_to_resolve",
                "stated_time_to_detect",
                "stated_time_to_resolve",
                "attendees",
            ]
            + list(FailureReport.SECTIONS)
            + [f"{name}_html" for name in FailureReport.SECTIONS]
            + ["timeline", "action_items", "runbooks", "warnings"]
        )
        read_only_fields = DocumentSerializer.Meta.read_only_fields + [
            f"{name}_html" for name in FailureReport.SECTIONS
        ]

    def to_internal_value(self, data):
        attrs = super().to_internal_value(data)
        if "runbook_links" in attrs:
            attrs["runbooks"] = attrs.pop("runbook_links")
        return attrs

    def validate(self, attrs):
        attrs = super().validate(attrs)

        def value(name):
            return attrs[name] if name in attrs else getattr(self.instance, name, None)

        started = value("started_at")
        errors = {}
        for name in ("detected_at", "resolved_at"):
            when = value(name)
            if started and when and when < started:
                errors[name] = [f"must not be before started_at ({started.isoformat()})."]
        if value("status") == Status.PUBLISHED:
            missing = [name for name in ("summary", "impact", "root_cause") if not value(name)]
            for name in missing:
                errors[name] = ["A published report needs a summary, an impact and a root cause."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
