"""The renderer became CommonMark (markdown-it-py): render every stored Markdown field again.

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
    "opsknowledge.ReleaseNote": ("body",),
}


def render_again(apps, schema_editor):
    from opsknowledge.markdown import rerender

    for label, fields in MARKDOWN_FIELDS.items():
        for _batch in rerender(apps.get_model(label)._base_manager.all(), fields):
            pass


class Migration(migrations.Migration):

    dependencies = [
        ("opsknowledge", "0006_runbook_sections_move_to_runbooks"),
        ("runbooks", "0005_runbook_policy"),
        ("incidents", "0003_repair_slugs"),
    ]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
