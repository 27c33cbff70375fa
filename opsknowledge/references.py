"""Turning what people write into what is stored: catalogue slugs (with component aliases),
organisations, document references, tags and alert names, and the "did you mean" texts for
what matches nothing.

One module for every caller — the API's serializers and filters, the importers, the forms
and the write services — so a reference means the same and fails with the same words
wherever it is written. Failures are Django `ValidationError`s carrying the message only;
the caller knows which field it was.
"""

from __future__ import annotations

import datetime
import difflib
import re

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

# Tags are shared by all organisations: one spelling per tag.
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9._+-]*")
TAG_MAX_LENGTH = 100
# Prometheus label values may be anything, but alert names are metric-name-like identifiers.
ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:.-]*")
ALERT_NAME_MAX_LENGTH = 200


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


def resolve(queryset, value, *, noun: str | None = None, aliases: bool = False, known=None):
    """The catalogue object (organisation, component, release) whose slug is `value`, or
    whose alias it is when `aliases`; else ValidationError "unknown component 'cepf'; did you
    mean 'ceph'?". `known`: objects of the queryset's model already looked up, by slug
    (`catalogue_objects`); a slug among them costs no query."""
    model = queryset.model
    noun = noun or model._meta.verbose_name
    if not isinstance(value, str):
        raise ValidationError(f"Give the {noun} as its slug (a string).")
    slug = value.strip()
    found = (known or {}).get(slug)
    if found is None:
        found = queryset.filter(slug=slug).first()
    if found is None and aliases:
        found = queryset.lookup(slug)
    if found is None:
        choices = queryset.values_list("slug", flat=True)
        raise ValidationError(f"unknown {noun} '{slug}'" + did_you_mean(slug, choices))
    return found


def resolve_many(
    queryset, values, *, noun: str | None = None, aliases: bool = False, known=None
) -> list:
    """Each of `values` resolved as by `resolve`; duplicates fold into one. `known`: the
    objects of the queryset's model already looked up by slug (`catalogue_objects`)."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ValidationError("Give a list of slugs.")
    # One query for the slugs as given; aliases and unknown slugs (rare) one by one.
    slugs = [value.strip() for value in values if isinstance(value, str)]
    by_slug = dict(known or {})
    missing = [slug for slug in slugs if slug not in by_slug]
    if missing:
        by_slug.update({obj.slug: obj for obj in queryset.filter(slug__in=missing)})
    found = {}
    for value in values:
        obj = by_slug.get(value.strip()) if isinstance(value, str) else None
        if obj is None:
            obj = resolve(queryset, value, noun=noun, aliases=aliases)
        found[obj.pk] = obj
    return list(found.values())


def normalise_tags(values) -> list[str]:
    """Tags as a sorted list of lower-case words; "Storage " and "storage" are one tag."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ValidationError("Give the tags as a list of words.")
    tags = set()
    for value in values:
        if not isinstance(value, str):
            raise ValidationError(f"invalid tag {value!r}: a tag is a word (a string)")
        tag = value.strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX_LENGTH or not TAG_PATTERN.fullmatch(tag):
            raise ValidationError(
                f"invalid tag {tag[:TAG_MAX_LENGTH]!r}: use lower-case letters, digits and "
                f". _ + - (no spaces or commas), at most {TAG_MAX_LENGTH} characters"
            )
        tags.add(tag)
    return sorted(tags)


def normalise_alert_names(values) -> list[str]:
    """Alert names (the `alertname` label) as a sorted list without duplicates."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ValidationError("Give the alert names as a list.")
    names = set()
    for value in values:
        if not isinstance(value, str):
            raise ValidationError(f"invalid alert name {value!r}: give the alertname label")
        name = value.strip()
        if not name:
            continue
        if len(name) > ALERT_NAME_MAX_LENGTH or not ALERT_NAME.fullmatch(name):
            raise ValidationError(
                f"invalid alert name {name[:ALERT_NAME_MAX_LENGTH]!r}: use the alertname "
                "label, e.g. 'KubePodCrashLooping'"
            )
        names.add(name)
    return sorted(names)


def resolve_document(queryset, reference):
    """The document "organisation/slug" among `queryset` (which the caller has already
    narrowed to what the writer may read): anything else is "unknown", exactly like a
    document that does not exist."""
    noun = queryset.model.kind
    if not isinstance(reference, str) or reference.strip().count("/") != 1:
        raise ValidationError("Use 'organisation/slug', e.g. 'scs/ceph-osd-full'.")
    organisation, slug = reference.strip().split("/")
    document = (
        queryset.select_related("organisation")
        .filter(organisation__slug=organisation, slug=slug)
        .first()
    )
    if document is None:
        raise ValidationError(f"unknown {noun} '{reference.strip()}'.")
    return document


def catalogue_objects(model, data: dict, catalogue: tuple) -> dict:
    """The objects of the `catalogue` models (components, releases) that `data`, a write of
    `model`, names by slug, looked up with one query per catalogue model
    ({catalogue model: {slug: object}}): a runbook's releases,
    `upgrade_from` and `upgrade_to` are one query, not three. Aliases and unknown slugs
    are left to `field_value`, which resolves them one by one."""
    wanted = {}
    for name, value in data.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # not a model field: nothing to look up
            continue
        related = field.related_model if field.is_relation else None
        if related not in catalogue:
            continue  # tags, the organisation (the address), users
        values = value if field.many_to_many and isinstance(value, list | tuple) else [value]
        if len(values) > model.LIST_LIMITS.get(name, len(values)):
            continue  # refused by the caller before any per-item work
        slugs = [v.strip() for v in values if isinstance(v, str) and v.strip()]
        if slugs:
            wanted.setdefault(related, set()).update(slugs)
    return {
        related: {obj.slug: obj for obj in related.objects.filter(slug__in=sorted(slugs))}
        for related, slugs in wanted.items()
    }


def field_value(field, value, known: dict | None = None):
    """`value`, as written (JSON, front matter, a form), converted to what model `field`
    stores: catalogue objects for slugs, dates for ISO strings; naive times are UTC.
    `known`: objects already looked up (`catalogue_objects`)."""
    if field.many_to_many:
        if value is None:
            value = []
        if isinstance(value, list | tuple) and all(isinstance(v, models.Model) for v in value):
            return list(value)
        queryset = field.related_model.objects.all()
        by_slug = None if known is None else known.get(field.related_model, {})
        return resolve_many(queryset, value, aliases=hasattr(queryset, "lookup"), known=by_slug)
    if field.is_relation:
        if value is None or value == "" or isinstance(value, models.Model):
            return value or None
        queryset = field.related_model.objects.all()
        by_slug = None if known is None else known.get(field.related_model)
        return resolve(queryset, value, aliases=hasattr(queryset, "lookup"), known=by_slug)
    if isinstance(value, bool) and not isinstance(field, models.BooleanField):
        raise ValidationError(f"{str(value).lower()} is not a valid value here.")
    value = field.to_python(value)
    if isinstance(field, models.DateTimeField) and value is not None:
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
        try:
            value = value.astimezone(datetime.UTC)
        except OverflowError:
            raise ValidationError("That time is out of range once converted to UTC.") from None
    return value


MARKDOWN_SUFFIXES = (".md", ".markdown")


def slug_from_file_name(name: str) -> str:
    """The slug a document gets from its file name (API.md "Management commands"): the name
    without a Markdown extension, slugified with underscores and dots turned into hyphens
    (`KubePodCrashLooping.md` → `kubepodcrashlooping`, `pg_repack.md` → `pg-repack`). The one
    derivation shared by the importers and lint's dead-link check, so that a relative link
    to `pg_repack.md` finds the runbook imported from it."""
    name = name.rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if dot and f".{suffix.lower()}" in MARKDOWN_SUFFIXES:
        name = stem
    return re.sub(r"-{2,}", "-", slugify(re.sub(r"[_.]", "-", name))).strip("-")


# A folder's overview page takes the folder's name (importers: README.md, index.md, _index.md).
OVERVIEW_STEMS = {"readme", "index", "_index"}


def slug_from_tree_path(path: str) -> str:
    """The slug an importer derives for the file at `path` in a tree: its file name's
    (`slug_from_file_name`), or for a folder's overview page (`README.md`, `index.md`) the
    folder's. A relative link to the file resolves to the document by this slug."""
    parts = [part for part in path.split("/") if part]
    if not parts:
        return ""
    stem = parts[-1].rpartition(".")[0] if "." in parts[-1] else parts[-1]
    if stem.lower() in OVERVIEW_STEMS and len(parts) > 1:
        return slug_from_file_name(parts[-2])
    return slug_from_file_name(parts[-1])
