"""The release page is where a release note's link lands: it shows the notes the reader may
read, each under its anchor, and nothing else."""

import pytest

from opsknowledge.models import Visibility
from opsknowledge.tests.factories import OrganisationFactory, ReleaseFactory, member
from releases.models import ReleaseNote

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes():
    release = ReleaseFactory(slug="r3", name="R3")
    scs = OrganisationFactory(slug="scs")
    acme = OrganisationFactory(slug="acme")
    public = ReleaseNote.objects.create(
        release=release, organisation=scs, slug="ceph-quincy", kind="upgrade", title="Ceph Quincy"
    )
    internal = ReleaseNote.objects.create(
        release=release,
        organisation=acme,
        slug="our-rollout",
        kind="known-issue",
        title="Acme rollout window",
        visibility=Visibility.COMMUNITY,
    )
    return public, internal


def test_a_note_links_to_its_anchor_on_the_release_page(client, notes):
    public, _ = notes
    assert public.page_url() == "/releases/r3/#scs-ceph-quincy"
    page = client.get("/releases/r3/").content.decode()
    assert 'id="scs-ceph-quincy"' in page and "Ceph Quincy" in page


def test_the_release_page_shows_only_the_notes_the_reader_may_read(client, notes):
    _, internal = notes
    assert "Acme rollout window" not in client.get("/releases/r3/").content.decode()
    client.force_login(member(internal.organisation))
    assert "Acme rollout window" in client.get("/releases/r3/").content.decode()


def test_an_unknown_release_is_a_404(client, notes):
    assert client.get("/releases/r99/").status_code == 404
