"""List endpoints cost a fixed number of queries, however many rows they return.
(pytest-django prints the SQL of a failing count.)"""

import pytest

from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Practice, Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db


def fill(model, count):
    alpen = OrganisationFactory(slug="alpen")
    for n in range(count):
        fields = {
            "components": ["ceph", "nova"],
            "releases": ["r3", "r4"],
            "tags": ["storage", f"tag{n}"],
        }
        if model is Runbook:
            fields.update(alerts=[f"Alert{n}", "CephOSDFull"], upgrade_from="r3", upgrade_to="r4")
        publish(model, organisation=alpen, slug=f"doc-{n}", **fields)
    return alpen


# count, page, organisation, components, releases, tags (+ alerts for runbooks)
QUERIES = {Runbook: 6, Practice: 5}


@pytest.mark.parametrize("model", [Runbook, Practice])
@pytest.mark.parametrize("rows", [3, 30])
def test_list_queries_do_not_grow_with_rows(api, catalogue, django_assert_num_queries, model, rows):
    fill(model, rows)
    url = f"/api/v1/{model.kind}s/"
    with django_assert_num_queries(QUERIES[model]):
        response = api.get(url)
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_list_queries_for_a_member_via_token(
    catalogue, token_client, django_assert_num_queries, rows
):
    alpen = fill(Runbook, rows)
    client = token_client(member(alpen, "viewer"), alpen)
    client.get("/api/v1/runbooks/")  # the first call records the token's last use
    # + token lookup and the caller's role in the token's organisation
    with django_assert_num_queries(QUERIES[Runbook] + 2):
        response = client.get("/api/v1/runbooks/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_adopted_documents_cost_one_query_per_page(api, catalogue, django_assert_num_queries, rows):
    from opsknowledge import services

    alpen = fill(Runbook, rows)
    north = OrganisationFactory(slug="north")
    for runbook in Runbook.objects.filter(organisation=alpen):
        services.document_adopt(
            source=runbook,
            organisation=north,
            slug=runbook.slug,
            actor=services.Actor.operator(),
            overrides={"status": "published", "visibility": "public"},
        )
    # + the organisation filter's lookup, + the originals' current revisions (one query)
    with django_assert_num_queries(QUERIES[Runbook] + 2):
        response = api.get("/api/v1/runbooks/?organisation=north")
    assert all(item["upstream"]["behind"] is False for item in response.json()["results"])
