"""What keeps search fast at 100k documents, on small data: the count and facets estimated
beyond the exact range from readable rows only, ranking in tiers with a bounded pool, and
a query count that does not grow with the matches. The speed itself is measured by
`manage.py benchmark_search`, not here."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsknowledge.models import Organisation
from opsknowledge.search import service
from opsknowledge.search.service import search

from .test_search import publish, slugs

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs(catalogue):
    return {org.slug: org for org in Organisation.objects.all()}


@pytest.fixture
def small_exact_range(monkeypatch):
    """Exact up to 4 matches, estimated beyond (10,000 in production)."""
    monkeypatch.setattr(service, "EXACT_UP_TO", 4)
    monkeypatch.setattr(service, "SAMPLE", 5)


def outcome(results):
    return results.count, results.count_exact, results.facets, slugs(results)


def test_beyond_the_exact_range_count_and_facets_are_estimated_from_readable_rows(
    orgs, small_exact_range
):
    # Public and private matches interleaved by id: the private ones must move nothing.
    for n in range(12):
        publish(organisation=orgs["scs"], slug=f"public-{n}", body="widget", components=["ceph"])
        publish(
            organisation=orgs["alpenwolke"],
            slug=f"private-{n}",
            body="widget",
            components=["nova"],
            visibility="organisation",
        )
    results = search(None, q="widget")
    assert results.count_exact is False
    # The first 5 readable matches by id reach 5 of the 12 readable rows: 5 * 12 / 5.
    assert results.count == 12
    assert results.facets["component"] == {"ceph": 12}
    assert results.facets["kind"] == {"runbook": 12}
    assert results.facets["organisation"] == {"scs": 12}

    for n in range(6):  # more private matches, after the sample: nothing moves either
        publish(
            organisation=orgs["alpenwolke"],
            slug=f"later-{n}",
            body="widget",
            visibility="organisation",
        )
    assert outcome(search(None, q="widget")) == outcome(results)


def test_beyond_the_exact_range_a_filter_that_leaves_few_is_counted_exactly(
    orgs, small_exact_range
):
    for n in range(8):
        publish(organisation=orgs["scs"], slug=f"scs-{n}", body="widget")
    for n in range(3):
        publish(organisation=orgs["alpenwolke"], slug=f"alpen-{n}", body="widget")
    results = search(None, q="widget", organisation="alpenwolke")
    assert (results.count, results.count_exact) == (3, True)
    assert sorted(slugs(results)) == ["alpen-0", "alpen-1", "alpen-2"]
    # The organisation facet is counted with the other filters (none) applied, from the
    # sample of 5 and scaled to the estimate of 11.
    assert sum(results.facets["organisation"].values()) in (10, 11, 12)


def test_title_matches_come_first_and_pages_neither_overlap_nor_skip(orgs, monkeypatch):
    monkeypatch.setattr(service, "RANK_POOL", 2)
    for n in range(4):
        publish(organisation=orgs["scs"], slug=f"body-{n}", title=f"Other {n}", body="gadget")
    for n in range(3):
        publish(organisation=orgs["scs"], slug=f"title-{n}", title=f"Gadget {n}")
    pages = [slugs(search(None, q="gadget", page=page, page_size=3)) for page in (1, 2, 3)]
    assert sorted(pages[0]) == ["title-0", "title-1", "title-2"]
    seen = [slug for page in pages for slug in page]
    assert len(seen) == len(set(seen)) == 7


def test_a_search_costs_the_same_queries_however_many_match(
    orgs, small_exact_range, django_assert_max_num_queries
):
    def queries_for(**parameters):
        with CaptureQueriesContext(connection) as captured:
            search(None, q="widget", **parameters)
        return len(captured)

    for n in range(3):
        publish(organisation=orgs["scs"], slug=f"few-{n}", title=f"Widget {n}")
    few = queries_for(), queries_for(organisation="scs")
    for n in range(30):
        publish(organisation=orgs["scs"], slug=f"many-{n}", body="widget")
    many = queries_for(), queries_for(organisation="scs")
    # Beyond the exact range: +1 for the readable rows of the estimate, +1 for the bounded
    # count of a filter; below it, the title tier fills no page: +1 for the others.
    assert many[0] <= few[0] + 1 and many[1] <= few[1] + 2
    # The organisation looked up, count and facets, the readable rows of the estimate, the
    # bounded count of the filter, the title tier, the others, the snippets; on PostgreSQL
    # also the planner setting of backends.PostgreSQL.planned.
    with django_assert_max_num_queries(8 if connection.vendor == "postgresql" else 7):
        search(None, q="widget", organisation="scs")
