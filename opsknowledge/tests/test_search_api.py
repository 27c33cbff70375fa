"""GET /api/v1/search/ as the contract (API.md "Search") describes it."""

import pytest

from opsknowledge.models import Organisation
from opsknowledge.tests.factories import member

from .test_search import publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/search/"


@pytest.fixture
def orgs(catalogue):
    return {org.slug: org for org in Organisation.objects.all()}


def error_fields(response):
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "query",
    ["", "?q=", "?q=-kubernetes", "?q=the", '?q="', "?q=" + "+".join(["a"] * 21)],
)
def test_missing_or_no_positive_term_is_a_400_naming_q(api, orgs, query):
    assert "q" in error_fields(api.get(URL + query))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=51", "page_size"),
        ("page_size=0", "page_size"),
        ("page=51", "page"),  # beyond hit 1,000 at 20 a page
        ("page=x", "page"),
        ("ordering=title", "ordering"),
        ("status=draft", "status"),
        ("kind=runbooks", "kind"),
        ("component=cepf", "component"),
        ("organisation=nope", "organisation"),
        ("release=r99", "release"),
    ],
)
def test_bad_parameters_are_400s_naming_them(api, orgs, query, field):
    assert field in error_fields(api.get(f"{URL}?q=ceph&{query}"))


def test_the_response_has_the_contract_fields(api, orgs):
    publish(
        organisation=orgs["scs"],
        slug="osd",
        body="ceph osd full",
        components=["ceph"],
        tags=["storage"],
        releases=["r3"],
    )
    body = api.get(f"{URL}?q=ceph").json()
    assert set(body) >= {"count", "results", "facets", "suggestion", "count_exact"}
    assert body["count"] == 1 and body["count_exact"] is True
    [hit] = body["results"]
    assert set(hit) >= {
        "kind",
        "organisation",
        "slug",
        "title",
        "url",
        "api_url",
        "snippet",
        "score",
        "updated",
    }
    assert hit["url"].endswith("/runbooks/scs/osd/") and hit["api_url"].endswith(
        "/api/v1/runbooks/scs/osd/"
    )
    assert body["facets"] == {
        "kind": {"runbook": 1},
        "organisation": {"scs": 1},
        "component": {"ceph": 1},
        "release": {"r3": 1},
        "tag": {"storage": 1},
    }


def test_facets_count_with_the_other_filters_and_paging(api, orgs):
    for n in range(3):
        publish(organisation=orgs["scs"], slug=f"scs-{n}", body="ceph", components=["ceph"])
    publish(organisation=orgs["alpenwolke"], slug="aw", body="ceph", tags=["storage"])
    body = api.get(f"{URL}?q=ceph&organisation=scs&page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    # The organisation facet ignores its own filter, the others apply it.
    assert body["facets"]["organisation"] == {"scs": 3, "alpenwolke": 1}
    assert body["facets"]["tag"] == {}
    second = api.get(body["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert api.get(f"{URL}?q=ceph&tag=storage").json()["count"] == 1
    assert api.get(f"{URL}?q=ceph&kind=practice,incident").json()["count"] == 0


def test_component_filter_takes_aliases_and_children(api, orgs):
    from opsknowledge.models import Component

    child = Component.objects.filter(parent__isnull=False).select_related("parent").first()
    publish(organisation=orgs["scs"], slug="child", body="zyxword", components=[child.slug])
    assert api.get(f"{URL}?q=zyxword&component={child.parent.slug}").json()["count"] == 1


def test_ordering_by_updated(api, orgs):
    publish(organisation=orgs["scs"], slug="old", title="Ceph", body="ceph")
    publish(organisation=orgs["scs"], slug="new", body="ceph")
    ranked = [h["slug"] for h in api.get(f"{URL}?q=ceph").json()["results"]]
    recent = [h["slug"] for h in api.get(f"{URL}?q=ceph&ordering=-updated").json()["results"]]
    assert ranked == ["old", "new"] and recent == ["new", "old"]


def test_community_documents_for_signed_in_members_only(api, orgs):
    publish(organisation=orgs["scs"], slug="c", body="ceph", visibility="community")
    assert api.get(f"{URL}?q=ceph").json()["count"] == 0
    api.force_login(member(orgs["alpenwolke"]))
    assert api.get(f"{URL}?q=ceph").json()["count"] == 1


def test_list_endpoints_q_uses_the_same_matching(api, orgs):
    publish(
        organisation=orgs["scs"],
        slug="loop",
        title="Pods restarting",
        alerts=["KubePodCrashLooping"],
    )
    found = api.get("/api/v1/runbooks/?q=crash+looping").json()
    assert [r["slug"] for r in found["results"]] == ["loop"]
    assert api.get("/api/v1/runbooks/?q=restart+-pods").json()["count"] == 0
    assert "q" in error_fields(api.get("/api/v1/runbooks/?q=-pods"))
