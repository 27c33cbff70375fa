"""What makes search fast at 100k documents (see opsknowledge.search.service):

- PostgreSQL: `title_vector`, the weight-A text (title and alert names) alone, with its own
  GIN index, so that "which matches have the words in their title" is an index lookup and
  ranking can try those first without reading every full vector of a common term (on
  SQLite the title tier is FTS5's own column filter);
- PostgreSQL: the long columns stored out of the row (see KEPT_IN_ROW);
- on both, an index over the visibility columns and what facets read, so that counting
  readable rows (the estimate beyond 10,000 matches) reads the index, not the wide rows,
  and so that SQLite, whose rows keep the facet columns after the body in overflow pages,
  counts and facets from the index alone.

Vendor-branching RunPython, as 0010: the model state, and so makemigrations, is the same
on both databases.
"""

from django.db import migrations, models

TITLE_VECTOR = (
    "setweight(to_tsvector(CASE language WHEN 'de' THEN 'german' ELSE 'english' END"
    "::regconfig, text_a), 'A') || setweight(to_tsvector('simple', text_a), 'A')"
)
# What counting and facets read of every match stays in the row (MAIN); the long text and
# the vectors go to TOAST as soon as a row passes 128 bytes. Bitmap scans of the GIN
# indexes then read narrow rows: the table of 100k synthetic documents shrank from 312 MB
# to 41 MB (the whole relation with TOAST from 858 to 649 MB).
KEPT_IN_ROW = ("kind", "visibility", "status", "components", "releases", "tags", "title_vector")
POSTGRESQL = [
    "ALTER TABLE opsknowledge_searchentry"
    " ADD COLUMN title_vector tsvector NOT NULL DEFAULT ''::tsvector",
    "ALTER TABLE opsknowledge_searchentry SET (toast_tuple_target = 128), "
    + ", ".join(f"ALTER COLUMN {column} SET STORAGE MAIN" for column in KEPT_IN_ROW),
    f"UPDATE opsknowledge_searchentry SET title_vector = {TITLE_VECTOR}",
    "CREATE INDEX search_entry_title_vector ON opsknowledge_searchentry USING gin (title_vector)",
]
POSTGRESQL_REVERSE = [
    "ALTER TABLE opsknowledge_searchentry RESET (toast_tuple_target), "
    + ", ".join(f"ALTER COLUMN {column} SET STORAGE EXTENDED" for column in KEPT_IN_ROW[:-1]),
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
                fields=[
                    "visibility",
                    "status",
                    "organisation",
                    "archived",
                    "id",
                    "kind",
                    "updated",
                    "components",
                    "releases",
                    "tags",
                ],
                name="search_entry_readable",
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL}),
            _run({"postgresql": POSTGRESQL_REVERSE}),
            elidable=False,
        ),
    ]
