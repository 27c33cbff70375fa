"""Creating a tag while another transaction creates the same one (PostgreSQL).

`INSERT ... ON CONFLICT (name)` alone can fail with a unique violation on the tag's slug
index when two writers introduce the same tag at the same instant (see
`opsknowledge.models.documents.TAG_LOCKS_SQL`). The race itself is a matter of microseconds
and cannot be staged; what can be proven is the mechanism: a write that creates a tag waits
for a concurrent creator of that tag, then takes the tag the other committed."""

import threading

import psycopg
import pytest
from django.db import connection, connections
from taggit.models import Tag

from opsknowledge import services
from opsknowledge.importing import import_document
from opsknowledge.models import Organisation
from opsknowledge.models.documents import tag_lock_keys
from runbooks.models import Runbook


def raw_connection():
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )


@pytest.mark.django_db(transaction=True)
def test_a_write_creating_a_tag_waits_for_a_concurrent_creator_and_takes_its_tag(catalogue):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's writers are serialised by the database lock")
    organisation = Organisation.objects.get(slug="scs")
    other = raw_connection()  # a concurrent creator, mid-transaction
    other.execute(
        "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
        [tag_lock_keys([Tag(name="lock-probe")])],
    )
    finished = threading.Event()
    errors = []

    def write():
        try:
            import_document(
                model=Runbook,
                organisation=organisation,
                slug="tagged-while-locked",
                fields={"title": "Tagged", "tags": ["lock-probe"], "status": "published"},
                actor=services.Actor.operator(),
            )
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()
            finished.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not finished.wait(1.0), "the write did not wait for the concurrent creator"
        tag_id = other.execute(
            "INSERT INTO taggit_tag (name, slug) VALUES ('lock-probe', 'lock-probe') RETURNING id"
        ).fetchone()[0]
        other.commit()
        assert finished.wait(20), "the write did not finish once the creator had committed"
    finally:
        other.close()
        writer.join(timeout=30)
    assert not errors, errors
    runbook = Runbook.objects.get(slug="tagged-while-locked")
    assert [tag.pk for tag in runbook.tags.all()] == [tag_id]
    assert Tag.objects.filter(name="lock-probe").count() == 1


def test_names_that_slugify_alike_share_a_lock_and_keys_are_sorted():
    keys = tag_lock_keys([Tag(name="a.b"), Tag(name="ab"), Tag(name="zz"), Tag(name="ceph")])
    assert len(keys) == 3 and keys == sorted(keys)
    assert tag_lock_keys([]) == []
