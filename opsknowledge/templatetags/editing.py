"""Template helpers of the editing pages: fields with their hints and errors wired for
screen readers, and the edit/archive/adopt controls of a document page."""

from django import template

from .. import services
from ..models import Status
from ..visibility import WRITE_ROLES, Access

register = template.Library()


@register.filter
def described(field):
    """The field's widget, pointing at its hint and errors (aria-describedby), marked
    invalid when it has errors."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    attrs = {}
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.inclusion_tag("editing/actions.html", takes_context=True)
def editing_actions(context, document):
    """Edit, archive/restore, adopt and update-from-upstream buttons: edit controls for
    the editors and admins of the owning organisation only, adopt for editors of another.
    Reads the memberships the page header has already read: no query of its own."""
    request = context.get("request")
    access = Access.of(request) if request is not None else None
    can_write = bool(access and access.can_write(document.organisation_id))
    targets = []
    if access is not None and access.is_authenticated and hasattr(document, "has_upstream"):
        targets = [
            membership.organisation
            for membership in context.get("site_memberships") or []
            if membership.role in WRITE_ROLES
            and membership.organisation_id != document.organisation_id
        ]
    return {
        "document": document,
        "kind": document.kind,
        "can_write": can_write,
        "adopt_targets": targets,
        "adoption_refusal": services.adoption_refusal(document) if targets else None,
        "is_archived": document.status == Status.ARCHIVED,
        "behind_upstream": context.get("behind_upstream"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("editing/new_link.html", takes_context=True)
def new_document_link(context, kind, kind_name):
    """ "New runbook" for editors and admins of some organisation (from the memberships
    the header has read: no query)."""
    writer = any(m.role in WRITE_ROLES for m in context.get("site_memberships") or [])
    return {"writer": writer, "kind": kind, "kind_name": kind_name}
