"""The catalogue over the REST API: everyone reads, staff write, references are slugs."""

import pytest

from opsknowledge.models import Component, Release
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def staff_client(api):
    api.force_authenticate(UserFactory(username="operator", is_staff=True))
    return api


def test_releases_follow_the_upgrade_chain(api, demo):
    body = api.get("/api/v1/releases/").json()
    assert [r["slug"] for r in body["results"]] == [f"r{n}" for n in range(8)]
    r3 = body["results"][3]
    assert r3 == {
        "slug": "r3",
        "name": "Release 3",
        "version": "v4.0.0",
        "released_on": "2022-09-21",
        "end_of_maintenance": None,
        "previous": "r2",
        "next": "r4",
        "api_url": "http://testserver/api/v1/releases/r3/",
    }
    assert body["results"][0]["previous"] is None
    assert body["results"][-1]["next"] is None


def test_release_list_order_is_the_chain_not_the_dates(api, db):
    # A release whose date is earlier than its predecessor's still comes after it.
    a = Release.objects.create(slug="a", name="A", released_on="2024-01-01")
    Release.objects.create(slug="b", name="B", released_on="2023-01-01", previous=a)
    assert [r["slug"] for r in api.get("/api/v1/releases/").json()["results"]] == ["a", "b"]


def test_anyone_reads_the_catalogue(api, demo):
    assert api.get("/api/v1/organisations/scs/").json()["name"] == "Sovereign Cloud Stack community"
    nova = api.get("/api/v1/components/nova/").json()
    assert nova["parent"] == "openstack"
    assert "nova-compute" in nova["aliases"]


@pytest.mark.parametrize(
    "who, expected",
    [("anonymous", 401), ("editor", 403), ("staff", 201)],
)
def test_only_staff_write_the_catalogue(api, db, who, expected):
    if who == "editor":
        api.force_authenticate(member(OrganisationFactory(), role="admin"))
    elif who == "staff":
        staff_client(api)
    response = api.post("/api/v1/components/", {"slug": "swift", "name": "Swift"}, format="json")
    assert response.status_code == expected, response.content
    assert Component.objects.filter(slug="swift").exists() == (expected == 201)
    if expected != 201:
        assert response.json()["error"]["status"] == expected


def test_unknown_reference_names_the_field_and_closest_choice(api, demo):
    staff_client(api)
    response = api.post(
        "/api/v1/components/", {"slug": "rgw", "name": "RGW", "parent": "cepf"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"parent": ["unknown component 'cepf'; did you mean 'ceph'?"]}


def test_release_chain_cannot_fork_or_loop(api, demo):
    staff_client(api)
    fork = api.post(
        "/api/v1/releases/", {"slug": "r3b", "name": "R3b", "previous": "r2"}, format="json"
    )
    assert fork.status_code == 400
    assert "previous" in fork.json()["error"]["fields"]
    loop = api.patch("/api/v1/releases/r0/", {"previous": "r7"}, format="json")
    assert loop.status_code == 400
    assert loop.json()["error"]["fields"]["previous"] == ["The upgrade chain cannot loop."]


def test_release_end_of_maintenance_not_before_release(api, demo):
    staff_client(api)
    response = api.patch(
        "/api/v1/releases/r7/", {"end_of_maintenance": "2020-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert "end_of_maintenance" in response.json()["error"]["fields"]


def test_deleting_a_referenced_component_is_a_conflict(api, demo):
    staff_client(api)
    response = api.delete("/api/v1/components/openstack/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert Component.objects.filter(slug="openstack").exists()


def test_page_size_is_capped(api, db):
    Component.objects.bulk_create([Component(slug=f"c{n:03d}", name=f"C{n}") for n in range(205)])
    body = api.get("/api/v1/components/?page_size=1000").json()
    assert body["count"] == 205
    assert len(body["results"]) == 200
    assert body["next"].endswith("page=2&page_size=1000")


def test_unknown_ordering_field_is_refused(api, demo):
    response = api.get("/api/v1/components/?ordering=-password")
    assert response.status_code == 400
    assert "valid: name, slug" in response.json()["error"]["fields"]["ordering"][0]
    ordered = api.get("/api/v1/components/?ordering=-slug").json()["results"]
    assert ordered[0]["slug"] == "rabbitmq"


def test_me_describes_the_caller(api, db):
    assert api.get("/api/v1/me/").json()["authenticated"] is False
    org = OrganisationFactory(slug="alpen")
    api.force_authenticate(member(org, role="viewer", username="vera"))
    me = api.get("/api/v1/me/").json()
    assert me["username"] == "vera"
    assert me["organisations"] == [{"slug": "alpen", "name": org.name, "role": "viewer"}]


@pytest.mark.parametrize(
    "url, detail",
    [
        ("/api/v1/releases/nope/", "No release 'nope'."),
        ("/api/v1/releases/nope/notes/", "No release 'nope'."),
        ("/api/v1/components/nope/", "No component 'nope'."),
        ("/api/v1/organisations/nope/", "No organisation 'nope'."),
    ],
)
def test_a_missing_catalogue_entry_is_a_404_naming_it(api, db, url, detail):
    response = api.get(url)
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "code": "not_found", "detail": detail}}
