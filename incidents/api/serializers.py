from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsknowledge import references
from opsknowledge.api.documents import DocumentSerializer, django_errors_as_drf
from opsknowledge.api.fields import PageValues, page_values
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
    id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Read-only; sent back in a PUT/PATCH it names the item to update "
        "(an item without one is new).",
    )
    title = serializers.CharField(max_length=500)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, default="open")
    owner = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    due = serializers.DateField(required=False, allow_null=True, default=None)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    created = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="when it became done or won't do"
    )
    original_due = serializers.DateField(
        read_only=True, allow_null=True, help_text="the first due date ever set"
    )


@extend_schema_field(OpenApiTypes.STR)
class RunbookReferenceField(serializers.Field):
    """A runbook as "organisation/slug". Only runbooks the writer can read can be linked:
    anything else is "unknown", exactly like a runbook that does not exist."""

    def to_internal_value(self, data):
        request = self.context.get("request")
        runbooks = Runbook.objects.all() if request is None else Runbook.objects.visible_to(request)
        return django_errors_as_drf(lambda ref: references.resolve_document(runbooks, ref), data)

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
        for index, link in enumerate(links):
            # A PATCH parses nested objects partially, so required keys may be missing.
            missing = [name for name in ("runbook", "relation") if name not in link]
            if missing:
                raise serializers.ValidationError(
                    {index: {name: ["This field is required."] for name in missing}}
                )
            key = (link["runbook"].pk, link["relation"])
            if key in seen:
                raise serializers.ValidationError(
                    f"'{link['runbook'].reference()}' is linked twice as '{link['relation']}'."
                )
            seen.add(key)
        return links

    def get_attribute(self, instance):
        found = page_values(self, instance)
        return found if found is not None else super().get_attribute(instance)

    def to_representation(self, links):
        # Links to runbooks the reader cannot see are left out (no slug leaks through them).
        visible = self.context.get("visible_runbook_ids")
        if isinstance(links, PageValues):
            return [
                {"runbook": f"{organisation}/{slug}", "relation": relation}
                for runbook_id, organisation, slug, relation in links
                if visible is None or runbook_id in visible
            ]
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
