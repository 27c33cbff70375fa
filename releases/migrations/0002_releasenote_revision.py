"""Release notes get revisions like documents: existing notes are revision 1 (their history
starts with their next change)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("releases", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="releasenote",
            name="revision",
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
    ]
