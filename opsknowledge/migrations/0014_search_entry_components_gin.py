"""PostgreSQL: a GIN index on the search entries' component slugs, so that "the documents
sharing a component with this one" (related documents) is an index lookup OR-ed with the
title vector's, instead of a sequential scan testing every entry: 15 ms to 5 ms for a
runbook's related documents at 25k documents, a cost that grew with the table. SQLite
has no such index type; its component test stays a test of each readable row.

Vendor-branching RunPython, as 0010 and 0011: the model state is the same on both.
"""

from django.db import migrations

POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS search_entry_components"
    " ON opsknowledge_searchentry USING gin (components)",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS search_entry_components"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0013_password_change_required"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
