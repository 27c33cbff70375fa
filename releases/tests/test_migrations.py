"""Moving release notes out of the core app moved no data: what was stored before the move
is there after it, and what referred to it still does."""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("opsknowledge", "0008_staff_tokens")]
AFTER = [("releases", "0003_repair_note_slugs")]


@pytest.mark.django_db(transaction=True)
def test_a_release_note_stored_before_the_move_is_there_after_it():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    scs = old.get_model("opsknowledge", "Organisation").objects.create(slug="scs", name="SCS")
    r3 = old.get_model("opsknowledge", "Release").objects.create(slug="r3", name="Release 3")
    note = old.get_model("opsknowledge", "ReleaseNote").objects.create(
        organisation=scs, release=r3, slug="upgrade-001-osism", kind="upgrade", title="OSISM"
    )
    # What the importers stored for a title with an underscore.
    old.get_model("opsknowledge", "ReleaseNote").objects.create(
        organisation=scs, release=r3, slug="upgrade-002-etcd_prio_boost", kind="upgrade", title="e"
    )
    content_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="opsknowledge", model="releasenote"
    )
    old.get_model("opsknowledge", "Revision").objects.create(
        content_type=content_type, object_id=note.pk, number=1, snapshot={"title": "OSISM"}
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    notes = new.get_model("releases", "ReleaseNote").objects.order_by("slug")
    assert [(n.pk, n.slug, n.title, n.revision) for n in notes][0] == (
        note.pk,
        "upgrade-001-osism",
        "OSISM",
        1,
    )
    assert notes[1].slug == "upgrade-002-etcd-prio-boost"  # what the importers store now
    revision = new.get_model("opsknowledge", "Revision").objects.get(object_id=note.pk)
    assert (revision.content_type.app_label, revision.content_type.model) == (
        "releases",
        "releasenote",
    )
    assert not ContentType.objects.filter(app_label="opsknowledge", model="releasenote").exists()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()  # ids were renamed under the cache
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
