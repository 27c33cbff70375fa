import django_filters
from django.db.models import Exists, OuterRef

from opsknowledge.filtersets import DocumentFilterSet, catalogue_object
from opsknowledge.models import Release

from .models import Practice, Runbook, RunbookAlert


class RunbookFilterSet(DocumentFilterSet):
    alert = django_filters.CharFilter(
        method="filter_alert", help_text="alert name, e.g. KubePodCrashLooping"
    )
    upgrade_from = django_filters.CharFilter(method="filter_upgrade_from")
    upgrade_to = django_filters.CharFilter(method="filter_upgrade_to")

    class Meta:
        model = Runbook
        fields = []

    def filter_alert(self, queryset, name, value):
        named = RunbookAlert.objects.filter(runbook=OuterRef("pk"), name__iexact=value.strip())
        return queryset.filter(Exists(named))

    def filter_upgrade_from(self, queryset, name, value):
        return queryset.filter(upgrade_from=catalogue_object(Release, name, value))

    def filter_upgrade_to(self, queryset, name, value):
        return queryset.filter(upgrade_to=catalogue_object(Release, name, value))


class PracticeFilterSet(DocumentFilterSet):
    class Meta:
        model = Practice
        fields = []
