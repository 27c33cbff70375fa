"""Writing the audit log. Every write service records one event in its own transaction, so
an event exists exactly when the write does. What goes in is chosen here, not by callers:
names, slugs, revision numbers, counts, the token's first characters; never a key, a
password or a document's text (a test looks for them)."""

from __future__ import annotations

from ipaddress import ip_address

from . import hotcache
from .models import AuditEvent

# How an Actor's `via` (revision vocabulary) is told in the log.
_VIA = {
    "token": AuditEvent.Via.TOKEN,
    "session": AuditEvent.Via.SESSION,
    "import": AuditEvent.Via.IMPORT,
    "system": AuditEvent.Via.SYSTEM,
    "command": AuditEvent.Via.COMMAND,
}


def _address(text: str) -> str | None:
    try:
        return str(ip_address(text))
    except ValueError:
        return None


def record(
    actor,
    action: str,
    *,
    organisation=None,
    target: str = "",
    revision=None,
    detail: dict | None = None,
) -> AuditEvent:
    user = actor.user
    # Every write records its event here, whichever channel it came through (API, forms,
    # importers, commands): the one place that invalidates the anonymous readers' cache.
    hotcache.content_changed()
    return AuditEvent.objects.create(
        user=user,
        username=user.get_username() if user is not None else "",
        via=_VIA.get(actor.channel or actor.via, AuditEvent.Via.SYSTEM),
        token_start=actor.token_start,
        address=_address(actor.address),
        organisation=organisation,
        action=action,
        target=target[:300],
        revision=revision,
        detail=detail or {},
    )


def document_target(document) -> str:
    organisation = getattr(document, "organisation", None)
    slug = getattr(document, "slug", None) or getattr(document, "anchor", "") or str(document.pk)
    return f"{organisation.slug}/{slug}" if organisation is not None else str(slug)


def record_document_write(document, number: int, actor, message: str) -> AuditEvent:
    """A document (or release note) written as revision `number`."""
    model = type(document)._meta.model_name
    return record(
        actor,
        f"{model}.{'create' if number == 1 else 'update'}",
        organisation=getattr(document, "organisation", None),
        target=document_target(document),
        revision=number,
        detail={"message": message[:200], "status": getattr(document, "status", "")},
    )
