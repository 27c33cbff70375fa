"""Writes of release notes, on the same path as documents' (`opsknowledge.services`): the
actor must be allowed to write the organisation, the content rules run whoever writes,
Markdown is rendered within the limits, and every real change is a new revision with its
snapshot in `Revision`. Importers are the callers today; a form or an endpoint would call
the same function.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from opsknowledge import markdown, stamps
from opsknowledge.exceptions import Conflict, ValidationError
from opsknowledge.revisions import snapshot
from opsknowledge.search import index as search_index
from opsknowledge.services import Actor, check_write, record_revision

from .models import ReleaseNote

# Resolved to objects by the caller; checking that they exist again would cost a query each.
RELATIONS = ("organisation", "release", "component")


@transaction.atomic
def release_note_upsert(
    *, organisation, release, slug: str, fields: dict, actor: Actor, message: str = ""
) -> tuple[str, ReleaseNote]:
    """Create or change the note `slug` of `organisation` on `release`; `fields` holds
    content fields (ReleaseNote.CONTENT_FIELDS) and leaves the others as they are.
    Returns ("created" | "updated" | "unchanged", note): equal content writes nothing."""
    check_write(actor, organisation)
    unknown = sorted(set(fields) - set(ReleaseNote.CONTENT_FIELDS))
    if unknown:
        message = "Not a content field of a release note."
        raise ValidationError({name: [message] for name in unknown})
    # Locked: of two importers changing the same note, the second sees the first's revision.
    note = (
        ReleaseNote.objects.select_for_update()
        .filter(organisation=organisation, release=release, slug=slug)
        .first()
    )
    if note is None:
        note, before = ReleaseNote(organisation=organisation, release=release, slug=slug), None
        shown_before = None
    else:
        before, shown_before = snapshot(note), stamps.before_write(note)
    for name, value in fields.items():
        setattr(note, name, value)
    content = snapshot(note)
    if content == before:
        return "unchanged", note
    try:
        note.body_html = markdown.render_within_limits(note.body or "")
    except markdown.TooComplex as error:
        raise ValidationError({"body": [str(error)]}) from None
    # Uniqueness is the database's (a concurrent create of the same slug is a Conflict).
    note.full_clean(exclude=RELATIONS, validate_unique=False, validate_constraints=False)
    if before is None:
        note.revision = 1
        try:
            with transaction.atomic():
                note.save()
        except IntegrityError:
            raise Conflict(
                f"Release note '{slug}' of '{organisation.slug}' on {release.slug} already exists."
            ) from None
    else:
        note.revision += 1
        note.save()
    record_revision(
        note, note.revision, content, actor, message or ("Created" if before is None else "Updated")
    )
    stamps.record(note, shown_before, fields)
    search_index.update(note, content)
    return ("created" if before is None else "updated"), note
