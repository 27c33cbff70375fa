"""The FilterSet every document kind starts from. Related objects are filtered by slug;
an unknown catalogue slug is a 400 naming the closest valid one (the catalogue is public),
while tags are matched without validation, as the tag table is shared by all organisations
and must not tell anyone which tags exist."""

import datetime

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from rest_framework.exceptions import ValidationError
from taggit.models import TaggedItem

from .api.fields import did_you_mean
from .models import Component, Organisation, Release, Visibility
from .models.documents import having_any
from .search import service as search


def catalogue_object(model, field: str, value: str, *, aliases=False):
    value = value.strip()
    found = model.objects.filter(slug=value).first()
    if found is None and aliases:
        found = model.objects.lookup(value)
    if found is None:
        noun = model._meta.verbose_name
        choices = model.objects.values_list("slug", flat=True)
        raise ValidationError({field: [f"unknown {noun} '{value}'" + did_you_mean(value, choices)]})
    return found


class BoundedDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO datetime that the database can store, queried in UTC: 9999-12-31T23:59-14:00
    is past year 9999 in UTC, which SQLite cannot represent (an error, not an empty list),
    and PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 and Python allow."""

    def __init__(self, *args, param: str, **kwargs):
        self.param = param  # the query parameter, to name it in errors
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is not None:
            try:
                value = value.astimezone(datetime.UTC)
            except OverflowError:
                raise ValidationError(
                    {self.param: ["That time is out of range once converted to UTC."]}
                ) from None
        return super().filter(qs, value)


class StrictBooleanField(forms.NullBooleanField):
    """true or false (1 or 0); empty is absent. Django's field reads anything else as
    "no filter", which answers a typo with the unfiltered list."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}
    widget = forms.TextInput  # Django's select widget turns unknown values into None

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        found = self.VALUES.get(str(value).lower())
        if found is None:
            raise forms.ValidationError(f"'{str(value)[:50]}' is not true or false.")
        return found

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class DocumentFilterSet(django_filters.FilterSet):
    organisation = django_filters.CharFilter(method="filter_organisation")
    component = django_filters.CharFilter(
        method="filter_component", help_text="component slug or alias; includes its children"
    )
    release = django_filters.CharFilter(method="filter_release")
    tag = django_filters.CharFilter(method="filter_tag")
    status = django_filters.CharFilter(method="filter_status")
    visibility = django_filters.ChoiceFilter(choices=Visibility.choices)
    updated_since = BoundedDateTimeFilter(
        param="updated_since", field_name="updated", lookup_expr="gte"
    )
    q = django_filters.CharFilter(
        method="filter_text",
        help_text='search syntax as /api/v1/search/: words, "phrases", -exclusion, or',
    )

    def filter_organisation(self, queryset, name, value):
        return queryset.filter(organisation=catalogue_object(Organisation, name, value))

    def filter_component(self, queryset, name, value):
        component = catalogue_object(Component, name, value, aliases=True)
        ids = Component.objects.with_descendants([component])
        return having_any(queryset, "components", ids)

    def filter_release(self, queryset, name, value):
        return having_any(queryset, "releases", [catalogue_object(Release, name, value).pk])

    def filter_tag(self, queryset, name, value):
        # EXISTS, like the other relations: a join would need a DISTINCT over every column.
        tagged = TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(queryset.model),
            object_id=OuterRef("pk"),
            tag__name=value.strip().lower(),
        )
        return queryset.filter(Exists(tagged))

    def filter_status(self, queryset, name, value):
        valid = [choice for choice, _label in queryset.model.STATUS_CHOICES]
        if value not in valid:
            raise ValidationError(
                {name: [f"'{value}' is not a status; valid: {', '.join(valid)}."]}
            )
        return queryset.filter(status=value)

    def filter_text(self, queryset, name, value):
        try:
            return queryset.filter(pk__in=search.matching_ids(queryset.model, value))
        except DjangoValidationError as error:
            raise ValidationError({name: error.messages}) from None
