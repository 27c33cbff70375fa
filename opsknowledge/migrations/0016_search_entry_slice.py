"""Indexes for counting search matches at 100k documents (search.service.count_and_facets).

- The sample slice (the entries whose id hashes into the first sixteenth,
  search.service.slice_sql) gets an index of its own, so that the count and facets of a
  common term beyond the exact range read a sixteenth of its matches:
  - PostgreSQL: a GIN index of the slice's vectors. A word in a quarter of the documents:
    81 ms for the first 10,001 matches sorted by id, then 15 ms for the readable rows of
    the estimate, before; 8 ms for the slice, after.
  - SQLite: the readable-rows index (search_entry_readable) of the slice's rows, walked
    instead of every readable row: 9 ms to 1 ms for an anonymous reader.
- SQLite: an index keyed by id covering what counting and facets read, so that few
  matches are looked up one by one (search.backends.SQLite.match, `few`) without reading
  the table's rows, whose columns after the body live in overflow pages.

Each predicate is the one slice_sql() writes, literally: a partial index is used only for
a query whose conditions imply its predicate (tests/test_search_scale pins it).
Vendor-branching RunPython, as 0010, 0011 and 0014: the model state is the same on both.
SQLite remakes a table on some later schema changes without indexes it does not know:
tests/test_search_scale checks that these exist after migrating.
"""

from django.db import migrations

SLICE = "(id * 2654435761) % 4294967296 < 268435456"
COVERED = "kind, updated, components, releases, tags"
STATEMENTS = {
    "postgresql": [
        "CREATE INDEX IF NOT EXISTS search_entry_slice ON opsknowledge_searchentry"
        f" USING gin (vector) WHERE {SLICE}",
    ],
    "sqlite": [
        "CREATE INDEX IF NOT EXISTS search_entry_slice ON opsknowledge_searchentry"
        f" (visibility, status, organisation_id, archived, id, {COVERED}) WHERE {SLICE}",
        "CREATE INDEX IF NOT EXISTS search_entry_by_id ON opsknowledge_searchentry"
        f" (id, visibility, status, organisation_id, archived, {COVERED})",
    ],
}
REVERSE = {
    "postgresql": ["DROP INDEX IF EXISTS search_entry_slice"],
    "sqlite": [
        "DROP INDEX IF EXISTS search_entry_slice",
        "DROP INDEX IF EXISTS search_entry_by_id",
    ],
}


def _run(statements):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement, params=None)  # "%" is an operator here

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0015_briefing_stamps"),
    ]

    operations = [
        migrations.RunPython(_run(STATEMENTS), _run(REVERSE), elidable=False),
    ]
