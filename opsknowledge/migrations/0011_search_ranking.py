"""What makes search fast at 100k documents (see opsknowledge.search.service):

- PostgreSQL: `title_vector`, the weight-A text (title and alert names) alone, with its own
  GIN index, so that "which matches have the words in their title" is an index lookup and
  ranking can try those first without reading every full vector of a common term (on
  SQLite the title tier is FTS5's own column filter);
- on both, an index over the visibility columns, so that counting readable rows (the
  estimate beyond 10,000 matches) reads the index, not the wide rows.

Vendor-branching RunPython, as 0010: the model state, and so makemigrations, is the same
on both databases.
"""

from django.db import migrations, models

TITLE_VECTOR = (
    "setweight(to_tsvector(CASE language WHEN 'de' THEN 'german' ELSE 'english' END"
    "::regconfig, text_a), 'A') || setweight(to_tsvector('simple', text_a), 'A')"
)
POSTGRESQL = [
    "ALTER TABLE opsknowledge_searchentry"
    " ADD COLUMN title_vector tsvector NOT NULL DEFAULT ''::tsvector",
    f"UPDATE opsknowledge_searchentry SET title_vector = {TITLE_VECTOR}",
    "CREATE INDEX search_entry_title_vector ON opsknowledge_searchentry USING gin (title_vector)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS search_entry_title_vector",
    "ALTER TABLE opsknowledge_searchentry DROP COLUMN IF EXISTS title_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0010_search_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(
                fields=["visibility", "status", "organisation", "archived", "id"],
                name="search_entry_readable",
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL}),
            _run({"postgresql": POSTGRESQL_REVERSE}),
            elidable=False,
        ),
    ]
