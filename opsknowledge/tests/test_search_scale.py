"""What keeps search fast at 100k documents, on small data: the count and facets estimated
beyond the exact range from readable rows only, ranking in tiers with a bounded pool, and
a query count that does not grow with the matches. The speed itself is measured by
`manage.py benchmark_search`, not here."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsknowledge.models import Organisation, SearchEntry
from opsknowledge.search import service
from opsknowledge.search.service import search

from .test_search import publish, slugs

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs(catalogue):
    return {org.slug: org for org in Organisation.objects.all()}


@pytest.fixture
def small_exact_range(monkeypatch):
    """Exact up to 4 matches, estimated beyond from a slice of half the rows (10,000 and
    1/16 in production)."""
    monkeypatch.setattr(service, "EXACT_UP_TO", 4)
    monkeypatch.setattr(service, "SAMPLE", 5)
    monkeypatch.setattr(service, "SLICE", 2)


def outcome(results):
    return results.count, results.count_exact, results.facets, slugs(results)


def in_slice(document) -> bool:
    """Whether `document`'s search entry is in the sample slice, computed here as the
    slice's definition says: the entry id's multiplicative hash in the first 1/SLICE."""
    entry = SearchEntry.objects.get(object_id=document.pk, kind="runbook")
    return (entry.pk * 2654435761) % service.HASH_RANGE < service.HASH_RANGE // service.SLICE


def test_beyond_the_exact_range_count_and_facets_are_scaled_from_the_readable_slice(
    orgs, small_exact_range
):
    # Public and private matches interleaved by id: the private ones must move nothing.
    public = []
    for n in range(12):
        public.append(
            publish(
                organisation=orgs["scs"], slug=f"public-{n}", body="widget", components=["ceph"]
            )
        )
        publish(
            organisation=orgs["alpenwolke"],
            slug=f"private-{n}",
            body="widget",
            components=["nova"],
            visibility="organisation",
        )
    sliced = sum(in_slice(document) for document in public)
    assert 0 < sliced < 12, "the hash spreads these ids over both halves"
    results = search(None, q="widget")
    assert results.count_exact is False
    # Twice the readable matches in the slice, and never below SAMPLE: beyond 4 there are 5.
    assert results.count == max(5, 2 * sliced)
    assert results.facets["component"] == {"ceph": results.count}
    assert results.facets["kind"] == {"runbook": results.count}
    assert results.facets["organisation"] == {"scs": results.count}
    assert "nova" not in str(results.facets)

    for n in range(6):  # more private matches, after them: nothing moves either
        publish(
            organisation=orgs["alpenwolke"],
            slug=f"later-{n}",
            body="widget",
            visibility="organisation",
        )
    assert outcome(search(None, q="widget")) == outcome(results)


def test_within_the_exact_range_the_slice_changes_nothing(orgs, small_exact_range):
    for n in range(4):
        publish(organisation=orgs["scs"], slug=f"scs-{n}", body="widget", components=["ceph"])
    results = search(None, q="widget")
    assert (results.count, results.count_exact) == (4, True)
    assert results.facets["component"] == {"ceph": 4}


def test_a_slice_far_beyond_the_exact_range_is_not_counted_again(
    orgs, small_exact_range, monkeypatch
):
    """With the slice alone more than SURELY_BEYOND times the exact range, the matches are
    not counted one by one: the answer would be the same."""
    monkeypatch.setattr(service, "SURELY_BEYOND", 0)  # any slice is "far beyond" here
    for n in range(3):
        publish(organisation=orgs["scs"], slug=f"scs-{n}", body="widget")
    counted = []
    real_tally = service._tally
    monkeypatch.setattr(service, "_tally", lambda *a, **k: counted.append(k) or real_tally(*a, **k))
    results = search(None, q="widget")
    assert results.count_exact is False
    assert counted == [{"limit": None}]  # the slice's pass, and no other


def test_beyond_the_exact_range_a_filter_that_leaves_few_is_counted_exactly(
    orgs, small_exact_range
):
    everyone = []
    for n in range(8):
        everyone.append(publish(organisation=orgs["scs"], slug=f"scs-{n}", body="widget"))
    for n in range(3):
        everyone.append(publish(organisation=orgs["alpenwolke"], slug=f"alpen-{n}", body="widget"))
    results = search(None, q="widget", organisation="alpenwolke")
    assert (results.count, results.count_exact) == (3, True)
    assert sorted(slugs(results)) == ["alpen-0", "alpen-1", "alpen-2"]
    # The organisation facet is counted with the other filters (none) applied, from the
    # slice, scaled to the estimate of all matches.
    total = max(5, 2 * sum(in_slice(document) for document in everyone))
    assert abs(sum(results.facets["organisation"].values()) - total) <= 1


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
    # Beyond the exact range: the slice tells, and the matches are not counted again (-1);
    # +1 for the bounded count of a filter; below it, the ids of the matches come with
    # the count, and above it the title tier and the others are ranked apart (+1).
    assert many[0] <= few[0] + 1 and many[1] <= few[1] + 2
    # The organisation looked up, the slice's count and facets, the bounded count of the
    # filter, the title tier, the others, the snippets; on PostgreSQL also the planner
    # setting of backends.PostgreSQL.planned (and, once per process and term, its forms:
    # already known here).
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 6):
        search(None, q="widget", organisation="scs")


def test_the_slice_has_a_partial_index_of_its_own_predicate():
    """The planner reads the slice through its partial index only when the query's
    condition implies the index's predicate: the migration must write what slice_sql()
    does (and, on SQLite, the index must survive later table remakes)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_get_expr(indpred, indrelid) FROM pg_index"
                " WHERE indexrelid = 'search_entry_slice'::regclass"
            )
            (predicate,) = cursor.fetchone()
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                ["opsknowledge_searchentry"],
            )
            definitions = dict(cursor.fetchall())
            assert "search_entry_by_id" in definitions
            predicate = definitions["search_entry_slice"].split(" WHERE ", 1)[1]
    written = service.slice_sql().replace("{entry}.", "").replace("%%", "%")

    def bare(sql):
        for noise in ("'", "::bigint", "(", ")", " "):
            sql = sql.replace(noise, "")
        return sql

    assert bare(predicate) == bare(written)


@pytest.mark.parametrize("beyond", [False, True], ids=["exact", "beyond the exact range"])
def test_filters_by_list_values_find_exactly_the_documents_that_have_them(
    orgs, monkeypatch, beyond
):
    """Component, release and tag filters (on PostgreSQL, beyond the exact range, through
    the vector's facet keys; within it and on SQLite, the JSON lists): a word of the text
    is not a facet value, nor is a longer one that starts or ends with it."""
    if beyond:  # every match beyond: the filtered count and the page read the filter
        monkeypatch.setattr(service, "EXACT_UP_TO", 0)
        monkeypatch.setattr(service, "SAMPLE", 1)
    publish(organisation=orgs["scs"], slug="tagged", body="widget", tags=["c++_x.y-z", "audit"])
    publish(organisation=orgs["scs"], slug="mentions", body="widget audit ceph r3 c")
    publish(organisation=orgs["scs"], slug="longer", body="widget", tags=["audit-log", "xaudit"])
    publish(organisation=orgs["scs"], slug="summary", summary="Ceph audit", body="widget")
    publish(organisation=orgs["scs"], slug="ceph", body="widget", components=["ceph"])
    assert slugs(search(None, q="widget", tag="c++_x.y-z")) == ["tagged"]
    assert slugs(search(None, q="widget", tag="audit")) == ["tagged"]
    assert slugs(search(None, q="widget", component="ceph")) == ["ceph"]
    assert search(None, q="widget", release="r3").count == 0
    publish(organisation=orgs["scs"], slug="released", body="widget", releases=["r3"])
    assert slugs(search(None, q="widget", release="r3")) == ["released"]
    if not beyond:  # the facets give the values as they are (PostgreSQL splits JSON text)
        tags = search(None, q="widget").facets["tag"]
        assert tags == {"audit": 1, "audit-log": 1, "c++_x.y-z": 1, "xaudit": 1}
        assert search(None, q="widget").facets["release"] == {"r3": 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: facet keys")
def test_the_facet_keys_migration_gives_entries_written_before_it_their_keys(
    orgs, small_exact_range
):
    from importlib import import_module

    migration = import_module("opsknowledge.migrations.0017_search_facet_keys")
    for n in range(3):  # 6 matches, beyond the exact range: the filtered count reads the keys
        publish(organisation=orgs["scs"], slug=f"ceph-{n}", body="widget", components=["ceph"])
        publish(organisation=orgs["scs"], slug=f"nova-{n}", body="widget", components=["nova"])
    assert search(None, q="widget", component="ceph").count == 3
    with connection.cursor() as cursor:
        for statement in migration.POSTGRESQL_REVERSE:  # as written before the keys
            cursor.execute(statement)
    assert search(None, q="widget", component="ceph").count == 0
    with connection.cursor() as cursor:
        for statement in migration.POSTGRESQL:
            cursor.execute(statement)
    assert search(None, q="widget", component="ceph").count == 3


def test_a_tag_no_document_can_have_finds_nothing_and_fails_nothing(orgs, monkeypatch):
    """Beyond the exact range, PostgreSQL's tag filter is a lexeme, which may not exceed
    2 KB: a tag name no tag can have is "nothing matches", as an unknown tag is."""
    monkeypatch.setattr(service, "EXACT_UP_TO", 0)
    monkeypatch.setattr(service, "SAMPLE", 1)
    publish(organisation=orgs["scs"], slug="tagged", body="widget", tags=["audit"])
    for name in ("a" * 3000, "Bad Tag", "'; --", "café"):
        results = search(None, q="widget", tag=name)
        assert (results.count, slugs(results)) == (0, []), name


def test_a_document_made_private_after_the_count_is_not_on_the_page(orgs, monkeypatch):
    """The page of few matches is ranked from the ids the count found: still only those
    the reader can read when the page is read."""
    for n in range(3):
        publish(organisation=orgs["scs"], slug=f"doc-{n}", body="widget")
    real_tally = service._tally

    def tally_then_hide(*args, **kwargs):
        tally = real_tally(*args, **kwargs)
        if tally.ids:  # between the count and the page, doc-0 becomes private
            SearchEntry.objects.filter(slug="doc-0").update(visibility="organisation")
        return tally

    monkeypatch.setattr(service, "_tally", tally_then_hide)
    assert sorted(slugs(search(None, q="widget"))) == ["doc-1", "doc-2"]
