"""Writes of failure reports beyond the document services: one action item's status."""

from opsknowledge import services
from opsknowledge.exceptions import NotFound, ValidationError

from .models import ActionItem


def action_item_set_status(*, report, item_id: int, status, actor: services.Actor, if_match):
    """Change the status of action item `item_id` of `report`: a new revision of the report,
    through `document_update` (permissions, If-Match, warnings, history, search all as for
    any write; closed_at follows the status). Returns (report, item, changed)."""
    services.check_write(actor, report.organisation)
    if status not in ActionItem.Status.values:
        valid = ", ".join(ActionItem.Status.values)
        raise ValidationError({"status": [f"'{status}' is not valid; use {valid}."]})
    items = list(report.action_items.all())
    item = next((item for item in items if item.pk == item_id), None)
    if item is None:
        raise NotFound(f"'{report}' has no action item {item_id}.")
    rows = [
        {
            "id": each.pk,
            **{name: getattr(each, name) for name in ActionItem.CONTENT},
            **({"status": status} if each.pk == item_id else {}),
        }
        for each in items
    ]
    label = ActionItem.Status(status).label
    report, changed = services.document_update(
        document=report,
        data={"action_items": rows},
        actor=actor,
        if_match=if_match,
        message=f"Action item '{item.title[:200]}' marked {label.lower()}",
    )
    written = next(each for each in report.action_items.all() if each.pk == item_id)
    return report, written, changed
