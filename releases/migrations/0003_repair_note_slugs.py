"""Release-note slugs the importers made from titles with underscores ("etcd_prio_boost")
are not valid slugs. They get the slug the importers store now (`slug_repair.repaired` of
the same text), so that the next import finds the note instead of adding a second one."""

from django.db import migrations


def repair(apps, schema_editor):
    from opsknowledge.slug_repair import repair_slugs

    repair_slugs(apps, "releases", "ReleaseNote")


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("releases", "0002_releasenote_revision"),
    ]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
