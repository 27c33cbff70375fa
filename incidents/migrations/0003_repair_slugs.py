from django.db import migrations


def repair(apps, schema_editor):
    from opsknowledge.slug_repair import repair_slugs

    repair_slugs(apps, "incidents", "FailureReport")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("opsknowledge", "0005_release_chain_fork_message"),
        ("incidents", "0002_slugs_end_at_the_end"),
    ]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
