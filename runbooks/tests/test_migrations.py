"""Data migrations move what organisations already have."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("opsknowledge", "0005_release_chain_fork_message"), ("runbooks", "0004_repair_slugs")]
AFTER = [
    ("opsknowledge", "0006_runbook_sections_move_to_runbooks"),
    ("runbooks", "0005_runbook_policy"),
]


@pytest.mark.django_db(transaction=True)
def test_runbook_sections_move_from_the_catalogue_to_runbooks():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    old.get_model("opsknowledge", "Organisation").objects.create(
        slug="alpen", name="Alpen", runbook_sections=["Meaning", "Escalation"]
    )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    policy = new.get_model("runbooks", "RunbookPolicy").objects.get(organisation__slug="alpen")
    assert policy.sections == ["Meaning", "Escalation"]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_stored_markdown_and_snapshots_get_lf_line_endings_without_a_new_revision():
    others = [
        ("opsknowledge", "0009_release_notes_move_to_releases"),
        ("incidents", "0003_repair_slugs"),
        ("releases", "0003_repair_note_slugs"),
    ]
    before = [("runbooks", "0006_lint_facts"), *others]
    after = [("runbooks", "0007_markdown_with_lf"), *others]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    organisation = old.get_model("opsknowledge", "Organisation").objects.create(
        slug="alpen", name="Alpen"
    )
    runbook = old.get_model("runbooks", "Runbook").objects.create(
        organisation=organisation, slug="crlf", title="CRLF", body="# CRLF\r\n\r\nText.\r\n"
    )
    kind = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="runbooks", model="runbook"
    )[0]
    revisions = old.get_model("opsknowledge", "Revision").objects
    revisions.create(
        content_type=kind, object_id=runbook.pk, number=1, snapshot={"body": runbook.body}
    )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    migrated = new.get_model("runbooks", "Runbook").objects.get(slug="crlf")
    assert migrated.body == "# CRLF\n\nText.\n" and "<h1" in migrated.body_html
    revisions = new.get_model("opsknowledge", "Revision").objects.filter(object_id=runbook.pk)
    assert [r.snapshot["body"] for r in revisions] == ["# CRLF\n\nText.\n"]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
