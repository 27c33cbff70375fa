"""Markdown fields are stored with LF line endings (API.md; the write services normalise
CRLF since): convert what was stored before, in the documents and in their revisions'
snapshots, without a new revision (an export and import of the same text is no edit).

Historical models carry no MARKDOWN_FIELDS, so the fields are named here as they are at this
point of the history."""

from django.db import migrations

MARKDOWN_FIELDS = {
    "runbooks.Runbook": ("body",),
    "runbooks.Practice": ("body",),
    "incidents.FailureReport": (
        "body", "impact", "trigger", "root_cause", "resolution", "contributing_factors",
        "lessons_learned",
    ),
    "releases.ReleaseNote": ("body",),
}  # fmt: skip


def to_lf(apps, schema_editor):
    from opsknowledge.markdown import rerender

    ContentType = apps.get_model("contenttypes", "ContentType")
    Revision = apps.get_model("opsknowledge", "Revision")
    for label, fields in MARKDOWN_FIELDS.items():
        model = apps.get_model(label)
        rows = model._base_manager.all()
        for name in fields:
            for pk, value in rows.filter(**{f"{name}__contains": "\r\n"}).values_list("pk", name):
                rows.filter(pk=pk).update(**{name: value.replace("\r\n", "\n")})
        for _batch in rerender(rows, fields):
            pass
        app_label, model_name = label.split(".")
        kind = ContentType.objects.filter(app_label=app_label, model=model_name.lower()).first()
        if kind is None:
            continue
        for revision in Revision.objects.filter(content_type=kind).iterator():
            snapshot = revision.snapshot
            changed = False
            for name in fields:
                value = snapshot.get(name) if isinstance(snapshot, dict) else None
                if isinstance(value, str) and "\r\n" in value:
                    snapshot[name] = value.replace("\r\n", "\n")
                    changed = True
            if changed:
                Revision.objects.filter(pk=revision.pk).update(snapshot=snapshot)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("opsknowledge", "0008_staff_tokens"),
        ("runbooks", "0006_lint_facts"),
        ("incidents", "0003_repair_slugs"),
        ("releases", "0003_repair_note_slugs"),
    ]

    operations = [migrations.RunPython(to_lf, migrations.RunPython.noop)]
