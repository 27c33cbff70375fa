"""Release-note writes take the documents' path: the writer must be allowed to write the
organisation, the content rules run, and every real change is a revision."""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from opsknowledge.exceptions import PermissionDenied, ValidationError
from opsknowledge.markdown import MAX_BRACKETS
from opsknowledge.models import Revision, Role
from opsknowledge.services import Actor
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import (
    OrganisationFactory,
    ReleaseFactory,
    UserFactory,
    member,
)
from opsknowledge.visibility import Access
from releases.models import ReleaseNote
from releases.services import release_note_upsert

pytestmark = pytest.mark.django_db

FIELDS = {"kind": "upgrade", "title": "Move to the new orchestrator", "body": "Set `noout`."}


@pytest.fixture
def scs():
    return OrganisationFactory(slug="scs")


@pytest.fixture
def release():
    return ReleaseFactory(slug="r3")


def write(organisation, release, actor, **fields):
    return release_note_upsert(
        organisation=organisation,
        release=release,
        slug="upgrade-001-orchestrator",
        fields={**FIELDS, **fields},
        actor=actor,
    )


def note_revisions():
    content_type = ContentType.objects.get_for_model(ReleaseNote)
    return Revision.objects.filter(content_type=content_type)


@pytest.mark.parametrize("writer", ["viewer of scs", "editor of north", "member of none"])
def test_who_may_not_write_the_organisation_is_refused(scs, release, writer):
    north = OrganisationFactory(slug="north")
    user = {
        "viewer of scs": lambda: member(scs, Role.VIEWER),
        "editor of north": lambda: member(north, Role.EDITOR),
        "member of none": UserFactory,
    }[writer]()
    with pytest.raises(PermissionDenied, match="editor or admin role in organisation 'scs'"):
        write(scs, release, Actor(access=Access.for_user(user)))
    assert not ReleaseNote.objects.exists() and not note_revisions().exists()


def test_an_editor_writes_and_every_real_change_is_a_revision(scs, release):
    editor = member(scs, Role.EDITOR)
    actor = Actor(access=Access.for_user(editor), via=Revision.Via.SESSION)

    assert write(scs, release, actor)[0] == "created"
    assert write(scs, release, actor)[0] == "unchanged"
    assert write(scs, release, actor, title="Move to cephadm")[0] == "updated"
    outcome, note = write(scs, release, actor, title="Move to cephadm", order=2)

    assert outcome == "updated" and note.revision == 3
    revisions = list(note_revisions().filter(object_id=note.pk))
    assert [r.number for r in revisions] == [1, 2, 3]
    assert [r.message for r in revisions] == ["Created", "Updated", "Updated"]
    assert {(r.author, r.via) for r in revisions} == {(editor, "session")}
    assert revisions[-1].snapshot == {
        "kind": "upgrade",
        "component": None,
        "title": "Move to cephadm",
        "body": "Set `noout`.",
        "order": 2,
        "source_url": "",
        "visibility": "public",
        "status": "published",
    }
    assert "<code>noout</code>" in ReleaseNote.objects.get().body_html


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "gossip"}, "kind"),
        ({"title": ""}, "title"),
        ({"source_url": "not a url"}, "source_url"),
        ({"body": "[" * (MAX_BRACKETS + 1)}, "body"),  # too costly to render
    ],
)
def test_the_content_rules_run_whoever_writes(scs, release, fields, field):
    with pytest.raises(ValidationError) as refused:
        write(scs, release, Actor.operator(), **fields)
    assert field in refused.value.message_dict
    assert not ReleaseNote.objects.exists() and not note_revisions().exists()


def test_importing_the_scs_release_notes_twice_records_no_second_revision():
    data = shared_data.path("scs-release-notes")
    shared_data.require(data / "README.md", "the SCS release notes")
    OrganisationFactory(slug="scs")

    def run():
        call_command(
            "import_release_notes", str(data), "--organisation", "scs",
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
        return note_revisions().count()

    first = run()
    assert first == ReleaseNote.objects.count() > 100  # revision 1 of every note
    assert set(note_revisions().values_list("number", "via")) == {(1, "import")}
    assert run() == first
