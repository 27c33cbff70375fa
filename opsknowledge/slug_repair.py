"""Repairing stored slugs that cannot be addressed.

Before slugs were validated to their end, `"zz-public-nl\\n"` and `" x "` could be stored;
such a document breaks every page and list that links it (no URL reverses for it) and
cannot be edited through the API. The data migrations of the document apps call this
with their historical models; it is also safe to run again (it finds nothing).
"""

import re

from django.utils.text import slugify

VALID_SLUG = re.compile(r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z")


def repaired(slug: str) -> str:
    """The nearest valid slug: trimmed, slugified, underscores and runs of hyphens folded."""
    candidate = slugify(slug.strip()).replace("_", "-")
    candidate = re.sub(r"-{2,}", "-", candidate).strip("-")
    return candidate or "document"


def repair_slugs(apps, app_label: str, model_name: str) -> list[tuple[str, str]]:
    """Give every document of the model whose slug is invalid a valid one (a suffix on
    collision), recorded as a new revision. Returns the (old, new) pairs."""
    model = apps.get_model(app_label, model_name)
    broken = [doc for doc in model.objects.all() if not VALID_SLUG.match(doc.slug)]
    if not broken:
        return []
    revision_model = apps.get_model("opsknowledge", "Revision")
    content_type, _ = apps.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label=app_label, model=model_name.lower()
    )
    changes = []
    for document in broken:
        taken = set(
            model.objects.filter(organisation_id=document.organisation_id).values_list(
                "slug", flat=True
            )
        )
        base = new = repaired(document.slug)[:90]
        number = 2
        while new in taken:
            new, number = f"{base}-{number}", number + 1
        latest = revision_model.objects.filter(
            content_type=content_type, object_id=document.pk, number=document.revision
        ).first()
        revision_model.objects.create(
            content_type=content_type,
            object_id=document.pk,
            number=document.revision + 1,
            via="system",
            message=f"Slug repaired: {document.slug!r} → {new!r} (the old one had no URL).",
            snapshot=latest.snapshot if latest else {},
        )
        model.objects.filter(pk=document.pk).update(slug=new, revision=document.revision + 1)
        changes.append((document.slug, new))
    return changes
