"""Data migrations of failure reports."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_existing_action_items_get_tracking_fields_from_their_report():
    before = [("incidents", "0006_readable_index")]
    after = [("incidents", "0007_action_item_tracking")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    organisation = old.get_model("opsknowledge", "Organisation").objects.create(
        slug="alpen", name="Alpen"
    )
    report = old.get_model("incidents", "FailureReport").objects.create(
        organisation=organisation, slug="ceph-full", title="Ceph full"
    )
    created = datetime.datetime(2024, 2, 14, 10, 0, tzinfo=datetime.UTC)
    updated = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)
    old.get_model("incidents", "FailureReport").objects.filter(pk=report.pk).update(
        created=created, updated=updated
    )
    items = old.get_model("incidents", "ActionItem").objects
    due = datetime.date(2024, 3, 31)
    items.create(report=report, position=0, title="open", status="open", due=due)
    items.create(report=report, position=1, title="done", status="done")
    items.create(report=report, position=2, title="dropped", status="wont_do")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    migrated = {item.title: item for item in new.get_model("incidents", "ActionItem").objects.all()}
    assert {item.created for item in migrated.values()} == {created}
    assert migrated["open"].original_due == due and migrated["done"].original_due is None
    assert migrated["open"].closed_at is None
    assert migrated["done"].closed_at == updated == migrated["dropped"].closed_at
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
