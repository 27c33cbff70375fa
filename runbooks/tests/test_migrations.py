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
