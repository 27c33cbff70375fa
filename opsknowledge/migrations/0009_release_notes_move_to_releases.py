"""Release notes moved to the `releases` app (its 0001_initial takes the model over).

State only: the table stays, with its rows, for the model that now lives there. A plain
DeleteModel would drop it."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("opsknowledge", "0008_staff_tokens"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ReleaseNote")],
            database_operations=[],
        ),
    ]
