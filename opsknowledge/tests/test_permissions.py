"""The visibility vocabulary, as a table: who reads which document."""

import pytest
from django.contrib.auth.models import AnonymousUser

from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from opsknowledge.visibility import Access
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

# (visibility, status) -> the callers who may read it
READERS = {
    ("public", "published"): {"anonymous", "outsider", "other_editor", "viewer", "editor", "staff"},
    ("public", "archived"): {"anonymous", "outsider", "other_editor", "viewer", "editor", "staff"},
    ("community", "published"): {"other_editor", "viewer", "editor", "staff_member"},
    ("organisation", "published"): {"viewer", "editor"},
    ("public", "draft"): {"viewer", "editor"},
    ("community", "draft"): {"viewer", "editor"},
    ("organisation", "draft"): {"viewer", "editor"},
}
CALLERS = ["anonymous", "outsider", "other_editor", "viewer", "editor", "staff", "staff_member"]


@pytest.fixture
def world():
    owner, other = OrganisationFactory(slug="owner"), OrganisationFactory(slug="other")
    callers = {
        "anonymous": AnonymousUser(),
        # signed in, member of no organisation
        "outsider": UserFactory(username="outsider"),
        "other_editor": member(other, "editor", username="other-editor"),
        "viewer": member(owner, "viewer", username="viewer"),
        "editor": member(owner, "editor", username="editor"),
        # staff manage the catalogue; they read documents like any other user
        "staff": UserFactory(username="staff", is_staff=True),
        "staff_member": member(other, "viewer", username="staff-member", is_staff=True),
    }
    documents = {
        key: Runbook.objects.create(
            organisation=owner,
            slug=f"{key[0]}-{key[1]}",
            title=str(key),
            visibility=key[0],
            status=key[1],
        )
        for key in READERS
    }
    return callers, documents


@pytest.mark.parametrize("caller", CALLERS)
def test_visible_to(world, caller):
    callers, documents = world
    expected = {
        key
        for key, readers in READERS.items()
        if caller in readers or (caller == "staff_member" and "other_editor" in readers)
    }
    visible = set(Runbook.objects.visible_to(callers[caller]).values_list("slug", flat=True))
    assert visible == {documents[key].slug for key in expected}


def test_editable_by_needs_editor_or_admin_of_the_owner(world):
    callers, documents = world
    for caller in CALLERS:
        editable = Runbook.objects.editable_by(callers[caller]).count()
        assert editable == (len(documents) if caller == "editor" else 0), caller


def test_in_review_is_members_only(world):
    callers, _ = world
    Runbook.objects.create(
        organisation=callers["editor"].memberships.get().organisation,
        slug="reviewing",
        title="x",
        visibility="public",
        status="in_review",
    )
    assert not Runbook.objects.visible_to(callers["other_editor"]).filter(slug="reviewing")
    assert Runbook.objects.visible_to(callers["viewer"]).filter(slug="reviewing")


def test_access_roles():
    org = OrganisationFactory()
    admin = Access.of(member(org, "admin"))
    viewer = Access.of(member(org, "viewer"))
    assert admin.can_write(org) and not viewer.can_write(org)
    assert viewer.is_community_member
    assert not Access.of(AnonymousUser()).is_community_member
    assert not Access.of(UserFactory()).is_community_member
