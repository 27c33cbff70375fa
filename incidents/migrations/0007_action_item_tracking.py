import django.utils.timezone
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

CLOSED = ("done", "wont_do")


def backfill(apps, schema_editor):
    """What the rows can tell: an item is as old as its report, its first due date is the
    one it has, and a closed item was closed at the report's last change at the latest."""
    ActionItem = apps.get_model("incidents", "ActionItem")
    FailureReport = apps.get_model("incidents", "FailureReport")
    report = FailureReport.objects.filter(pk=OuterRef("report_id"))
    ActionItem.objects.update(
        created=Subquery(report.values("created")[:1]), original_due=F("due")
    )
    ActionItem.objects.filter(status__in=CLOSED).update(
        closed_at=Subquery(report.values("updated")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0006_readable_index")]

    operations = [
        migrations.AddField(
            model_name="actionitem",
            name="created",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="actionitem",
            name="closed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="actionitem",
            name="original_due",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
