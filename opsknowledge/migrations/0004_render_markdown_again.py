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
        ("opsknowledge", "0003_organisation_runbook_sections"),
        ("runbooks", "0002_alert_name_upper_index"),
        ("incidents", "0001_initial"),
    ]

    operations = [migrations.RunPython(render_again, migrations.RunPython.noop)]
