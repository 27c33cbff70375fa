"""The search index, as the write services keep it: one call at the end of each write,
`index.update(document, content)`, one SQL statement, inside the write's transaction, so a
document is findable the moment its write returns and gone from others' results when
archived or made private.

Each kind app registers what it indexes (`register()`, from its own `search.py`); the
text and the row are built here, and the statement depends on the database:
- PostgreSQL: the row with its weighted `vector` (stemmed by the document's language and
  unstemmed `simple`, so product names match as written) and a compact `rank_vector`
  (title, summary, components, tags and the first RANK_BODY_CHARS of the body: ranking
  every full vector of a common term is what makes it slow), a `title_vector` of the title
  and alert names alone (the first ranking tier), and the new words of titles
  and summaries for "did you mean" — one statement, a CTE;
- SQLite: the row; triggers on the table fill the FTS5 tables.
Component names and aliases are read by the statement itself from the catalogue, so that
the services pass slugs and pay no query for them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import Expression
from django.db.models.signals import post_delete

from ..models import SearchEntry, Status
from .query import split_camel_case

RANK_BODY_CHARS = 600
LANGUAGES = {"en": "english", "de": "german"}  # document language -> PostgreSQL configuration
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # snippets mark hits with \x01 and \x02


@dataclass(frozen=True)
class Indexed:
    """What one document contributes to search."""

    title: str
    summary: str = ""
    a: list[str] = field(default_factory=list)  # besides the title: alert names
    b: list[str] = field(default_factory=list)  # besides summary and components: slug, tags
    c: list[str] = field(default_factory=list)  # body and the other Markdown sections
    components: list[str] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Searchable:
    """A kind of searchable thing: `describe(obj, content)` builds its Indexed from its
    snapshot `content` (what the services hold at the end of a write); `prefetch` is what a
    rebuild loads with each object."""

    kind: str
    model: type
    label: str
    describe: Callable[[object, dict], Indexed]
    url: Callable[[object], str]
    api_url: Callable[[object], str]
    select_related: tuple[str, ...] = ("organisation",)
    prefetch: tuple[str, ...] = ()


def describe_document(content: dict, *, a=(), c=()) -> Indexed:
    """The fields every document kind shares; `a` and `c` add the kind's own."""
    return Indexed(
        title=content["title"],
        summary=content["summary"],
        a=list(a),
        c=[content["body"], *c],
        components=content["components"],
        releases=content["releases"],
        tags=content["tags"],
    )


_REGISTRY: dict[str, Searchable] = {}


def register(searchable: Searchable):
    _REGISTRY[searchable.kind] = searchable
    # Documents are archived, never deleted, by the services; a deletion elsewhere (the
    # admin, a cascade from a deleted release) must not leave a hit without a document.
    post_delete.connect(_deleted, sender=searchable.model, weak=False)


def _deleted(sender, instance, **kwargs):
    remove(instance)


def searchables() -> list[Searchable]:
    return list(_REGISTRY.values())


def searchable(kind: str) -> Searchable:
    return _REGISTRY[kind]


def searchable_for(model) -> Searchable | None:
    return next((s for s in _REGISTRY.values() if s.model is model), None)


def _text(parts) -> str:
    return CONTROL.sub(" ", "\n".join(str(part) for part in parts if part))


def _row(spec: Searchable, obj, content: dict) -> dict:
    indexed = spec.describe(obj, content)
    status = obj.status
    if status not in type(obj).READABLE_STATUSES and status in SearchEntry.READABLE_STATUSES:
        status = Status.DRAFT  # members-only for this kind (an archived release note)
    split = split_camel_case(indexed.title)
    title_words = split if split != indexed.title else ""
    alerts = [f"{name} {split_camel_case(name)}" for name in indexed.a]
    return {
        "kind": spec.kind,
        "object_id": obj.pk,
        "organisation_id": obj.organisation_id,
        "slug": obj.slug,
        "title": indexed.title,
        "summary": indexed.summary,
        "url": spec.url(obj),
        "api_url": spec.api_url(obj),
        "visibility": obj.visibility,
        "status": status,
        "archived": obj.status == Status.ARCHIVED,
        "language": getattr(obj, "language", "en") or "en",
        "text_a": _text(
            [indexed.title, title_words if title_words != indexed.title else "", *alerts]
        ),
        "text_b": _text([indexed.summary, obj.slug.replace("-", " "), *indexed.b, *indexed.tags]),
        "text_c": _text(indexed.c),
        "components": sorted(set(indexed.components)),
        "releases": sorted(set(indexed.releases)),
        "tags": sorted(set(indexed.tags)),
        "updated": obj.updated,
    }


COLUMNS = (
    "kind",
    "object_id",
    "organisation_id",
    "slug",
    "title",
    "summary",
    "url",
    "api_url",
    "visibility",
    "status",
    "archived",
    "language",
    "text_a",
    "text_b",
    "text_c",
    "components",
    "releases",
    "tags",
    "updated",
)
UPDATED_ON_CONFLICT = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:])

# Component names, slugs and aliases join text B, read from the catalogue by the statement.
SQLITE_COMPONENT_TEXT = (
    "COALESCE((SELECT ' ' || group_concat(c.name || ' ' || replace(c.slug, '-', ' ') || ' ' ||"
    " COALESCE((SELECT group_concat(value, ' ') FROM json_each(c.aliases)), ''), ' ')"
    " FROM opsknowledge_component c WHERE c.slug IN (SELECT value FROM json_each(%s))), '')"
)
SQLITE_UPSERT = (
    f"INSERT INTO opsknowledge_searchentry ({', '.join(COLUMNS)}) VALUES ("
    + ", ".join(
        f"%s || {SQLITE_COMPONENT_TEXT}" if column == "text_b" else "%s" for column in COLUMNS
    )
    + f") ON CONFLICT (kind, object_id) DO UPDATE SET {UPDATED_ON_CONFLICT}"
)

POSTGRESQL_COMPONENT_TEXT = (
    "COALESCE((SELECT ' ' || string_agg(c.name || ' ' || replace(c.slug, '-', ' ') || ' ' ||"
    " COALESCE((SELECT string_agg(x, ' ') FROM jsonb_array_elements_text(c.aliases) x), ''),"
    " ' ') FROM opsknowledge_component c WHERE c.slug = ANY(%s)), '')"
)
POSTGRESQL_CASTS = {
    "archived": "::boolean",
    "object_id": "::integer",
    "organisation_id": "::integer",
    "components": "::jsonb",
    "releases": "::jsonb",
    "tags": "::jsonb",
    "updated": "::timestamptz",
}


SIMPLE = "'simple'"

# PostgreSQL: the facet values a filter can ask for are also lexemes of the vector
# (`component:ceph`, `release:r3`, `tag:audit`), which no query word can be (words are
# letters and digits), so that a filtered match is one GIN index scan intersecting both
# inside the index. As a separate condition on the JSON columns, the planner reads the
# component index and tests `vector @@ query` on every row of the component, each a TOAST
# read: 98 ms for a common word and a large component at 100k documents, 6 ms as keys.
FACET_KEYS = {"components": "component", "releases": "release", "tags": "tag"}


def facet_key(dimension: str, value: str) -> str:
    """The lexeme of one facet value, `dimension` a FACET_KEYS key."""
    return f"{FACET_KEYS[dimension]}:{value}"


def facet_keys_tsquery(dimension: str, values) -> str:
    """tsquery text true for a vector with any of `values` (quoted as tsquery quotes)."""
    keys = (facet_key(dimension, value) for value in sorted(set(values)) if value)
    quoted = (key.replace("\\", "\\\\").replace("'", "''") for key in keys)
    return " | ".join(f"'{key}'" for key in quoted)


def _vector(config: str, body: str) -> str:
    return (
        f"setweight(to_tsvector({config}, v.text_a), 'A') ||"
        f" setweight(to_tsvector({config}, v.text_b), 'B') ||"
        f" setweight(to_tsvector({config}, {body}), 'C')"
    )


POSTGRESQL_UPSERT = (
    "WITH entry AS ("
    f" INSERT INTO opsknowledge_searchentry ({', '.join(COLUMNS)}, vector, rank_vector,"
    " title_vector)"
    f" SELECT {', '.join('v.' + c for c in COLUMNS)},"
    f" {_vector('v.config', 'v.text_c')} || {_vector(SIMPLE, 'v.text_c')}"
    " || array_to_tsvector(v.facet_keys),"
    f" {_vector('v.config', f'left(v.text_c, {RANK_BODY_CHARS})')},"
    " setweight(to_tsvector(v.config, v.text_a), 'A') ||"
    f" setweight(to_tsvector({SIMPLE}, v.text_a), 'A')"
    " FROM (SELECT "
    + ", ".join(
        (
            f"%s || {POSTGRESQL_COMPONENT_TEXT} AS text_b"
            if column == "text_b"
            else f"%s{POSTGRESQL_CASTS.get(column, '')} AS {column}"
        )
        for column in COLUMNS
    )
    + ", %s::regconfig AS config, %s::text[] AS facet_keys) v"
    f" ON CONFLICT (kind, object_id) DO UPDATE SET {UPDATED_ON_CONFLICT},"
    " vector = EXCLUDED.vector, rank_vector = EXCLUDED.rank_vector,"
    " title_vector = EXCLUDED.title_vector"
    " RETURNING text_a, text_b)"
    " INSERT INTO opsknowledge_searchword (word)"
    " SELECT DISTINCT w FROM entry,"
    " unnest(tsvector_to_array(to_tsvector('simple', entry.text_a || ' ' || entry.text_b))) w"
    " WHERE length(w) BETWEEN 3 AND 64 AND w ~ '^[[:alpha:]]'"
    " ON CONFLICT DO NOTHING"
)


def _parameters(row: dict) -> list:
    vendor = connection.vendor
    values = []
    for column in COLUMNS:
        value = row[column]
        if column in ("components", "releases", "tags"):
            value = json.dumps(value)
        elif column == "updated" and vendor == "sqlite":
            value = connection.ops.adapt_datetimefield_value(value)
        values.append(value)
        if column == "text_b":
            values.append(
                row["components"] if vendor == "postgresql" else json.dumps(row["components"])
            )
    if vendor == "postgresql":
        values.append(LANGUAGES.get(row["language"], "english"))
        keys = {facet_key(column, value) for column in FACET_KEYS for value in row[column]}
        values.append(sorted(key for key in keys if not key.endswith(":")))
    return values


def _statement() -> str:
    return POSTGRESQL_UPSERT if connection.vendor == "postgresql" else SQLITE_UPSERT


def update(obj, content: dict):
    """Index `obj` (a document or release note) as its snapshot `content` describes it:
    one statement. Kinds nobody registered are not searched."""
    spec = searchable_for(type(obj))
    if spec is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(_statement(), _parameters(_row(spec, obj, content)))


def update_many(pairs):
    """Index many (obj, content) pairs in one batch (rebuilds)."""
    rows = []
    for obj, content in pairs:
        spec = searchable_for(type(obj))
        if spec is not None:
            rows.append(_parameters(_row(spec, obj, content)))
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(_statement(), rows)


def remove(obj):
    spec = searchable_for(type(obj))
    if spec is not None:
        SearchEntry.objects.filter(kind=spec.kind, object_id=obj.pk).delete()


def reindex_entries(entries):
    """Index again the objects behind `entries` (a queryset of SearchEntry): after a
    catalogue entry they name changed (a component renamed, its aliases changed)."""
    from ..revisions import snapshot

    by_kind: dict[str, list[int]] = {}
    for kind, object_id in entries.values_list("kind", "object_id"):
        by_kind.setdefault(kind, []).append(object_id)
    for kind, ids in by_kind.items():
        spec = _REGISTRY.get(kind)
        if spec is None:
            continue
        objects = spec.model.objects.filter(pk__in=ids).select_related(*spec.select_related)
        update_many((obj, snapshot(obj)) for obj in objects.prefetch_related(*spec.prefetch))


def reindex_organisation(organisation):
    """Index again every entry of `organisation`: after its slug changed (hits carry the
    documents' addresses)."""
    reindex_entries(SearchEntry.objects.filter(organisation=organisation))


class EntrySQL(Expression):
    """SQL of our own about a SearchEntry row, `{entry}` standing for the row's table:
    unlike RawSQL it follows the alias Django gives the table in a subquery (U0)."""

    def __init__(self, template: str, params=(), output_field=None):
        super().__init__(output_field=output_field or BooleanField())
        self.template, self.params = template, tuple(params)

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.base_table)
        return self.template.replace("{entry}", table), self.params


# Values like slugs and tag names: JSON writes them between quotes as they are, and no
# other JSON text of a list of strings holds one quoted unless the list holds it.
PLAIN_VALUE = re.compile(r"[a-z0-9][a-z0-9._+-]*")


def contains_any(column: str, values) -> EntrySQL:
    """A condition on SearchEntry: its JSON list `column` holds any of `values`."""
    values = sorted(set(values))
    if not values:
        return EntrySQL("1 = 0")
    if connection.vendor == "postgresql":
        return EntrySQL(f"{{entry}}.{column} ?| %s", (values,))
    if all(PLAIN_VALUE.fullmatch(value) for value in values):
        # The list's JSON text holds such a value exactly when it holds it quoted: a text
        # search, where json_each is a table-valued call per row (for "issue" in ceph at
        # 100k documents, 41 ms of an editor's filtered count; 12 with instr).
        tests = " OR ".join([f"instr({{entry}}.{column}, %s) > 0"] * len(values))
        return EntrySQL(f"({tests})", [f'"{value}"' for value in values])
    placeholders = ", ".join(["%s"] * len(values))
    return EntrySQL(
        f"EXISTS (SELECT 1 FROM json_each({{entry}}.{column}) WHERE value IN ({placeholders}))",
        values,
    )


def catalogue_state(entry) -> dict | None:
    """What of a stored component or release the index copies (None: a new entry)."""
    if entry.pk is None:
        return None
    names = ["slug", "name"] + (["aliases"] if hasattr(entry, "aliases") else [])
    return type(entry).objects.filter(pk=entry.pk).values(*names).first()


def reindex_catalogue_entry(entry, before: dict | None):
    """After a component or release was saved: index again, in the same transaction, the
    documents whose text or facets name it (`before`: `catalogue_state()` before the
    save)."""
    if before is None or before == {name: getattr(entry, name) for name in before}:
        return
    column = "components" if hasattr(entry, "aliases") else "releases"
    reindex_entries(SearchEntry.objects.filter(contains_any(column, {before["slug"], entry.slug})))


def rebuild(*, batch_size: int = 500):
    """Index every object of every kind again, in batches; removes entries whose object is
    gone. Yields the number indexed per batch (for a progress bar); `total()` counts them."""
    from ..revisions import snapshot

    for spec in searchables():
        objects = spec.model.objects.select_related(*spec.select_related).order_by("pk")
        last = 0
        while True:
            batch = list(objects.filter(pk__gt=last).prefetch_related(*spec.prefetch)[:batch_size])
            if not batch:
                break
            update_many((obj, snapshot(obj)) for obj in batch)
            last = batch[-1].pk
            yield len(batch)
        gone = SearchEntry.objects.filter(kind=spec.kind).exclude(
            object_id__in=spec.model.objects.values("pk")
        )
        gone.delete()
    SearchEntry.objects.exclude(kind__in=[spec.kind for spec in searchables()]).delete()
    # Fresh statistics: the plans of search (which index, which join) depend on them, and
    # a rebuild changes every row at once.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {SearchEntry._meta.db_table}")


def total() -> int:
    return sum(spec.model.objects.count() for spec in searchables())
