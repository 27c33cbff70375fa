from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from .. import references
from ..references import did_you_mean

__all__ = ["BriefSerializer", "SlugReferenceField", "did_you_mean"]


class PageValues(list):
    """A relation's values for one document, read for a whole list page in one query
    (`DocumentViewSet.list`): plain values, not model instances, and no queryset per row
    (building one per row and relation was the bulk of a list request)."""


def page_values(field, instance):
    """The page's values of `field`'s relation for `instance`, or None outside a list."""
    values = getattr(instance, "page_values", None)
    if values is not None and field.source in values:
        return PageValues(values[field.source])
    return None


def known_objects(field) -> dict:
    """The catalogue objects the field's serializer looked up for all its fields at once
    (`DocumentSerializer.to_internal_value`), by model and slug; {} when none."""
    return getattr(field.root, "known_objects", None) or {}


class PageValuesSlugsField(serializers.ManyRelatedField):
    """Many slugs: read from the page's values when a list loaded them."""

    def get_attribute(self, instance):
        found = page_values(self, instance)
        return found if found is not None else super().get_attribute(instance)

    def to_representation(self, iterable):
        if isinstance(iterable, PageValues):
            return list(iterable)
        return super().to_representation(iterable)

    def to_internal_value(self, data):
        if isinstance(data, str) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not self.allow_empty and len(data) == 0:
            self.fail("empty")
        child = self.child_relation
        if not all(isinstance(item, str) for item in data):
            child.fail("invalid")
        queryset = child.get_queryset()
        try:  # one query for the whole list, not one per slug
            return references.resolve_many(
                queryset,
                list(data),
                noun=child.noun,
                aliases=child.aliases,
                known=known_objects(self).get(queryset.model),
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class SlugReferenceField(serializers.SlugRelatedField):
    """A reference written and read as a slug. An unknown slug is a 400 naming the closest
    valid ones ("unknown component 'cepf'; did you mean 'ceph'?").

    `noun` names the kind in messages; `aliases` also accepts a component's aliases.
    """

    def __init__(self, *, noun: str, aliases: bool = False, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        self.noun = noun
        self.aliases = aliases
        super().__init__(**kwargs)

    @classmethod
    def many_init(cls, *args, **kwargs):
        # As DRF's RelatedField.many_init, with the page-aware list field.
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        list_kwargs.update({k: v for k, v in kwargs.items() if k in MANY_RELATION_KWARGS})
        return PageValuesSlugsField(**list_kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        queryset = self.get_queryset()
        try:
            return references.resolve(
                queryset,
                data,
                noun=self.noun,
                aliases=self.aliases,
                known=known_objects(self).get(queryset.model),
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class BriefSerializer(serializers.Serializer):
    """An embedded object: slug, name and where to find it."""

    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    def __init__(self, *args, view_name: str = "", **kwargs):
        self.view_name = view_name
        super().__init__(*args, **kwargs)

    def get_url(self, obj) -> str:
        from rest_framework.reverse import reverse

        return reverse(
            self.view_name, kwargs={"slug": obj.slug}, request=self.context.get("request")
        )
