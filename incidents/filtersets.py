import django_filters
from django.db.models import Exists, OuterRef
from rest_framework.exceptions import ValidationError

from opsknowledge.filtersets import BoundedDateTimeFilter, DocumentFilterSet, StrictBooleanFilter
from opsknowledge.visibility import Access
from runbooks.models import Runbook

from .models import ActionItem, FailureReport, RunbookLink, Severity


class FailureReportFilterSet(DocumentFilterSet):
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    started_after = BoundedDateTimeFilter(
        param="started_after", field_name="started_at", lookup_expr="gte"
    )
    started_before = BoundedDateTimeFilter(
        param="started_before", field_name="started_at", lookup_expr="lt"
    )
    has_open_actions = StrictBooleanFilter(method="filter_open_actions")
    runbook = django_filters.CharFilter(
        method="filter_runbook", help_text="reports linked to the runbook 'organisation/slug'"
    )

    class Meta:
        model = FailureReport
        fields = []

    def filter_open_actions(self, queryset, name, value):
        open_items = ActionItem.objects.filter(
            report=OuterRef("pk"), status__in=ActionItem.OPEN_STATUSES
        )
        return queryset.filter(Exists(open_items) if value else ~Exists(open_items))

    def filter_runbook(self, queryset, name, value):
        if value.count("/") != 1:
            raise ValidationError({name: ["Use 'organisation/slug'."]})
        organisation, slug = value.split("/")
        # A runbook the caller cannot read filters like one that does not exist.
        runbook = (
            Runbook.objects.visible_to(Access.of(self.request))
            .filter(organisation__slug=organisation, slug=slug)
            .first()
        )
        if runbook is None:
            return queryset.none()
        links = RunbookLink.objects.filter(report=OuterRef("pk"), runbook=runbook)
        return queryset.filter(Exists(links))
