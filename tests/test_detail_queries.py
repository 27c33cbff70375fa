"""A document's detail costs a fixed number of queries, however many tags, components,
releases, alerts, timeline entries or linked runbooks it has; its 304 costs one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Practice, Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db


def queries(client, url, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code in (200, 304), response.content[:300]
    return response, [q["sql"] for q in captured]


def a_document(model, items):
    alpen = OrganisationFactory(slug="alpen")
    fields = {
        "components": ["ceph", "nova", "keystone"][:items],
        "releases": ["r2", "r3", "r4"][:items],
        "tags": [f"tag{n}" for n in range(items * 5)],
    }
    if model is Runbook:
        fields["alerts"] = [f"Alert{n}" for n in range(items * 4)]
    publish(model, organisation=alpen, slug="doc", **fields)
    return alpen


@pytest.mark.parametrize("items", [1, 3])
@pytest.mark.parametrize(
    ("model", "anonymous", "as_member"),
    # The document (organisation and upgrade releases joined), its components, releases,
    # tags (+ a runbook's alerts and the published reports that link it). A member: + the
    # session, the user, the memberships; a runbook's lint + the organisation's policy
    # (its releases are the ones read for the response; no links, so no dead-link query).
    [(Runbook, 6, 10), (Practice, 4, 7)],
)
def test_a_detail_costs_a_fixed_number_of_queries(
    catalogue, api, model, anonymous, as_member, items
):
    alpen = a_document(model, items)
    url = f"/api/v1/{model.kind}s/alpen/doc/"
    response, sql = queries(api, url)
    assert len(sql) == anonymous, "\n".join(sql)
    api.force_login(member(alpen))
    api.get(url)  # the session's first request may touch the session row
    response, sql = queries(api, url)
    assert len(sql) == as_member, "\n".join(sql)


@pytest.mark.parametrize("model", [Runbook, Practice])
def test_a_detail_that_has_not_changed_costs_one_query(catalogue, api, model):
    a_document(model, 3)
    url = f"/api/v1/{model.kind}s/alpen/doc/"
    etag = api.get(url)["ETag"]
    response, sql = queries(api, url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert len(sql) == 1, "\n".join(sql)  # the document: none of its relations


@pytest.mark.parametrize("items", [1, 6])
def test_a_failure_report_detail_costs_a_fixed_number_of_queries(catalogue, api, items):
    from incidents.models import FailureReport
    from opsknowledge import services

    alpen = OrganisationFactory(slug="alpen")
    publish(organisation=alpen, slug="osd-full")
    at = "2024-02-14T10:{:02d}:00+00:00"
    services.document_create(
        model=FailureReport,
        organisation=alpen,
        slug="ceph-full",
        data={
            "title": "Ceph full",
            "summary": "Block storage stopped accepting writes.",
            "impact": "Volumes hung.",
            "root_cause": "Raw usage above the guideline.",
            "components": ["ceph", "nova"][: min(items, 2)],
            "tags": [f"tag{n}" for n in range(items)],
            "timeline": [{"at": at.format(n), "text": f"Step {n}."} for n in range(items)],
            "action_items": [{"title": f"Item {n}"} for n in range(items)],
            "runbooks": [{"runbook": "alpen/osd-full", "relation": "used"}] * min(items, 1),
            "status": "published",
            "visibility": "public",
        },
        actor=services.Actor.operator(),
        acknowledge_warnings=True,
    )
    response, sql = queries(api, "/api/v1/incidents/alpen/ceph-full/")
    assert len(response.json()["timeline"]) == items
    # The report, its components, releases, tags, runbook links, the linked runbooks the
    # reader may see, the timeline, the action items.
    assert len(sql) == 8, "\n".join(sql)
