"""Keeping the briefing stamps (`models.BriefingStamp`): every write service that changes a
runbook, failure report or release note calls `record()` in its transaction, with the
content before and after, and the stamps of the steps the document is shown on (before, and
after) move in one statement.

A stamp counts the published documents of one (kind, step, organisation, visibility) and
has a version that each such write increases, so that a briefing's ETag, a sum of the
stamps its reader may see, changes whenever what that reader would be shown changes:
an edit, a document archived, hidden, published or moved to another step. `recount()`
builds them from the documents, for the migration that introduced them and for the tests
that hold the kept stamps against it.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from .models import BriefingStamp, Status

TABLE = BriefingStamp._meta.db_table
UNIQUE = ", ".join(
    BriefingStamp._meta.get_field(name).column
    for name in ("kind", "release", "start_pk", "note_kind", "organisation", "visibility")
)


def _keys(document, content: dict | None) -> set[tuple[str, str, str, str]]:
    """(start slug, release slug, note kind, visibility) of each stamp `content` counts in."""
    if content is None or content.get("status") != Status.PUBLISHED:
        return set()
    visibility = content["visibility"]
    return {(*step, visibility) for step in document.briefing_steps(content)}


def record(document, before: dict | None, after: dict | None) -> None:
    """The stamps of `document`'s steps after a write that changed its content from
    `before` (None: created) to `after`: one statement, none when neither is shown on a
    briefing. Runs in the write's transaction, under the write's row lock on `document`;
    stamp rows are upserted in one order, so concurrent writers cannot deadlock on them."""
    was, now = _keys(document, before), _keys(document, after)
    keys = sorted(was | now)
    if not keys:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(keys))
    params = []
    for position, key in enumerate(keys):
        params += [*key, (key in now) - (key in was), position]
    updated = connection.ops.adapt_datetimefield_value(timezone.now())
    # Release slugs are resolved in the statement (a snapshot names releases by slug); a
    # slug no release has any more counts nowhere. `WHERE true` lets SQLite tell the
    # upsert's ON from a join's.
    sql = f"""
        WITH wanted (start_slug, release_slug, note_kind, visibility, delta, position)
            AS (VALUES {values})
        INSERT INTO {TABLE}
            (kind, release_id, start_pk, note_kind, organisation_id, visibility,
             count, version, updated)
        SELECT %s, r.id, COALESCE(s.id, 0), w.note_kind, %s, w.visibility,
               CAST(w.delta AS integer), 1, %s
        FROM wanted w
        JOIN opsknowledge_release r ON r.slug = w.release_slug
        LEFT JOIN opsknowledge_release s ON s.slug = w.start_slug
        WHERE true
        ORDER BY CAST(w.position AS integer)
        ON CONFLICT ({UNIQUE}) DO UPDATE SET
            count = {TABLE}.count + excluded.count,
            version = {TABLE}.version + 1,
            updated = excluded.updated
        RETURNING id
    """
    params += [type(document)._meta.model_name, document.organisation_id, updated]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        resolved = len(cursor.fetchall())  # rows inserted or updated (rowcount is not, on SQLite)
    if resolved < len(keys):
        # A slug no release has: `before` is the stored snapshot, which still names a
        # release by the slug it had then (renamed since). Which stamp it counted in is
        # not known by that slug any more: count them all again (rare, and exact).
        recount()


def counted(apps=None) -> list:
    """The stamps as the documents are now (unsaved; each version is its count).
    `apps`: a migration's historical models; the current ones otherwise."""
    from django.apps import apps as current

    apps = apps or current
    stamp = apps.get_model("opsknowledge", "BriefingStamp")
    now = timezone.now()
    published = {"status": Status.PUBLISHED}
    sources = (
        (
            apps.get_model("runbooks", "Runbook").objects.filter(
                **published, upgrade_from__isnull=False, upgrade_to__isnull=False
            ),
            {"release": "upgrade_to", "start_pk": "upgrade_from"},
        ),
        (
            apps.get_model("incidents", "FailureReport").objects.filter(
                **published, releases__isnull=False
            ),
            {"release": "releases"},
        ),
        (
            apps.get_model("releases", "ReleaseNote").objects.filter(**published),
            {"release": "release", "note_kind": "kind"},
        ),
    )
    stamps = []
    for documents, columns in sources:
        grouped = (
            documents.order_by()
            .values(*columns.values(), "organisation", "visibility")
            .annotate(n=Count("pk"), at=Max("updated"))
        )
        for group in grouped:
            fields = {name: group[source] for name, source in columns.items()}
            stamps.append(
                stamp(
                    kind=documents.model._meta.model_name,
                    release_id=fields.pop("release"),
                    organisation_id=group["organisation"],
                    visibility=group["visibility"],
                    count=group["n"],
                    version=group["n"],
                    updated=group["at"] or now,
                    **fields,
                )
            )
    return stamps


def recount(apps=None) -> int:
    """Rebuild every stamp from the documents; the number of stamps."""
    from django.apps import apps as current

    stamps = counted(apps)
    model = (apps or current).get_model("opsknowledge", "BriefingStamp")
    model.objects.all().delete()
    model.objects.bulk_create(stamps, batch_size=500)
    return len(stamps)
