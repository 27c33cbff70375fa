"""Reuse across organisations: adopt a runbook, see when the original moves on."""

import pytest

from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Runbook

from .factories import practice, publish

pytestmark = pytest.mark.django_db

ORIGINAL = "/api/v1/runbooks/scs/ceph-osd-full/"


@pytest.fixture
def world(catalogue, token_client):
    scs, north = OrganisationFactory(slug="scs"), OrganisationFactory(slug="north")
    publish(
        organisation=scs,
        slug="ceph-osd-full",
        body="## Meaning\nFull.\n",
        tags=["ceph"],
        components=["ceph"],
        license="CC-BY-4.0",
    )
    return {
        "scs": token_client(member(scs, "editor", username="scs-editor"), scs),
        "north": token_client(member(north, "editor", username="north-editor"), north),
    }


def test_adopt_copies_with_attribution_and_reports_when_behind(world):
    scs, north = world["scs"], world["north"]
    response = north.post(ORIGINAL + "adopt/", {"organisation": "north"}, format="json")
    assert response.status_code == 201, response.content
    copy = response.json()
    assert response["Location"].endswith("/api/v1/runbooks/north/ceph-osd-full/")
    assert copy["organisation"] == "north"
    assert copy["upstream"] == {
        "organisation": "scs",
        "slug": "ceph-osd-full",
        "revision": 1,
        "license": "CC-BY-4.0",
        "behind": False,
    }
    assert (copy["body"], copy["tags"], copy["components"]) == (
        "## Meaning\nFull.\n",
        ["ceph"],
        ["ceph"],
    )
    assert copy["license"] == "CC-BY-4.0"
    # The copy starts as the adopter's private draft.
    assert (copy["status"], copy["visibility"]) == ("draft", "organisation")
    assert (
        north.get(copy["api_url"] + "revisions/")
        .json()["results"][0]["message"]
        .startswith("Adopted from scs/ceph-osd-full")
    )

    scs.patch(
        ORIGINAL,
        {"body": "## Meaning\nFull.\n\n## Mitigation\nAdd OSDs.\n"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    copy_url = "/api/v1/runbooks/north/ceph-osd-full/"
    assert north.get(copy_url).json()["upstream"]["behind"] is True
    listed = north.get("/api/v1/runbooks/?organisation=north").json()["results"][0]
    assert listed["upstream"]["behind"] is True

    diff = north.get(copy_url + "upstream-diff/").json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert "+## Mitigation" in diff["changes"]["body"]


def test_adopt_under_a_new_slug_and_refuse_a_taken_one(world):
    north = world["north"]
    first = north.post(
        ORIGINAL + "adopt/", {"organisation": "north", "slug": "osd-full"}, format="json"
    )
    assert first.status_code == 201
    assert first.json()["slug"] == "osd-full"
    again = north.post(
        ORIGINAL + "adopt/", {"organisation": "north", "slug": "osd-full"}, format="json"
    )
    assert again.status_code == 409


def test_adopt_defaults_to_the_tokens_organisation(world):
    response = world["north"].post(ORIGINAL + "adopt/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["organisation"] == "north"


@pytest.mark.parametrize("license", ["proprietary", "CC-BY-ND-4.0", "CC-BY-NC-ND-4.0"])
def test_licenses_without_derivatives_cannot_be_adopted(world, license):
    scs = Runbook.objects.get(slug="ceph-osd-full").organisation
    publish(organisation=scs, slug="closed", license=license)
    response = world["north"].post(
        "/api/v1/runbooks/scs/closed/adopt/", {"organisation": "north"}, format="json"
    )
    assert response.status_code == 409
    assert license in response.json()["error"]["detail"]
    assert not Runbook.objects.filter(organisation__slug="north").exists()


def test_adopting_into_an_organisation_one_cannot_write_is_403(world):
    response = world["north"].post(
        ORIGINAL + "adopt/", {"organisation": "scs", "slug": "x"}, format="json"
    )
    assert response.status_code == 403


def test_upstream_diff_needs_an_adopted_document(world):
    assert world["scs"].get(ORIGINAL + "upstream-diff/").status_code == 404


def test_practices_are_adoptable_too(world):
    scs = Runbook.objects.get(slug="ceph-osd-full").organisation
    practice(organisation=scs, slug="maintenance-windows")
    response = world["north"].post(
        "/api/v1/practices/scs/maintenance-windows/adopt/", {"organisation": "north"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["upstream"]["slug"] == "maintenance-windows"
