"""Serializer output built from per-field readers worked out once per serializer.

DRF's `Serializer.to_representation` walks every field for every row: a generator over the
readable fields, `get_attribute` through `source_attrs` (with a callable check per step), a
`PKOnlyObject` check and `to_representation`. For a list of 200 documents with 20 fields
that is 4,000 rounds of it, about a third of the request. `ReadersMixin` does the same work
with one reader per field, chosen once: a plain column read for the simple field types
whose `to_representation` leaves a value of their own type unchanged, the method for a
SerializerMethodField, and DRF's own steps (`get_attribute`, the None check,
`to_representation`) for every other field. The output is the same dict in the same
order; tests/test_representation.py compares it with DRF's over every document kind.
"""

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings


def _plain_reader(field, python_type):
    name = field.source_attrs[0]
    represent = field.to_representation

    def read(instance):
        value = getattr(instance, name)
        if value is None or type(value) is python_type:
            return value
        return represent(value)

    return read


def _related_reader(field, python_type):
    # A column of a related row (`source="organisation.slug"`): two attribute reads when the
    # related row is there and the value is of the field's own type; DRF's steps otherwise
    # (a missing row, a callable, a mapping: its defaults, null and SkipField rules apply).
    relation, name = field.source_attrs
    drf_read = _drf_reader(field)

    def read(instance):
        try:
            related = getattr(instance, relation)
        except (ObjectDoesNotExist, AttributeError):  # a mapping, or no such attribute
            return drf_read(instance)
        if related is None or callable(related) or isinstance(related, Mapping):
            return drf_read(instance)
        value = getattr(related, name, None)
        return value if type(value) is python_type else drf_read(instance)

    return read


def _choice_reader(field):
    # ChoiceField.to_representation: '' and None as they are, else the choice's own value.
    name = field.source_attrs[0]
    choices = field.choice_strings_to_values

    def read(instance):
        value = getattr(instance, name)
        if value in ("", None):
            return value
        return choices.get(str(value), value)

    return read


def _datetime_reader(field):
    # DateTimeField.to_representation for an aware value in ISO 8601: converted to the
    # field's time zone, which is the request's (looked up once here, not per value).
    name = field.source_attrs[0]
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if zone is None or output_format is None or output_format.lower() != ISO_8601:
        return _drf_reader(field)
    represent = field.to_representation

    def read(instance):
        value = getattr(instance, name)
        if value is None:
            return None
        if value.__class__ is not datetime or value.utcoffset() is None:
            return represent(value)  # naive, or not a datetime: DRF's own rules
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return read


def _drf_reader(field):
    # Serializer.to_representation's steps for one field; SkipField leaves the key out.
    def read(instance):
        attribute = field.get_attribute(instance)
        check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        return None if check_for_none is None else field.to_representation(attribute)

    return read


# Readers for fields of exactly these classes (not subclasses, which may override reading or
# representing) that read one attribute. A plain reader represents a value already of the
# given type as itself; so does a related one, for a column of a related row.
_COLUMN_READERS = {
    serializers.CharField: lambda field: _plain_reader(field, str),
    serializers.IntegerField: lambda field: _plain_reader(field, int),
    serializers.BooleanField: lambda field: _plain_reader(field, bool),
    serializers.ChoiceField: _choice_reader,
    serializers.DateTimeField: _datetime_reader,
}
_RELATED_READERS = {
    serializers.CharField: lambda field: _related_reader(field, str),
    serializers.IntegerField: lambda field: _related_reader(field, int),
}


def reader_for(serializer, field):
    if isinstance(field, serializers.SerializerMethodField):
        return getattr(serializer, field.method_name)
    column_reader = _COLUMN_READERS.get(type(field))
    if column_reader and len(field.source_attrs) == 1 and field.source != "*":
        return column_reader(field)
    related_reader = _RELATED_READERS.get(type(field))
    if related_reader and len(field.source_attrs) == 2:
        return related_reader(field)
    return _drf_reader(field)


class ReadersMixin:
    """`to_representation` through per-field readers (see the module's docstring)."""

    def to_representation(self, instance):
        readers = self.__dict__.get("_readers")
        if readers is None:
            readers = self._readers = [
                (field.field_name, reader_for(self, field)) for field in self._readable_fields
            ]
        representation = {}
        for name, read in readers:
            try:
                representation[name] = read(instance)
            except SkipField:  # as DRF: the field is left out
                continue
        return representation
