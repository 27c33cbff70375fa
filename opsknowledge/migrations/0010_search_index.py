"""The search index table, and beside it what each database matches on: tsvector columns
with a GIN index on PostgreSQL, FTS5 tables kept in step by triggers on SQLite. Branching on
the vendor inside RunPython keeps the model state, and so makemigrations, the same on both."""

import django.db.models.deletion
from django.db import migrations, models


# What each database matches on, beside the table (see opsknowledge.models.search).
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE opsknowledge_searchentry"
    " ADD COLUMN vector tsvector NOT NULL DEFAULT ''::tsvector,"
    " ADD COLUMN rank_vector tsvector NOT NULL DEFAULT ''::tsvector",
    "CREATE INDEX search_entry_vector ON opsknowledge_searchentry USING gin (vector)",
    "CREATE INDEX search_word_trigram ON opsknowledge_searchword USING gin (word gin_trgm_ops)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS search_word_trigram",
    "DROP INDEX IF EXISTS search_entry_vector",
    "ALTER TABLE opsknowledge_searchentry DROP COLUMN IF EXISTS vector,"
    " DROP COLUMN IF EXISTS rank_vector",
]

SQLITE_TABLES = {
    # Stemmed, for matching and snippets.
    "search_fts": ("text_a, text_b, text_c", "porter unicode61 remove_diacritics 2"),
    # Unstemmed titles, summaries, components and tags: the words "did you mean" offers.
    "search_plain": ("text_a, text_b", "unicode61 remove_diacritics 2"),
}


def sqlite_statements():
    statements = []
    for table, (columns, tokenizer) in SQLITE_TABLES.items():
        old = ", ".join(f"old.{c.strip()}" for c in columns.split(","))
        new = ", ".join(f"new.{c.strip()}" for c in columns.split(","))
        statements += [
            f"CREATE VIRTUAL TABLE {table} USING fts5({columns},"
            " content='opsknowledge_searchentry', content_rowid='id',"
            f" tokenize='{tokenizer}')",
            # Triggers, not the writer, keep the FTS tables in step: Django's test flush
            # deletes the table's rows and must empty the index with them.
            f"CREATE TRIGGER {table}_insert AFTER INSERT ON opsknowledge_searchentry BEGIN"
            f" INSERT INTO {table}(rowid, {columns}) VALUES (new.id, {new}); END",
            f"CREATE TRIGGER {table}_delete AFTER DELETE ON opsknowledge_searchentry BEGIN"
            f" INSERT INTO {table}({table}, rowid, {columns}) VALUES ('delete', old.id, {old});"
            " END",
            f"CREATE TRIGGER {table}_update AFTER UPDATE ON opsknowledge_searchentry BEGIN"
            f" INSERT INTO {table}({table}, rowid, {columns}) VALUES ('delete', old.id, {old});"
            f" INSERT INTO {table}(rowid, {columns}) VALUES (new.id, {new}); END",
        ]
    statements.append("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_plain, 'row')")
    return statements


def sqlite_reverse():
    statements = ["DROP TABLE IF EXISTS search_vocab"]
    for table in SQLITE_TABLES:
        statements += [
            f"DROP TRIGGER IF EXISTS {table}_{event}" for event in ("insert", "delete", "update")
        ]
        statements.append(f"DROP TABLE IF EXISTS {table}")
    return statements


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, list)()
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0009_release_notes_move_to_releases"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.CharField(max_length=64, primary_key=True, serialize=False)),
            ],
        ),
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=16)),
                ("object_id", models.PositiveIntegerField()),
                ("slug", models.CharField(max_length=150)),
                ("title", models.CharField(max_length=300)),
                ("summary", models.TextField(blank=True)),
                ("url", models.CharField(max_length=500)),
                ("api_url", models.CharField(max_length=500)),
                (
                    "visibility",
                    models.CharField(
                        choices=[
                            ("public", "Public"),
                            ("community", "Community (signed-in members of any organisation)"),
                            ("organisation", "Organisation members only"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("in_review", "In review"),
                            ("published", "Published"),
                            ("archived", "Archived"),
                        ],
                        max_length=16,
                    ),
                ),
                ("archived", models.BooleanField(default=False)),
                ("language", models.CharField(default="en", max_length=8)),
                ("text_a", models.TextField(blank=True)),
                ("text_b", models.TextField(blank=True)),
                ("text_c", models.TextField(blank=True)),
                ("components", models.JSONField(blank=True, default=list)),
                ("releases", models.JSONField(blank=True, default=list)),
                ("tags", models.JSONField(blank=True, default=list)),
                ("updated", models.DateTimeField()),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="opsknowledge.organisation",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["organisation", "updated"], name="search_entry_org")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "object_id"), name="one_search_entry_each"
                    )
                ],
            },
        ),
        migrations.RunPython(
            _run({"postgresql": lambda: POSTGRESQL, "sqlite": sqlite_statements}),
            _run({"postgresql": lambda: POSTGRESQL_REVERSE, "sqlite": sqlite_reverse}),
            elidable=False,
        ),
    ]
