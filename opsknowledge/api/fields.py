import difflib

from rest_framework import serializers


def did_you_mean(value: str, choices) -> str:
    """ " did you mean 'ceph'?" for the closest valid choices, or a list of a few valid ones."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if not choices:
        return "; none exist yet."
    shown = ", ".join(f"'{c}'" for c in choices[:10])
    return f"; valid: {shown}" + (", …" if len(choices) > 10 else "") + "."


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
        queryset = self.get_queryset()
        slug = data.strip()
        try:
            return queryset.get(**{self.slug_field: slug})
        except queryset.model.DoesNotExist:
            pass
        if self.aliases:
            match = queryset.lookup(slug)
            if match is not None:
                return match
        choices = list(queryset.values_list(self.slug_field, flat=True))
        raise serializers.ValidationError(
            f"unknown {self.noun} '{slug}'" + did_you_mean(slug, choices)
        )


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
