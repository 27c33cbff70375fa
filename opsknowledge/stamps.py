"""Keeping the briefing stamps (`models.BriefingStamp`): every write service that changes a
runbook, failure report or release note takes `before_write()` of the document before it
changes it and calls `record()` after, in the same transaction, and the stamps of the steps
it was and is shown on move in one statement. Steps are release ids read from the document
itself, never slugs from a stored snapshot, which keeps a renamed release's old slug.

A stamp counts the published documents of one (kind, step, organisation, visibility) and
has a version that each such write increases, so that a briefing's ETag, a sum of the
stamps its reader may see, changes whenever what that reader would be shown changes:
an edit, a document archived, hidden, published or moved to another step. `counted()`
gives them as the documents are (the tests hold the kept stamps against it); `recount()`
writes that, for the migration that introduced them and for `import_all`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Max
from django.utils import timezone

from .models import BriefingStamp, Status

TABLE = BriefingStamp._meta.db_table
UNIQUE = ", ".join(
    BriefingStamp._meta.get_field(name).column
    for name in ("kind", "release", "start_pk", "note_kind", "organisation", "visibility")
)


def stored_release_ids(document) -> list[int]:
    """The releases `document` names as stored now, when its stamps depend on them (a
    published failure report): read before a write changes them. [] otherwise, at no cost."""
    if not document.BRIEFING_BY_RELEASES or document.pk is None:
        return []
    if document.status != Status.PUBLISHED:
        return []  # counted nowhere: which releases it names does not matter
    return list(document.releases.values_list("pk", flat=True))


def shown(document, release_ids=()) -> set[tuple[int, int, str, str]]:
    """(start pk, release pk, note kind, visibility) of each stamp `document`, as it stands
    in memory, counts in: none unless it is published."""
    if document.status != Status.PUBLISHED:
        return set()
    return {(*step, document.visibility) for step in document.briefing_steps(release_ids)}


@dataclass(frozen=True)
class Before:
    """What a document counted in before a write (`before_write`), taken before the write
    changes its columns and relations."""

    published: bool
    release_ids: list[int]
    keys: set


def before_write(document) -> Before:
    release_ids = stored_release_ids(document)
    return Before(document.status == Status.PUBLISHED, release_ids, shown(document, release_ids))


def record(document, before: Before | None, data: dict) -> None:
    """The stamps of `document`'s steps after a write of `data` (the written fields, with
    catalogue objects) that moved it from `before` (None: created) to what it is now: one
    statement, none when it is shown on no briefing either side. Runs in the write's
    transaction, under its row lock on `document`; stamp rows are upserted in one order,
    so concurrent writers cannot deadlock on them."""
    if "releases" in data:
        release_ids = [release.pk for release in data["releases"]]
    elif before is None:
        release_ids = []  # created without releases: it names none
    elif before.published:
        release_ids = before.release_ids  # unchanged by this write
    else:
        release_ids = stored_release_ids(document)  # published by this write
    was, now = (before.keys if before else set()), shown(document, release_ids)
    keys = sorted(was | now)
    if not keys:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(keys))
    params = []
    for position, key in enumerate(keys):
        params += [*key, (key in now) - (key in was), position]
    updated = connection.ops.adapt_datetimefield_value(timezone.now())
    # `WHERE true` lets SQLite tell the upsert's ON from a join's.
    sql = f"""
        WITH wanted (start_pk, release_id, note_kind, visibility, delta, position)
            AS (VALUES {values})
        INSERT INTO {TABLE}
            (kind, release_id, start_pk, note_kind, organisation_id, visibility,
             count, version, updated)
        SELECT %s, CAST(w.release_id AS integer), CAST(w.start_pk AS integer), w.note_kind,
               %s, w.visibility, CAST(w.delta AS integer), 1, %s
        FROM wanted w
        WHERE true
        ORDER BY CAST(w.position AS integer)
        ON CONFLICT ({UNIQUE}) DO UPDATE SET
            count = {TABLE}.count + excluded.count,
            version = {TABLE}.version + 1,
            updated = excluded.updated
    """
    params += [type(document)._meta.model_name, document.organisation_id, updated]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def touch(**match) -> None:
    """Move the version of the stamps `match` selects (all of them when empty): a briefing
    also shows catalogue names (an organisation's slug and name, a note's component), so
    renaming one must change the ETag of every briefing that may show it. Renames are rare
    and the stamps few; the rows are locked first in the order of the unique key, which a
    document writer's upsert also follows within its (kind, organisation), so the two
    cannot deadlock."""
    # By the id columns: ordering by "organisation" would join it (its Meta.ordering), and
    # FOR UPDATE would then lock the organisation rows too.
    rows = BriefingStamp.objects.filter(**match).order_by(
        "kind", "organisation_id", "start_pk", "release_id", "note_kind", "visibility"
    )
    pks = list(rows.select_for_update(of=("self",)).values_list("pk", flat=True))
    if pks:
        BriefingStamp.objects.filter(pk__in=pks).update(
            version=F("version") + 1, updated=timezone.now()
        )


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
    """Rebuild every stamp from the documents; the number of stamps. For the migration and
    `import_all`, where nothing else writes: it takes no lock against a concurrent write
    service, whose change between the count and the rebuild would be lost."""
    from django.apps import apps as current

    stamps = counted(apps)
    model = (apps or current).get_model("opsknowledge", "BriefingStamp")
    model.objects.all().delete()
    model.objects.bulk_create(stamps, batch_size=500)
    return len(stamps)
