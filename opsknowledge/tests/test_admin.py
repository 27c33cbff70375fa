"""Staff and the catalogue: the admin shows no document content of any organisation, and
deleting a component or release that anything refers to is refused, counting (not naming)
what refers to it; history cannot be deleted, and a diff never depends on it being whole."""

import pytest

from opsknowledge.models import Component, Release, Revision
from opsknowledge.tests.factories import ComponentFactory, OrganisationFactory, UserFactory
from releases.models import ReleaseNote
from runbooks.models import Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, api):
    user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(user)
    api.force_authenticate(user)
    return client


@pytest.fixture
def hidden(catalogue):
    return publish(
        organisation=OrganisationFactory(slug="alpen"),
        slug="secret-ceph-plan",
        title="Secret Ceph plan",
        visibility="organisation",
        tags=["project-nightjar"],
        components=["ceph"],
        releases=["r4"],
    )


def test_the_admin_lists_no_revisions_and_no_tags(staff, hidden):
    assert staff.get("/admin/opsknowledge/revision/").status_code == 404
    assert staff.get("/admin/taggit/tag/").status_code == 404
    index = staff.get("/admin/").content.decode()
    assert "Revisions" not in index and "project-nightjar" not in index


@pytest.mark.parametrize("path", ["components/ceph", "releases/r4"])
def test_deleting_what_documents_refer_to_is_a_conflict_that_counts(staff, api, hidden, path):
    before = Revision.objects.count()
    response = api.delete(f"/api/v1/{path}/")
    assert response.status_code == 409, response.content
    detail = response.json()["error"]["detail"]
    assert "1 runbook" in detail and "Secret" not in detail and "secret" not in detail
    assert Runbook.objects.get().components.filter(slug="ceph").exists()
    assert Runbook.objects.get().releases.filter(slug="r4").exists()
    assert Revision.objects.count() == before


def test_a_release_with_notes_keeps_them(staff, api, catalogue):
    ReleaseNote.objects.create(
        release=Release.objects.get(slug="r3"),
        organisation=OrganisationFactory(slug="north"),
        slug="hidden-note",
        kind="known-issue",
        title="Hidden note",
        visibility="organisation",
    )
    response = api.delete("/api/v1/releases/r3/")
    assert response.status_code == 409, response.content
    assert "1 release note" in response.json()["error"]["detail"]
    assert ReleaseNote.objects.filter(slug="hidden-note").exists()


def test_an_unreferenced_component_can_be_deleted(staff, api, catalogue):
    ComponentFactory(slug="unused")
    assert api.delete("/api/v1/components/unused/").status_code == 204
    assert not Component.objects.filter(slug="unused").exists()


def test_the_admin_does_not_delete_referenced_catalogue_objects(staff, hidden):
    ceph = Component.objects.get(slug="ceph")
    assert staff.get(f"/admin/opsknowledge/component/{ceph.pk}/delete/").status_code == 403
    r4 = Release.objects.get(slug="r4")
    page = staff.post(
        "/admin/opsknowledge/release/",
        {"action": "delete_selected", "_selected_action": [r4.pk], "post": "yes"},
    )
    assert page.status_code in (200, 302)
    assert Release.objects.filter(slug="r4").exists()


def test_a_diff_reaching_a_revision_that_is_gone_is_a_404(api, hidden):
    alpen_editor = hidden.organisation.memberships.create(
        user=UserFactory(username="erika"), role="editor"
    ).user
    api.force_authenticate(alpen_editor)
    url = "/api/v1/runbooks/alpen/secret-ceph-plan/"
    assert (
        api.patch(url, {"title": "Ceph plan"}, format="json", HTTP_IF_MATCH='"1"').status_code
        == 200
    )
    Revision.objects.filter(number=1).delete()  # as the admin once could
    response = api.get(url + "diff/?from=1&to=2")
    assert response.status_code == 404, response.content


@pytest.mark.django_db
def test_catalogue_edits_in_the_admin_go_through_the_catalogue_service(client):
    """Renamed in the admin, a component is found by its new name at once and the audit log
    names who renamed it, exactly as when the API renames it."""
    from opsknowledge.models import AuditEvent, Component
    from opsknowledge.tests.factories import OrganisationFactory, UserFactory
    from runbooks.tests.factories import publish

    staff = UserFactory(is_staff=True, is_superuser=True, username="root")
    component = Component.objects.create(slug="lbaas", name="Load balancer")
    publish(organisation=OrganisationFactory(slug="alpen"), slug="lb-down", components=["lbaas"])
    client.force_login(staff)
    response = client.post(
        f"/admin/opsknowledge/component/{component.pk}/change/",
        {"slug": "lbaas", "name": "Octavia", "description": "", "parent": "", "aliases": "[]"},
    )
    assert response.status_code == 302, response.content[:2000]
    client.logout()
    found = client.get("/api/v1/search/", {"q": "octavia"}).json()
    assert [hit["slug"] for hit in found["results"]] == ["lb-down"]
    event = AuditEvent.objects.get(action="component.update")
    assert (event.username, event.via, event.target) == ("root", "session", "lbaas")


@pytest.mark.django_db
def test_organisation_edits_in_the_admin_go_through_the_organisation_service(client, catalogue):
    """Renamed in the admin, an organisation's briefings get a new ETag (they show its name)
    and the audit log names who renamed it."""
    from opsknowledge.models import AuditEvent, Organisation
    from releases.services import release_note_upsert

    from .. import services

    alpen = OrganisationFactory(slug="alpen", name="Alpen")
    release_note_upsert(
        organisation=alpen,
        release=Release.objects.get(slug="r3"),
        slug="osd-flags",
        fields={"kind": "upgrade", "title": "OSD flags", "visibility": "public"},
        actor=services.Actor.operator(),
    )
    briefing = "/api/v1/upgrade-path/?from=r2&to=r3&format=md"
    etag = client.get(briefing)["ETag"]
    client.force_login(UserFactory(is_staff=True, is_superuser=True, username="root"))
    response = client.post(
        f"/admin/opsknowledge/organisation/{alpen.pk}/change/",
        {
            "slug": "alpen",
            "name": "Alpenwolke",
            "website": "",
            "description": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Organisation.objects.get(slug="alpen").name == "Alpenwolke"
    client.logout()
    renamed = client.get(briefing, HTTP_IF_NONE_MATCH=etag)
    assert renamed.status_code == 200 and "Published by Alpenwolke." in renamed.content.decode()
    event = AuditEvent.objects.get(action="organisation.update")
    assert (event.username, event.via, event.target) == ("root", "session", "alpen")
