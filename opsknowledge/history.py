"""A document's history as a reader may see it: its revisions, the diff between two of
them, and how an adopted copy compares with its original. The REST API and the web pages
both read history through these functions, so both reveal exactly the same revisions."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .models import Revision
from .revisions import diff_snapshots, snapshot
from .visibility import readable_revisions


def revision_queryset(document, who):
    """The revisions of `document` that `who` may read (visibility.readable_revisions)."""
    revisions = Revision.objects.filter(
        content_type=ContentType.objects.get_for_model(type(document)), object_id=document.pk
    ).select_related("author")  # author: histories show the username of each
    return readable_revisions(revisions, document, who)


class RevisionUnreadable(Exception):
    """Revision `number` is not readable by the reader (or does not exist): the same."""

    def __init__(self, number: int):
        self.number = number
        super().__init__(f"No revision {number}.")


def readable_diff(document, who, start: int, to: int) -> dict:
    """{"from", "to", "changes"} between revisions `start` and `to`; RevisionUnreadable
    when either is not readable by `who` (answered like a missing revision)."""
    snapshots = dict(
        revision_queryset(document, who)
        .filter(number__in={start, to})
        .values_list("number", "snapshot")
    )
    unreadable = sorted({start, to} - set(snapshots))
    if unreadable:
        raise RevisionUnreadable(unreadable[0])
    changes = diff_snapshots(
        document.readable_snapshot(snapshots[start], who),
        document.readable_snapshot(snapshots[to], who),
        old_label=f"r{start}",
        new_label=f"r{to}",
    )
    return {"from": start, "to": to, "changes": changes}


def upstream_original(document, who):
    """The original an adopted `document` was copied from, when `who` may read it."""
    if not getattr(document, "has_upstream", False):
        return None
    return (
        type(document)
        .objects.visible_to(who)
        .select_related("organisation")
        .filter(organisation__slug=document.upstream_organisation, slug=document.upstream_slug)
        .first()
    )


class UpstreamUnreadable(Exception):
    """The original or its adopted revision is not readable: `reason` says which."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def upstream_diff(document, who, original=None) -> dict:
    """What changed in the original since `document` adopted it:
    {"from": adopted revision, "to": the original's revision, "changes"}."""
    original = original or upstream_original(document, who)
    if original is None:
        raise UpstreamUnreadable("The original document no longer exists or is not visible to you.")
    adopted = revision_queryset(original, who).filter(number=document.upstream_revision).first()
    if adopted is None:
        raise UpstreamUnreadable("The adopted revision of the original is not readable by you.")
    changes = diff_snapshots(
        adopted.snapshot,
        snapshot(original),
        old_label=f"{original}@r{document.upstream_revision}",
        new_label=f"{original}@r{original.revision}",
    )
    return {"from": document.upstream_revision, "to": original.revision, "changes": changes}
