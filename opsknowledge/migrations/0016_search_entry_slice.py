"""PostgreSQL: a GIN index of the vectors of the sample slice alone (the entries whose id
hashes into the first sixteenth, search.service.slice_sql), so that the count and facets
of a common term beyond the exact range read a sixteenth of its matches. At 100k
documents, a word in a quarter of them: 81 ms for the first 10,001 matches sorted by id,
then 15 ms for the readable rows of the estimate, before; 8 ms for the slice through this
index, after. An index of 1/16 of the rows (about 1/16 of the vector index's size).

The predicate is the one slice_sql() writes, literally: the planner uses a partial index
only for a query whose conditions imply its predicate (tests/test_search_scale pins it).
Vendor-branching RunPython, as 0010, 0011 and 0014: the model state is the same on both.
"""

from django.db import migrations

POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS search_entry_slice ON opsknowledge_searchentry"
    " USING gin (vector) WHERE (id * 2654435761) % 4294967296 < 268435456",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS search_entry_slice"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)  # "%" is an operator here

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0015_briefing_stamps"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
