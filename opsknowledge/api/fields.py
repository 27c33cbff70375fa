from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from .. import references
from ..references import did_you_mean

__all__ = ["BriefSerializer", "SlugReferenceField", "did_you_mean"]


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

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return references.resolve(
                self.get_queryset(), data, noun=self.noun, aliases=self.aliases
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
