"""PostgreSQL: the facet values a search can filter by become lexemes of each entry's
vector (`component:ceph`, `release:r3`, `tag:audit`; search.index.FACET_KEYS), so that a
filtered search is one scan of the GIN index of the vectors. The index's upsert writes
them from now on; this adds them to the entries already there, in one statement.

Vendor-branching RunPython, as 0010, 0011, 0014 and 0016: the model state is the same on
both.
"""

from django.db import migrations

KEYS = " || ".join(
    f"ARRAY(SELECT '{prefix}:' || x FROM jsonb_array_elements_text({column}) x WHERE x <> '')"
    for column, prefix in (("components", "component"), ("releases", "release"), ("tags", "tag"))
)
POSTGRESQL = [f"UPDATE opsknowledge_searchentry SET vector = vector || array_to_tsvector({KEYS})"]
# The keys come off again: what a vector holds without them is what the texts give.
POSTGRESQL_REVERSE = [
    f"UPDATE opsknowledge_searchentry SET vector = ts_delete(vector, {KEYS})",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("opsknowledge", "0016_search_entry_slice"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRESQL), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
