"""Publishing runbooks and practices over the API, as providers' pipelines do."""

import pytest

from opsknowledge import services
from opsknowledge.models import Component, Revision
from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Runbook

from .factories import publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/runbooks/alpen/ceph-osd-full/"
RUNBOOK = {
    "title": "Ceph OSD full",
    "summary": "Writes stop when an OSD is full.",
    "body": "# Ceph OSD full\n\n## Meaning\nAn OSD crossed the full ratio.\n",
    "components": ["ceph"],
    "releases": ["r3", "r4"],
    "tags": ["Storage", "capacity"],
    "alerts": ["CephOSDFull", "CephOSDNearFull"],
    "severity": "critical",
    "visibility": "public",
    "status": "published",
}


@pytest.fixture
def pipeline(catalogue, token_client):
    """An editor's token of organisation 'alpen', as a provider's pipeline holds it."""
    alpen = OrganisationFactory(slug="alpen")
    return token_client(member(alpen, "editor", username="pipeline"), alpen)


def revisions_of(slug="ceph-osd-full"):
    runbook = Runbook.objects.get(slug=slug)
    return list(
        Revision.objects.filter(object_id=runbook.pk, content_type__model="runbook")
        .order_by("number")
        .values_list("number", flat=True)
    )


def test_put_creates_then_republishing_the_same_content_changes_nothing(pipeline):
    created = pipeline.put(URL, RUNBOOK, format="json")
    assert created.status_code == 201, created.content
    assert created["ETag"] == '"1"'
    assert created["Location"] == "http://testserver" + URL
    body = created.json()
    assert body["organisation"] == "alpen"
    assert body["tags"] == ["capacity", "storage"]
    assert body["alerts"] == ["CephOSDFull", "CephOSDNearFull"]
    assert body["releases"] == ["r3", "r4"]
    assert '<h2 id="meaning">Meaning</h2>' in body["body_html"]
    assert body["url"] == "http://testserver/runbooks/alpen/ceph-osd-full/"

    for headers in ({}, {"HTTP_IF_MATCH": '"1"'}, {"HTTP_IF_MATCH": '"7"'}):
        again = pipeline.put(URL, RUNBOOK, format="json", **headers)
        assert again.status_code == 200, again.content
        assert again["ETag"] == '"1"'
    assert revisions_of() == [1]


def test_changed_content_needs_if_match(pipeline):
    pipeline.put(URL, RUNBOOK, format="json")
    changed = {**RUNBOOK, "summary": "Writes stop."}

    missing = pipeline.put(URL, changed, format="json")
    assert missing.status_code == 428
    assert missing.json()["error"]["code"] == "precondition_required"
    assert missing.json()["error"]["current_revision"] == 1

    stale = pipeline.put(URL, changed, format="json", HTTP_IF_MATCH='"0"')
    assert stale.status_code == 412
    assert stale.json()["error"]["current_revision"] == 1
    assert stale["ETag"] == '"1"'

    current = pipeline.put(URL, changed, format="json", HTTP_IF_MATCH='"1"')
    assert current.status_code == 200
    assert current["ETag"] == '"2"'
    assert current.json()["summary"] == "Writes stop."

    star = pipeline.put(URL, {**changed, "title": "Full"}, format="json", HTTP_IF_MATCH="*")
    assert star.status_code == 200 and star["ETag"] == '"3"'
    assert revisions_of() == [1, 2, 3]


def test_put_with_if_match_on_a_missing_document_is_412(pipeline):
    response = pipeline.put(URL, RUNBOOK, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert not Runbook.objects.filter(organisation__slug="alpen").exists()


def test_put_replaces_the_content_but_keeps_publication_state(pipeline):
    pipeline.put(URL, RUNBOOK, format="json")
    response = pipeline.put(URL, {"title": "Only a title"}, format="json", HTTP_IF_MATCH='"1"')
    body = response.json()
    assert (body["summary"], body["components"], body["tags"], body["alerts"]) == ("", [], [], [])
    assert (body["status"], body["visibility"]) == ("published", "public")


def test_patch_changes_only_what_it_names(pipeline):
    pipeline.put(URL, RUNBOOK, format="json")
    response = pipeline.patch(URL, {"tags": ["ceph"]}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    body = response.json()
    assert body["tags"] == ["ceph"] and body["summary"] == RUNBOOK["summary"]
    assert pipeline.patch(URL, {"tags": ["other"]}, format="json").status_code == 428
    assert pipeline.patch(URL, {"tags": ["ceph"]}, format="json").status_code == 200


def test_delete_archives_and_put_restores(pipeline, api):
    pipeline.put(URL, RUNBOOK, format="json")
    assert pipeline.delete(URL).status_code == 428
    archived = pipeline.delete(URL, HTTP_IF_MATCH='"1"')
    assert archived.status_code == 200
    assert archived.json()["status"] == "archived"
    # Still readable at its URL, marked archived, and its history is kept.
    assert api.get(URL).json()["status"] == "archived"
    assert pipeline.delete(URL).status_code == 200  # archiving again changes nothing
    restored = pipeline.patch(URL, {"status": "published"}, format="json", HTTP_IF_MATCH='"2"')
    assert restored.json()["status"] == "published"
    assert revisions_of() == [1, 2, 3]


def test_post_creates_with_location_and_refuses_a_taken_slug(pipeline):
    response = pipeline.post(
        "/api/v1/runbooks/", {**RUNBOOK, "slug": "ceph-osd-full"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response["Location"].endswith(URL)
    again = pipeline.post("/api/v1/runbooks/", {**RUNBOOK, "slug": "ceph-osd-full"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_post_takes_the_organisation_from_the_token(pipeline):
    response = pipeline.post("/api/v1/runbooks/", {"slug": "x", "title": "X"}, format="json")
    assert response.status_code == 201
    assert response.json()["organisation"] == "alpen"
    assert response.json()["status"] == "draft"  # nothing is published by accident
    assert response.json()["visibility"] == "organisation"


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"components": ["cepf"]}, "components", "unknown component 'cepf'; did you mean 'ceph'?"),
        ({"releases": ["r33"]}, "releases", "unknown release 'r33'; did you mean 'r3'?"),
        ({"upgrade_from": "r3"}, "upgrade_to", "An upgrade runbook names both"),
        ({"upgrade_from": "r4", "upgrade_to": "r3"}, "upgrade_to", "does not come after"),
        ({"visibility": "secret"}, "visibility", "is not a valid choice"),
        ({"status": "in_review"}, "status", "is not a valid choice"),
        ({"license": "WTFPL"}, "license", "is not a valid choice"),
        ({"tags": ["two words"]}, "tags", "invalid tag"),
        ({"alerts": ["not an alert!"]}, "alerts", "invalid alert name"),
        ({"title": ""}, "title", "may not be blank"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(pipeline, change, field, message):
    response = pipeline.put(URL, {**RUNBOOK, **change}, format="json")
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()["error"]["fields"][field])
    assert not Runbook.objects.filter(organisation__slug="alpen").exists()


def test_component_aliases_are_accepted(pipeline):
    response = pipeline.put(URL, {**RUNBOOK, "components": ["nova-compute"]}, format="json")
    assert response.json()["components"] == ["nova"]


def test_organisation_and_slug_cannot_be_changed(pipeline):
    pipeline.put(URL, RUNBOOK, format="json")
    response = pipeline.patch(URL, {"slug": "other"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["error"]["fields"]["slug"][0]


def test_body_over_one_mebibyte_is_413(pipeline):
    response = pipeline.put(URL, {**RUNBOOK, "body": "x" * (1024 * 1024 + 1)}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Runbook.objects.filter(organisation__slug="alpen").exists()


def test_a_write_failing_after_the_update_leaves_no_trace(pipeline):
    """All or nothing: when a write fails after its compare-and-set UPDATE ran (here a
    relation that cannot be stored), the columns, the revision number and the history
    are all rolled back."""
    pipeline.put(URL, RUNBOOK, format="json")
    runbook = Runbook.objects.get(slug="ceph-osd-full")
    before = pipeline.get(URL).json()
    with pytest.raises(ValueError):
        services.document_update(
            document=runbook,
            data={"title": "Changed", "components": [Component(slug="unsaved")]},
            actor=services.Actor.operator(),
            if_match={1},
        )
    assert pipeline.get(URL).json() == before
    assert revisions_of() == [1]


def test_revisions_and_their_snapshots(pipeline):
    pipeline.put(URL, RUNBOOK, format="json")
    pipeline.patch(URL, {"title": "Ceph OSD is full"}, format="json", HTTP_IF_MATCH='"1"')
    listing = pipeline.get(URL + "revisions/").json()
    assert [r["number"] for r in listing["results"]] == [2, 1]
    assert listing["results"][0]["author"] == "pipeline"
    assert listing["results"][0]["via"] == "token"
    first = pipeline.get(URL + "revisions/1/").json()
    assert first["snapshot"]["title"] == "Ceph OSD full"
    assert first["snapshot"]["alerts"] == ["CephOSDFull", "CephOSDNearFull"]
    assert pipeline.get(URL + "revisions/3/").status_code == 404


def test_diff_covers_every_content_field(pipeline):
    pipeline.put(URL, RUNBOOK, format="json")
    change = {
        "body": RUNBOOK["body"] + "\n## Mitigation\nFree space.\n",
        "tags": ["storage", "ceph"],
        "releases": ["r4", "r5"],
        "severity": "warning",
    }
    pipeline.patch(URL, change, format="json", HTTP_IF_MATCH='"1"')
    diff = pipeline.get(URL + "diff/?from=1&to=2").json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert set(diff["changes"]) == {"body", "tags", "releases", "severity"}
    assert "+## Mitigation" in diff["changes"]["body"]
    assert "-capacity" in diff["changes"]["tags"] and "+ceph" in diff["changes"]["tags"]
    assert "-r3" in diff["changes"]["releases"] and "+r5" in diff["changes"]["releases"]

    text = pipeline.get(URL + "diff/?from=1&to=2", HTTP_ACCEPT="text/plain")
    assert text["Content-Type"].startswith("text/plain")
    assert "--- r1/body\n+++ r2/body" in text.content.decode()

    bad = pipeline.get(URL + "diff/?from=0&to=9")
    assert bad.status_code == 400
    assert "it has 1 to 2" in " ".join(sum(bad.json()["error"]["fields"].values(), []))


def test_etag_and_if_none_match(pipeline, api):
    pipeline.put(URL, RUNBOOK, format="json")
    response = api.get(URL)
    assert response["ETag"] == '"1"'
    assert api.get(URL, HTTP_IF_NONE_MATCH='"1"').status_code == 304


LIST = "/api/v1/runbooks/"


@pytest.fixture
def catalogue_of_runbooks(catalogue):
    alpen = OrganisationFactory(slug="alpen")
    publish(
        organisation=alpen,
        slug="nova",
        components=["nova"],
        tags=["compute"],
        alerts=["NovaComputeServiceDown"],
    )
    publish(organisation=alpen, slug="ceph", components=["ceph"], releases=["r3"], tags=["storage"])
    publish(organisation=alpen, slug="upgrade", upgrade_from="r3", upgrade_to="r4", releases=["r4"])
    publish(organisation=alpen, slug="old", status="archived")


def slugs(api, query=""):
    response = api.get(LIST + query)
    assert response.status_code == 200, response.content
    return sorted(item["slug"] for item in response.json()["results"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["ceph", "nova", "old", "upgrade"]),
        ("?component=openstack", ["nova"]),  # includes child components
        ("?component=nova-compute", ["nova"]),  # and aliases
        ("?release=r3", ["ceph"]),
        ("?tag=Storage", ["ceph"]),
        ("?alert=NovaComputeServiceDown", ["nova"]),
        ("?upgrade_from=r3", ["upgrade"]),
        ("?upgrade_to=r4", ["upgrade"]),
        ("?status=archived", ["old"]),
        ("?organisation=alpen", ["ceph", "nova", "old", "upgrade"]),
        ("?visibility=community", []),
        ("?q=nova", ["nova"]),
        ("?updated_since=2000-01-01T00:00:00Z", ["ceph", "nova", "old", "upgrade"]),
        ("?updated_since=2999-01-01T00:00:00Z", []),
    ],
)
def test_list_filters(api, catalogue_of_runbooks, query, expected):
    assert slugs(api, query) == expected


@pytest.mark.parametrize(
    "query, field",
    [
        ("?component=cepf", "component"),
        ("?release=r99", "release"),
        ("?status=bogus", "status"),
        ("?updated_since=yesterday", "updated_since"),
        ("?ordering=body", "ordering"),
    ],
)
def test_bad_filters_are_400(api, catalogue_of_runbooks, query, field):
    response = api.get(LIST + query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_list_items_leave_out_the_body(api, catalogue_of_runbooks):
    item = api.get(LIST).json()["results"][0]
    assert "body" not in item and "body_html" not in item
    detail = api.get(item["api_url"]).json()
    assert set(detail) - set(item) == {
        "body",
        "body_html",
        "source_path",
        "source_url",
        "incidents",
        "lint",
    }


def test_ordering(api, catalogue_of_runbooks):
    response = api.get(LIST + "?ordering=-title").json()["results"]
    assert [r["slug"] for r in response] == ["upgrade", "old", "nova", "ceph"]
