"""Briefing stamps (models.stamps): per (kind, step, organisation, visibility), the number
of published documents an upgrade briefing shows and a version every write moves, kept by
the write services from now on and counted here from the documents there are. A briefing's
ETag and counts then sum a few stamp rows instead of aggregating every readable document of
each step (issue "Fast at scale").

The count is `stamps.recount()`, given this migration's historical models, so that the
migration and the tests that check kept stamps against the documents share one definition.
"""

import django.db.models.deletion
from django.db import migrations, models


def count_stamps(apps, schema_editor):
    from opsknowledge.stamps import recount

    recount(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0014_search_entry_components_gin"),
        ("runbooks", "0010_readable_index"),
        ("incidents", "0008_status_page_sources"),
        ("releases", "0003_repair_note_slugs"),
    ]

    operations = [
        migrations.CreateModel(
            name="BriefingStamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=32)),
                ("start_pk", models.PositiveIntegerField(default=0)),
                ("note_kind", models.CharField(blank=True, default="", max_length=16)),
                (
                    "visibility",
                    models.CharField(
                        choices=[
                            ("public", "Public"),
                            ("community", "Community (signed-in members of any organisation)"),
                            ("organisation", "Organisation members only"),
                        ],
                        max_length=16,
                    ),
                ),
                ("count", models.IntegerField(default=0)),
                ("version", models.BigIntegerField(default=0)),
                ("updated", models.DateTimeField()),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="opsknowledge.organisation",
                    ),
                ),
                (
                    "release",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="opsknowledge.release",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "kind",
                            "release",
                            "start_pk",
                            "note_kind",
                            "organisation",
                            "visibility",
                        ),
                        name="one_briefing_stamp_each",
                    )
                ],
            },
        ),
        migrations.RunPython(count_stamps, migrations.RunPython.noop, elidable=False),
    ]
