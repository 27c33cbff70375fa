import django_filters
from rest_framework.exceptions import ValidationError

from opsknowledge.filtersets import catalogue_object
from opsknowledge.models import Component, Organisation

from .models import NoteKind, ReleaseNote


class ReleaseNoteFilterSet(django_filters.FilterSet):
    kind = django_filters.CharFilter(method="filter_kind", help_text="comma-separated kinds")
    component = django_filters.CharFilter(method="filter_component")
    organisation = django_filters.CharFilter(method="filter_organisation")

    class Meta:
        model = ReleaseNote
        fields = []

    def filter_kind(self, queryset, name, value):
        kinds = [k.strip() for k in value.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in NoteKind.values]
        if unknown:
            raise ValidationError(
                {name: [f"unknown kind '{unknown[0]}'; valid: {', '.join(NoteKind.values)}."]}
            )
        return queryset.filter(kind__in=kinds)

    def filter_component(self, queryset, name, value):
        component = catalogue_object(Component, name, value, aliases=True)
        return queryset.filter(component__in=Component.objects.with_descendants([component]))

    def filter_organisation(self, queryset, name, value):
        return queryset.filter(organisation=catalogue_object(Organisation, name, value))
