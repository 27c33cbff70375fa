"""Writes of documents of every kind: create, update (with preconditions), archive, adopt.

The API, the importers, the demo loader and (later) forms all call these, so every path
checks permissions, renders Markdown, compares and sets revisions and records history the
same way. Each service is atomic: a write happens completely or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from . import markdown
from .api.errors import Conflict, PreconditionFailed, PreconditionRequired
from .models import License, Revision, Status, Visibility
from .permissions import Access
from .revisions import ANY, snapshot, snapshot_value

OPEN_VISIBILITIES = (Visibility.PUBLIC, Visibility.COMMUNITY)


@dataclass(frozen=True)
class Actor:
    """Who writes and how. `access=None` is the instance's operator (management commands),
    who is not subject to per-user permission checks."""

    access: Access | None
    via: str = Revision.Via.SYSTEM

    @property
    def user(self):
        if self.access is None or not self.access.is_authenticated:
            return None
        return self.access.user

    @classmethod
    def operator(cls, via=Revision.Via.IMPORT) -> Actor:
        return cls(access=None, via=via)

    @classmethod
    def of_request(cls, request) -> Actor:
        access = Access.of(request)
        return cls(
            access=access, via=Revision.Via.TOKEN if access.via_token else Revision.Via.SESSION
        )


def check_write(actor: Actor, organisation):
    if actor.access is not None and not actor.access.can_write(organisation):
        raise PermissionDenied(
            f"You need the editor or admin role in organisation '{organisation.slug}' to "
            "write there"
            + (" (this token acts for another organisation)." if actor.access.via_token else ".")
        )


def _columns(model, data: dict) -> dict:
    """The values in `data` that are plain columns of `model`, plus rendered Markdown."""
    columns = {}
    for name, value in data.items():
        if name in model.RELATED_CONTENT or name == "tags":
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # not a model field (e.g. acknowledge_warnings)
            continue
        if field.concrete and not field.many_to_many:
            columns[field.attname if field.is_relation else name] = (
                value.pk if field.is_relation and value is not None else value
            )
    for name in model.MARKDOWN_FIELDS:
        if name in data:
            columns[f"{name}_html"] = markdown.render(data[name] or "")
    return columns


def _store_derived(document):
    derived = document.derived_columns()
    if derived:
        type(document).objects.filter(pk=document.pk).update(**derived)
        for name, value in derived.items():
            setattr(document, name, value)


def _publishes(before: dict | None, after: dict) -> bool:
    """Does this write make the document reach more readers as a published document?"""
    if after["status"] != Status.PUBLISHED:
        return False
    if before is None or before["status"] != Status.PUBLISHED:
        return True
    return after["visibility"] in OPEN_VISIBILITIES and after["visibility"] != before["visibility"]


def _check_warnings(document, before, after, acknowledge: bool):
    if acknowledge or not _publishes(before, after):
        return
    warnings = document.publication_warnings()
    if warnings:
        error = ValidationError(
            {
                "acknowledge_warnings": [
                    f"This document has {len(warnings)} warning(s); publishing it needs "
                    '"acknowledge_warnings": true in the same request.'
                ]
            }
        )
        error.extra = {"warnings": warnings}  # the error body lists them (API.md)
        raise error


def _record(document, number: int, content: dict, actor: Actor, message: str):
    Revision.objects.create(
        content_type=ContentType.objects.get_for_model(type(document)),
        object_id=document.pk,
        number=number,
        author=actor.user,
        via=actor.via,
        message=message[:500],
        snapshot=content,
    )


@transaction.atomic
def document_create(
    *,
    model,
    organisation,
    slug: str,
    data: dict,
    actor: Actor,
    message: str = "",
    acknowledge_warnings: bool = False,
):
    """Create a document (revision 1). 409 when the slug is taken in that organisation."""
    check_write(actor, organisation)
    document = model(organisation=organisation, slug=slug, author=actor.user, revision=1)
    for attname, value in _columns(model, data).items():
        setattr(document, attname, value)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        raise Conflict(
            f"'{organisation.slug}/{slug}' already exists; PUT to its URL to replace it."
        ) from None
    document.apply_relations(data)
    _store_derived(document)
    content = snapshot(document)
    _check_warnings(document, None, content, acknowledge_warnings)
    _record(document, 1, content, actor, message or "Created")
    return document


def document_update(
    *,
    document,
    data: dict,
    actor: Actor,
    if_match,
    message: str = "",
    acknowledge_warnings: bool = False,
):
    """Apply `data` to `document`. Returns (document, changed).

    Content equal to the current revision changes nothing and needs no precondition
    (pipelines re-publish everything on every run). A change needs `if_match`: None → 428,
    a set of revision numbers without the current one → 412, ANY → whatever is current.
    The write is a compare-and-set on the revision column, so of concurrent writers
    holding the same revision exactly one wins.
    """
    check_write(actor, document.organisation)
    model = type(document)
    with transaction.atomic():
        current = model.objects.select_related("organisation")
        if if_match == ANY:
            # "Whatever is current" must not lose to a concurrent writer: wait for it instead
            # (a row lock; on SQLite the immediate transaction already serialises writers).
            current = current.select_for_update(of=("self",))
        current = current.get(pk=document.pk)
        before = snapshot(current)
        proposed = dict(before)
        proposed.update(
            {name: snapshot_value(value) for name, value in data.items() if name in before}
        )
        if proposed == before:
            return current, False
        if if_match is None:
            raise PreconditionRequired(current.revision)
        if if_match != ANY and current.revision not in if_match:
            raise PreconditionFailed(current.revision)
        expected = current.revision
        columns = _columns(model, data)
        updated = timezone.now()
        # The compare-and-set: of writers that read the same revision, exactly one updates
        # the row; the others match no row and get 412.
        rows = model.objects.filter(pk=current.pk, revision=expected).update(
            **columns, revision=expected + 1, updated=updated
        )
        if rows == 0:
            latest = model.objects.filter(pk=current.pk).values_list("revision", flat=True)
            raise PreconditionFailed(latest.first() or expected)
        for attname, value in columns.items():
            setattr(current, attname, value)
        current.revision, current.updated = expected + 1, updated
        current.apply_relations(data)
        _store_derived(current)
        after = snapshot(current)
        _check_warnings(current, before, after, acknowledge_warnings)
        _record(current, expected + 1, after, actor, message or "Updated")
        return current, True


def document_archive(*, document, actor: Actor, if_match, message: str = ""):
    """Archive (never delete): content and history stay, the URL keeps answering."""
    return document_update(
        document=document,
        data={"status": Status.ARCHIVED},
        actor=actor,
        if_match=if_match,
        message=message or "Archived",
    )


def document_adopt(
    *, source, organisation, slug: str | None, actor: Actor, overrides: dict | None = None
):
    """Copy `source` into `organisation`, remembering where it came from."""
    if not License.allows_derivatives(source.license):
        raise Conflict(
            f"'{source}' is licensed {source.license}, which does not allow derivatives; "
            "it cannot be adopted."
        )
    data = source.content_data()
    # The copy starts private and unpublished, whatever the original was: its new owners
    # decide when and to whom to publish it.
    data.update({"status": Status.DRAFT, "visibility": Visibility.ORGANISATION})
    data.update(overrides or {})
    data.update(
        {
            "upstream_organisation": source.organisation.slug,
            "upstream_slug": source.slug,
            "upstream_revision": source.revision,
            "upstream_license": source.license,
        }
    )
    return document_create(
        model=type(source),
        organisation=organisation,
        slug=slug or source.slug,
        data=data,
        actor=actor,
        message=f"Adopted from {source} revision {source.revision}",
    )


def release_note_upsert(*, organisation, release, slug: str, fields: dict) -> tuple[str, object]:
    """Create or update one release note (importers). Returns ("created" | "updated" |
    "unchanged", note); writes nothing when the note is unchanged."""
    from .models import ReleaseNote

    fields = {**fields, "body_html": markdown.render(fields.get("body", ""))}
    note = ReleaseNote.objects.filter(organisation=organisation, release=release, slug=slug).first()
    if note is None:
        note = ReleaseNote.objects.create(
            organisation=organisation, release=release, slug=slug, **fields
        )
        return "created", note
    changed = {name: value for name, value in fields.items() if getattr(note, name) != value}
    if not changed:
        return "unchanged", note
    for name, value in changed.items():
        setattr(note, name, value)
    note.save()
    return "updated", note
