"""Writes of documents of every kind: create, create-or-replace, update (with
preconditions), archive, adopt.

The API, the importers, the demo loader and the forms all call these, so every path checks
permissions and the content rules, renders Markdown, compares and sets revisions and records
history the same way. Each service is atomic: a write happens completely or not at all.
Services raise only the domain errors of `opsknowledge.exceptions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import JSONField, OuterRef, Subquery
from django.utils import timezone

from . import audit, markdown, references, sourcelinks, stamps
from .addresses import client_address
from .exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    PreconditionRequired,
    UnacknowledgedWarnings,
    ValidationError,
)
from .models import Component, License, Organisation, Release, Revision, Status, Visibility
from .referrers import describe, referrers
from .revisions import ANY, snapshot, snapshot_value
from .search import index as search_index
from .visibility import Access, readable_revisions

OPEN_VISIBILITIES = (Visibility.PUBLIC, Visibility.COMMUNITY)
# A precondition for `document_put` that HTTP has no word for: create the document, or
# replace whatever is current. Importers and the demo loader own the content they write.
OWNED = "owned"
# `document_put(existing=...)` left out: the service reads the document itself.
LOOK_UP = object()
# Fields a write may name but never change: they are the document's address.
ADDRESS_FIELDS = ("organisation", "slug")


@dataclass(frozen=True)
class Actor:
    """Who writes and how. `access=None` is the instance's operator (management commands),
    who is not subject to per-user permission checks."""

    access: Access | None
    via: str = Revision.Via.SYSTEM
    # For the audit log: how the request was authenticated ("token" or "session"; empty
    # outside a request), where it came from, and which token (its first characters).
    channel: str = ""
    address: str = ""
    token_start: str = ""

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
        token = getattr(request, "auth", None)
        channel = Revision.Via.TOKEN if access.via_token else Revision.Via.SESSION
        return cls(
            access=access,
            via=channel,
            channel=channel,
            address=client_address(request),
            token_start=getattr(token, "key_start", "") if access.via_token else "",
        )


def check_write(actor: Actor, organisation):
    if actor.access is not None and not actor.access.can_write(organisation):
        raise PermissionDenied(
            f"You need the editor or admin role in organisation '{organisation.slug}' to "
            "write there"
            + (" (this token acts for another organisation)." if actor.access.via_token else ".")
        )


@transaction.atomic
def catalogue_save(*, entry, actor: Actor):
    """Create or change a catalogue entry (component, release): staff and the operator only,
    and the model's rules (no loops in the trees, no fork of the upgrade chain) whoever
    writes."""
    if actor.access is not None and not actor.access.is_staff:
        raise PermissionDenied("Only staff manage the catalogue.")
    entry.full_clean()
    before = search_index.catalogue_state(entry)
    created = entry.pk is None
    entry.save()
    audit.record(
        actor,
        f"{entry._meta.model_name}.{'create' if created else 'update'}",
        target=entry.slug,
    )
    # Documents show a component's name and aliases in their text: renamed, they are
    # found by the new name at once.
    search_index.reindex_catalogue_entry(entry, before)
    # Briefings show notes' components by slug and name (a release's own fields are part
    # of the briefing ETag already).
    renamed = before is not None and (before["slug"], before["name"]) != (entry.slug, entry.name)
    if renamed and isinstance(entry, Component):
        stamps.touch()
    return entry


@transaction.atomic
def organisation_save(*, organisation, actor: Actor):
    """Create or change an organisation: staff and the operator only. Briefings show every
    document's organisation by slug and name: renamed, the ETags of its stamps move; search
    hits carry its documents' addresses: with a new slug, they are indexed again."""
    if actor.access is not None and not actor.access.is_staff:
        raise PermissionDenied("Only staff manage organisations.")
    organisation.full_clean()
    before = (
        None
        if organisation.pk is None
        else Organisation.objects.filter(pk=organisation.pk).values("slug", "name").first()
    )
    organisation.save()
    audit.record(
        actor,
        f"organisation.{'create' if before is None else 'update'}",
        organisation=organisation,
        target=organisation.slug,
    )
    if before is not None and before != {"slug": organisation.slug, "name": organisation.name}:
        stamps.touch(organisation=organisation)
    if before is not None and before["slug"] != organisation.slug:
        # Search hits carry the documents' addresses, which hold the slug.
        search_index.reindex_organisation(organisation)
    return organisation


@transaction.atomic
def catalogue_delete(*, entry, actor: Actor):
    """Delete a catalogue entry nothing refers to. Deleting a component or release that
    documents or notes refer to would strip it from them silently, without a revision
    (many-to-many links just vanish), and cascade to release notes: refused while anything
    does, with counts (never names: the referrers may be documents the caller cannot read)."""
    if actor.access is not None and not actor.access.is_staff:
        raise PermissionDenied("Only staff manage the catalogue.")
    counts = referrers(entry)
    if counts:
        raise Conflict(f"'{entry.slug}' is still referenced by {describe(counts)}.")
    audit.record(actor, f"{entry._meta.model_name}.delete", target=entry.slug)
    entry.delete()


# -- content rules -------------------------------------------------------------------------


def _normalised(model, data: dict, access, document=None) -> dict:
    """`data` as the model stores it: values as written (slugs, ISO times, JSON lists) are
    converted, tags and the kind's own lists take their one stored spelling, and a value
    that has none is refused here, whoever wrote it. `access` is the writer's, for references
    to other documents (None: the operator, who may refer to any); `document` the one
    written (None: a new one), whose rows the data may name by id."""
    converted, errors = {}, {}
    known = references.catalogue_objects(model, data, (Component, Release))
    for name, value in data.items():
        if name in ADDRESS_FIELDS:
            continue  # checked by _check_address, never written
        limit = model.LIST_LIMITS.get(name)
        if limit is not None and isinstance(value, list | tuple) and len(value) > limit:
            # Before any per-item work: refusing 20,000 tags must cost nothing.
            errors[name] = [f"Give at most {limit} items (got {len(value)})."]
            continue
        try:
            if name == "tags":
                converted[name] = references.normalise_tags(value or [])
            elif name in model.RELATED_CONTENT:
                converted[name] = model.normalise_related_content(
                    name, value, reader=access, document=document
                )
            else:
                try:
                    field = model._meta.get_field(name)
                except FieldDoesNotExist:  # not a model field: nothing to store
                    continue
                value = references.field_value(field, value, known)
                if isinstance(value, str) and name not in model.MARKDOWN_FIELDS:
                    value = value.strip()  # titles and summaries; Markdown stays as written
                elif isinstance(value, str):
                    # Stored with LF (API.md): a CRLF checkout exported and imported again
                    # is then the same text, not a new revision.
                    value = value.replace("\r\n", "\n")
                converted[name] = value
        except ValidationError as error:
            errors.update(_keyed(name, error))
    if errors:
        raise ValidationError(errors)
    return converted


def _keyed(name: str, error: ValidationError) -> dict:
    """A ValidationError's messages under `name` (and `name.<path>` for nested ones)."""
    if hasattr(error, "error_dict"):
        return {f"{name}.{key}": value for key, value in error.message_dict.items()}
    return {name: error.messages}


def _check_address(organisation, slug: str, data: dict):
    """`data` may repeat the document's address, but not name another one."""
    for name, current in (("organisation", organisation.slug), ("slug", slug)):
        if data.get(name) is None:
            continue
        given = getattr(data[name], "slug", data[name])
        if given != current:
            raise ValidationError(
                {name: [f"cannot be changed (is '{current}'); adopt the document instead."]}
            )


def _check_markdown_size(model, document, data: dict):
    """All Markdown fields of the document as it would be stored together stay within
    DOCUMENT_MARKDOWN_MAX_BYTES (rendering and sanitising grow with them)."""
    limit = settings.DOCUMENT_MARKDOWN_MAX_BYTES
    sizes = {
        name: len(str((data[name] if name in data else getattr(document, name, "")) or "").encode())
        for name in model.MARKDOWN_FIELDS
    }
    if sum(sizes.values()) > limit:
        largest = max((name for name in sizes if name in data), key=sizes.get, default="body")
        raise ValidationError(
            {
                largest: [
                    f"The Markdown of one document may be at most {limit // 1024} KiB in all; "
                    f"this one has {sum(sizes.values()) // 1024} KiB."
                ]
            }
        )


def _check_content(document):
    """The kind's rules (model fields, `clean()`) on the document as it would be stored.

    Uniqueness is left to the database (a taken slug is a 409, raced or not), and
    references are objects resolved before, so this costs no query of its own.
    """
    # References are objects the services resolved (the organisation included): checking
    # that they exist would cost a query each.
    relations = [field.name for field in document._meta.concrete_fields if field.is_relation]
    document.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)


def _links(model, organisation, data: dict, current=None):
    """How the relative links of a document's Markdown resolve: from its source path, as
    `data` sets it or the document has it (opsknowledge.sourcelinks)."""
    path, url = (
        data.get(name, getattr(current, name, "")) or "" for name in model.PROVENANCE_FIELDS
    )
    return sourcelinks.resolver(model.kind, organisation.slug, path, url)


def _columns(model, data: dict, links=None) -> dict:
    """The values in `data` that are plain columns of `model`, plus rendered Markdown
    (relative links resolved by `links`)."""
    columns = {}
    for name, value in data.items():
        if name in model.RELATED_CONTENT or name == "tags" or name in ADDRESS_FIELDS:
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # not a model field
            continue
        if field.concrete and not field.many_to_many:
            columns[field.attname if field.is_relation else name] = (
                value.pk if field.is_relation and value is not None else value
            )
    errors = {}
    for name in model.MARKDOWN_FIELDS:
        if name in data:
            try:
                columns[f"{name}_html"] = markdown.render_within_limits(data[name] or "", links)
            except markdown.TooComplex as error:
                errors[name] = [str(error)]
    if errors:
        raise ValidationError(errors)
    return columns


def _store_derived(document):
    """Derived columns that read relations (a report's warnings read its timeline), after
    the relations are written; kinds whose derived columns read only columns have them
    written with the row (`DERIVED_FROM_COLUMNS`)."""
    if document.DERIVED_FROM_COLUMNS:
        return
    derived = document.derived_columns()
    changed = {name: value for name, value in derived.items() if getattr(document, name) != value}
    if changed:
        type(document).objects.filter(pk=document.pk).update(**changed)
        for name, value in changed.items():
            setattr(document, name, value)


def _store_provenance(document, data: dict):
    """Where an unchanged document now comes from (a moved file): stored without a new
    revision, as it is no content."""
    moved = {
        name: data[name]
        for name in document.PROVENANCE_FIELDS
        if name in data and data[name] != getattr(document, name)
    }
    if moved:
        # Relative links resolve from the new path.
        links = _links(type(document), document.organisation, moved, document)
        for name in document.MARKDOWN_FIELDS:
            moved[f"{name}_html"] = markdown.render(getattr(document, name) or "", links)
        type(document).objects.filter(pk=document.pk).update(**moved)
        for name, value in moved.items():
            setattr(document, name, value)
        _store_derived(document)


def _set_references(document, data: dict):
    """The referenced objects of `data` on `document` (besides their ids), so that rules and
    snapshots read them without a query."""
    for name, value in data.items():
        if name in ADDRESS_FIELDS or name in document.RELATED_CONTENT or name == "tags":
            continue
        try:
            field = document._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.is_relation and field.concrete and not field.many_to_many:
            setattr(document, name, value)


def _content_after(document, data: dict, before: dict | None) -> dict:
    """snapshot(document) after a write of `data`, without reading back what it just wrote:
    written lists of slugs and names are taken as written (the snapshot's own form),
    unchanged relations from `before`. Related content stored in another shape than it
    was written (timelines: times as the database returns them) is read back."""
    model = type(document)
    content = {}
    for name in model.CONTENT_FIELDS:
        related = name in model.RELATED_CONTENT
        many = name == "tags" or (not related and model._meta.get_field(name).many_to_many)
        if name in data:
            value = data[name]
            if related and not all(isinstance(item, str) for item in value or []):
                content[name] = snapshot_value(document.get_related_content(name))
            else:
                content[name] = snapshot_value(value)
        elif before is not None:
            content[name] = before[name]  # not written: as it was
        elif related or many:
            content[name] = []  # created without it
        else:
            content[name] = snapshot_value(getattr(document, name))
    return content


def _growing(before: dict, proposed: dict, names) -> set[str]:
    """The relations among `names` that only gain items (sets of slugs or names): there is
    nothing to delete. Lists of rows (timelines) are replaced whole."""
    growing = set()
    for name in names:
        old, new = before.get(name), proposed.get(name)
        lists = isinstance(old, list) and isinstance(new, list)
        if lists and all(isinstance(i, str) for i in old + new) and set(old) <= set(new):
            growing.add(name)
    return growing


def _stored_snapshot(model):
    """The snapshot of the document's current revision, as an annotation: what the write
    compares with, read with the row (a snapshot is the document's content, by definition)."""
    return Subquery(
        Revision.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id=OuterRef("pk"),
            number=OuterRef("revision"),
        ).values("snapshot")[:1],
        output_field=JSONField(),
    )


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
        raise UnacknowledgedWarnings(warnings)


def _written_objects(model, data: dict) -> dict:
    """The many-to-many values just written, as the objects the write resolved: the API's
    response shows them without reading them back (`written_objects`)."""
    return {
        name: list(value)
        for name, value in data.items()
        if name in model.CONTENT_FIELDS
        and name != "tags"
        and name not in model.RELATED_CONTENT
        and model._meta.get_field(name).many_to_many
    }


def record_revision(document, number: int, content: dict, actor: Actor, message: str):
    """Revision `number` of `document` (any model with a `revision`), by `actor`."""
    Revision.objects.create(
        content_type=ContentType.objects.get_for_model(type(document)),
        object_id=document.pk,
        number=number,
        author=actor.user,
        via=actor.via,
        message=message[:500],
        snapshot=content,
    )
    audit.record_document_write(document, number, actor, message)


# -- the writes ----------------------------------------------------------------------------


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
    """Create a document (revision 1). Conflict when the slug is taken in that organisation."""
    check_write(actor, organisation)
    _check_address(organisation, slug, data)
    _check_markdown_size(model, None, data)
    data = _normalised(model, data, actor.access)
    document = model(organisation=organisation, slug=slug, author=actor.user, revision=1)
    for attname, value in _columns(model, data, _links(model, organisation, data)).items():
        setattr(document, attname, value)
    _set_references(document, data)
    _check_content(document)
    if document.DERIVED_FROM_COLUMNS:
        for name, value in document.derived_columns().items():
            setattr(document, name, value)
    try:
        # No savepoint of its own: this function's atomic block rolls back to its own when
        # the Conflict leaves it, and nothing was written before the row.
        document.save()
    except IntegrityError:
        raise Conflict(
            f"'{organisation.slug}/{slug}' already exists; PUT to its URL to replace it."
        ) from None
    document.apply_relations(data, created=True)
    _store_derived(document)
    content = _content_after(document, data, None)
    _check_warnings(document, None, content, acknowledge_warnings)
    record_revision(document, 1, content, actor, message or "Created")
    stamps.record(document, None, data)
    search_index.update(document, content)
    document.written_content = content
    document.written_objects = _written_objects(model, data)
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
    _check_address(document.organisation, document.slug, data)
    _check_markdown_size(model, document, data)
    data = _normalised(model, data, actor.access, document)
    with transaction.atomic():
        current = model.objects.select_related(*model.WRITE_SELECT_RELATED)
        if if_match == ANY:
            # "Whatever is current" must not lose to a concurrent writer: wait for it instead
            # (a row lock; on SQLite the immediate transaction already serialises writers).
            current = current.select_for_update(of=("self",))
        current = current.annotate(stored_snapshot=_stored_snapshot(model)).get(pk=document.pk)
        before = current.stored_snapshot
        if not isinstance(before, dict) or set(before) != set(model.CONTENT_FIELDS):
            before = snapshot(current)  # no revision recorded yet, or an older shape
        proposed = dict(before)
        proposed.update(
            {name: snapshot_value(value) for name, value in data.items() if name in before}
        )
        if proposed == before:
            _store_provenance(current, data)
            return current, False
        if if_match is None:
            raise PreconditionRequired(current.revision)
        if if_match != ANY and current.revision not in if_match:
            raise PreconditionFailed(current.revision)
        expected = current.revision
        # What the briefing stamps counted it in, before its columns and relations change.
        shown_before = stamps.before_write(current)
        columns = _columns(model, data, _links(model, current.organisation, data, current))
        for attname, value in columns.items():
            setattr(current, attname, value)
        _set_references(current, data)
        _check_content(current)
        if current.DERIVED_FROM_COLUMNS:
            derived = current.derived_columns()
            columns.update(
                {name: value for name, value in derived.items() if getattr(current, name) != value}
            )
            for name, value in derived.items():
                setattr(current, name, value)
        updated = timezone.now()
        # The compare-and-set: of writers that read the same revision, exactly one updates
        # the row; the others match no row and get 412.
        rows = model.objects.filter(pk=current.pk, revision=expected).update(
            **columns, revision=expected + 1, updated=updated
        )
        if rows == 0:
            latest = model.objects.filter(pk=current.pk).values_list("revision", flat=True)
            raise PreconditionFailed(latest.first() or expected)
        current.revision, current.updated = expected + 1, updated
        # Only the relations whose content changes: an unchanged list costs nothing.
        changed = {
            name: value
            for name, value in data.items()
            if name in before and proposed[name] != before[name]  # provenance is no content
        }
        current.apply_relations(changed, growing=_growing(before, proposed, changed))
        _store_derived(current)
        after = _content_after(current, data, before)
        _check_warnings(current, before, after, acknowledge_warnings)
        record_revision(current, expected + 1, after, actor, message or "Updated")
        stamps.record(current, shown_before, data)
        search_index.update(current, after)
        current.written_content = after
        current.written_objects = _written_objects(model, data)
        return current, True


def replacement_defaults(model) -> dict:
    """What a replacing PUT that leaves a content field out sets it to: the field's default.

    `status`, `visibility` and `license` are publication state rather than content: a PUT
    that leaves them out keeps them, so a pipeline re-publishing files can neither unpublish
    a document nor relicense it by omission. `language` is kept alike (API.md).
    """
    defaults = {}
    for name in model.CONTENT_FIELDS:
        if name in ("status", "visibility", "license", "language"):
            continue
        if name in model.RELATED_CONTENT or name == "tags":
            defaults[name] = []
            continue
        field = model._meta.get_field(name)
        defaults[name] = [] if field.many_to_many else field.get_default()
    return defaults


def document_put(
    *,
    model,
    organisation,
    slug: str,
    data: dict,
    actor: Actor,
    if_match,
    message: str = "",
    acknowledge_warnings: bool = False,
    create_defaults: dict | None = None,
    existing=LOOK_UP,
):
    """Create-or-replace (runbooks as code; ../API.md "PUT"). Returns (outcome, document),
    outcome "created" | "updated" | "unchanged".

    - missing: created (with `if_match` given → PreconditionFailed, nothing to match;
      `OWNED` creates);
    - existing with equal content: unchanged, whatever the precondition;
    - existing with other content: replaced as `document_update` does; fields `data` leaves
      out are reset to their defaults (`replacement_defaults`).
    Concurrent PUTs creating the same document: one creates it, the others replace it
    like any later PUT (so identical content is "unchanged", never a conflict).
    `create_defaults` fill fields `data` leaves out only when the document is created
    (an import's --visibility default must not hide an existing, public document).
    `existing`: the document at that address (or None) when the caller has just read it.
    """
    check_write(actor, organisation)
    if existing is LOOK_UP:
        existing = model.objects.filter(organisation=organisation, slug=slug).first()
    if existing is not None:
        existing.organisation = organisation  # the same row: no query to read it again
    if existing is None:
        if if_match not in (None, OWNED):
            raise PreconditionFailed(
                None, f"If-Match was sent but '{organisation.slug}/{slug}' does not exist."
            )
        try:
            document = document_create(
                model=model,
                organisation=organisation,
                slug=slug,
                data={**(create_defaults or {}), **data},
                actor=actor,
                message=message,
                acknowledge_warnings=acknowledge_warnings,
            )
            return "created", document
        except Conflict:
            # Created by a concurrent writer since we looked: replace it like any PUT would.
            existing = model.objects.filter(organisation=organisation, slug=slug).first()
            if existing is None:
                raise
    document, changed = document_update(
        document=existing,
        data={**replacement_defaults(model), **data},
        actor=actor,
        if_match=ANY if if_match == OWNED else if_match,
        message=message,
        acknowledge_warnings=acknowledge_warnings,
    )
    return ("updated" if changed else "unchanged"), document


def document_archive(*, document, actor: Actor, if_match, message: str = ""):
    """Archive (never delete): content and history stay, the URL keeps answering."""
    return document_update(
        document=document,
        data={"status": Status.ARCHIVED},
        actor=actor,
        if_match=if_match,
        message=message or "Archived",
    )


def adoption_refusal(source) -> str | None:
    """Why `source` cannot be adopted, or None. Adoption is reuse across organisations:
    only what is published to other organisations can be reused, under a licence that
    allows derivatives."""
    if source.status != Status.PUBLISHED:
        return (
            f"'{source}' is not published ({source.status}); only published documents can "
            "be adopted."
        )
    if source.visibility not in OPEN_VISIBILITIES:
        return (
            f"'{source}' is visible to its organisation only; only public or community "
            "documents can be adopted."
        )
    if not License.allows_derivatives(source.license):
        return (
            f"'{source}' is licensed {source.license}, which does not allow derivatives; "
            "it cannot be adopted."
        )
    return None


def document_adopt(
    *, source, organisation, slug: str | None, actor: Actor, overrides: dict | None = None
):
    """Copy `source` into `organisation`, remembering where it came from."""
    refusal = adoption_refusal(source)
    if refusal:
        raise Conflict(refusal)
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


# The copy's own publication state: its owners decide it, not the original's.
UPSTREAM_KEEPS = ("status", "visibility", "license")


def document_update_from_upstream(*, document, actor: Actor, if_match, message: str = ""):
    """Apply to the adopted `document` what changed in its original since the revision it
    adopted (or last updated from), as a new revision. Returns (document, changed).

    Each content field the original changed since then takes the original's value; fields
    only the copy changed keep the copy's. Status, visibility and licence stay the copy's,
    except that a ShareAlike licence of the original passes on. Refused (Conflict) when the
    original can no longer be adopted (its licence now forbids derivatives, or it is no
    longer published to other organisations); NotFound when it is not readable."""
    check_write(actor, document.organisation)
    model = type(document)
    if not getattr(document, "has_upstream", False):
        raise NotFound(f"'{document}' was not adopted from another document.")
    originals = model.objects.all()
    if actor.access is not None:
        originals = originals.visible_to(actor.access)
    original = (
        originals.select_related("organisation")
        .filter(organisation__slug=document.upstream_organisation, slug=document.upstream_slug)
        .first()
    )
    if original is None:
        raise NotFound("The original document no longer exists or is not visible to you.")
    refusal = adoption_refusal(original)
    if refusal:
        raise Conflict(refusal)
    revisions = Revision.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id=original.pk,
        number=document.upstream_revision,
    )
    if actor.access is not None:
        revisions = readable_revisions(revisions, original, actor.access)
    adopted = revisions.first()
    if adopted is None:
        raise NotFound("The adopted revision of the original is not readable by you.")
    now = snapshot(original)
    data = {
        name: now[name]
        for name in model.CONTENT_FIELDS
        if name not in UPSTREAM_KEEPS and adopted.snapshot.get(name) != now.get(name)
    }
    if License.is_share_alike(original.license):
        data["license"] = original.license
    upstream = {"upstream_revision": original.revision, "upstream_license": original.license}
    document, changed = document_update(
        document=document,
        data={**data, **upstream},
        actor=actor,
        if_match=if_match,
        message=message or f"Updated from {original} revision {original.revision}",
    )
    if not changed:
        # Nothing to apply (or applied by hand already): the copy now follows the newer
        # revision without a revision of its own, as the upstream fields are no content.
        model.objects.filter(pk=document.pk).update(**upstream)
        for name, value in upstream.items():
            setattr(document, name, value)
    return document, changed
