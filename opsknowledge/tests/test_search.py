"""Search (issue: search that operators trust): one ranked, filtered, visibility-safe search
over every kind, the same suite on PostgreSQL and SQLite."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management.color import no_style

from opsknowledge import services
from opsknowledge.importing import import_document
from opsknowledge.models import Component, Organisation, SearchEntry
from opsknowledge.search import query as search_query
from opsknowledge.search.service import search
from opsknowledge.tests.factories import member
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs(catalogue):
    return {org.slug: org for org in Organisation.objects.all()}


def publish(model=Runbook, *, organisation, slug, **fields):
    fields.setdefault("title", slug.replace("-", " ").title())
    fields.setdefault("status", "published")
    fields.setdefault("visibility", "public")
    return import_document(
        model=model,
        organisation=organisation,
        slug=slug,
        fields=fields,
        actor=services.Actor.operator(),
    )[1]


def slugs(results):
    return [hit.slug for hit in results.hits]


# -- the query language ------------------------------------------------------------------


def test_parser_words_phrases_exclusions_and_or():
    parsed = search_query.parse('Ceph "osd full" -kubernetes nova-compute or cinder the')
    assert [[t.words for t in group] for group in parsed.groups] == [
        [("ceph",)],
        [("osd", "full")],
        [("nova", "compute"), ("cinder",)],
    ]
    assert [t.words for t in parsed.excluded] == [("kubernetes",)]


@pytest.mark.parametrize("text", ["", "   ", "-kubernetes", '-"osd full"', "the of a", "(((", '"'])
def test_no_positive_term_is_an_error(text):
    with pytest.raises(search_query.QueryError):
        search_query.parse(text)


def test_camel_case_is_split():
    assert search_query.split_camel_case("KubePodCrashLooping") == "Kube Pod Crash Looping"
    assert search_query.split_camel_case("etcdNoLeader") == "etcd No Leader"


# -- matching ------------------------------------------------------------------------------


def test_finds_every_kind_by_stemmed_words_in_every_field(orgs):
    from incidents.models import FailureReport

    publish(organisation=orgs["scs"], slug="crashloop", summary="Pods restart in a loop.")
    publish(Practice, organisation=orgs["scs"], slug="probes", body="Liveness probes restart pods.")
    publish(
        FailureReport,
        organisation=orgs["scs"],
        slug="keystone",
        title="Expired Keystone certificate stopped API logins",
        severity="sev2",
        summary="Logins failed.",
        impact="No API logins for an hour.",
        root_cause="The certificate expired unnoticed.",
    )
    reader = member(orgs["alpenwolke"])

    assert set(slugs(search(reader, q="restarting pod"))) == {"crashloop", "probes"}
    assert slugs(search(reader, q="certificate")) == ["keystone"]
    assert slugs(search(reader, q="certificates expired")) == ["keystone"]


def test_alert_names_match_by_their_parts(orgs):
    publish(
        organisation=orgs["scs"], slug="crash", title="Pods crash", alerts=["KubePodCrashLooping"]
    )
    publish(organisation=orgs["scs"], slug="etcd", alerts=["etcdNoLeader"])
    assert slugs(search(None, q="crash looping")) == ["crash"]
    assert slugs(search(None, q="KubePodCrashLooping")) == ["crash"]
    assert slugs(search(None, q="etcd no leader")) == ["etcd"]


def test_phrase_exclusion_and_or(orgs):
    publish(organisation=orgs["scs"], slug="full", body="The ceph osd is full.")
    publish(organisation=orgs["scs"], slug="near", body="The osd of ceph is nearly full.")
    publish(organisation=orgs["scs"], slug="k8s", body="ceph on kubernetes")
    assert slugs(search(None, q='"osd is full"')) == ["full"]
    assert set(slugs(search(None, q="ceph -kubernetes"))) == {"full", "near"}
    assert set(slugs(search(None, q="nearly or kubernetes"))) == {"near", "k8s"}


def test_components_names_and_aliases_match(orgs):
    ceph = Component.objects.get(slug="ceph")
    publish(organisation=orgs["scs"], slug="osd", title="OSD down", components=["ceph"])
    assert slugs(search(None, q=ceph.name)) == ["osd"]


@pytest.mark.parametrize(
    "text",
    [
        "nova-compute",
        "'; DROP TABLE x; --",
        'a"b',
        "(((",
        "*",
        "col:umn",
        "NEAR(a b)",
        "\\",
        "ä ö ü",
        "x" * 500,
        "OR",
        "or or",
        "- -",
        '""',
        "AND",
        "NOT ceph",
        "😀",
        "%_",
        "ceph\x00osd",
        "\x01\x02",
    ],
)
def test_any_string_gives_an_answer_or_a_clear_error(orgs, text):
    publish(organisation=orgs["scs"], slug="osd", body="nova-compute on ceph")
    try:
        search(None, q=text)
    except ValidationError as error:
        assert "q" in error.message_dict


def test_snippets_are_escaped_with_marks_only(orgs):
    publish(
        organisation=orgs["scs"], slug="xss", body="<script>alert(1)</script> restart the ceph osd"
    )
    [hit] = search(None, q="ceph").hits
    # PostgreSQL's headline drops the tag, SQLite's snippet keeps it as text: escaped.
    assert re.findall(r"<[^>]*>", hit.snippet) == ["<mark>", "</mark>"]
    assert "<mark>ceph</mark>" in hit.snippet.lower()


# -- ranking -------------------------------------------------------------------------------


def test_exact_title_ranks_first_then_title_matches(orgs):
    publish(organisation=orgs["scs"], slug="body", body="disk space is filling up on the node " * 5)
    publish(organisation=orgs["scs"], slug="title", title="Disk space filling up")
    publish(organisation=orgs["scs"], slug="half", title="Disk usage", body="space filling up")
    assert slugs(search(None, q="disk space filling up"))[0] == "title"


# -- visibility ------------------------------------------------------------------------------


def test_a_private_documents_unique_title_word_leaks_nothing(orgs):
    publish(organisation=orgs["scs"], slug="public-a", title="Ceph osd full", components=["ceph"])
    publish(organisation=orgs["scs"], slug="public-b", body="ceph pools and osd weights")
    outsider = member(orgs["alpenwolke"])

    def observed(q):
        results = search(outsider, q=q)
        return (
            results.count,
            slugs(results),
            [h.score for h in results.hits],
            results.facets,
            results.suggestion,
            [h.snippet for h in results.hits],
        )

    before = {q: observed(q) for q in ("ceph", "ceph osd", "zyxquorum", "zyxquorun", "osd")}
    publish(
        organisation=orgs["scs"],
        slug="secret",
        title="Zyxquorum ceph osd",
        body="ceph osd " * 20,
        visibility="organisation",
        components=["ceph"],
        tags=["secret-tag"],
    )
    after = {q: observed(q) for q in before}
    assert after == before
    assert after["zyxquorum"][0] == 0 and after["zyxquorun"][4] is None
    # A member sees it, and is offered the word.
    insider = member(orgs["scs"])
    assert slugs(search(insider, q="zyxquorum")) == ["secret"]
    assert search(insider, q="zyxquorun").suggestion == "zyxquorum"


def test_drafts_are_for_members_and_archived_only_on_request(orgs):
    publish(organisation=orgs["scs"], slug="draft", body="ceph", status="draft")
    publish(organisation=orgs["scs"], slug="old", body="ceph", status="archived")
    assert slugs(search(None, q="ceph")) == []
    assert slugs(search(None, q="ceph", status="archived")) == ["old"]
    assert set(slugs(search(member(orgs["scs"]), q="ceph"))) == {"draft"}


# -- freshness ------------------------------------------------------------------------------


def test_the_index_follows_every_write_in_its_transaction(orgs):
    document = publish(organisation=orgs["scs"], slug="osd", body="ceph osd")
    assert slugs(search(None, q="ceph")) == ["osd"]
    services.document_update(
        document=document,
        data={"visibility": "organisation"},
        actor=services.Actor.operator(),
        if_match="*",
    )
    assert slugs(search(None, q="ceph")) == []
    services.document_update(
        document=document,
        data={"visibility": "public", "body": "rados gateway"},
        actor=services.Actor.operator(),
        if_match="*",
    )
    assert slugs(search(None, q="ceph")) == [] and slugs(search(None, q="rados")) == ["osd"]
    services.document_archive(document=document, actor=services.Actor.operator(), if_match="*")
    assert slugs(search(None, q="rados")) == []


def test_renaming_a_component_reindexes_its_documents(orgs):
    publish(organisation=orgs["scs"], slug="osd", title="OSD down", components=["ceph"])
    ceph = Component.objects.get(slug="ceph")
    ceph.aliases = [*ceph.aliases, "zyxstorage"]
    services.catalogue_save(entry=ceph, actor=services.Actor.operator())
    assert slugs(search(None, q="zyxstorage")) == ["osd"]


def test_an_organisations_new_slug_reaches_its_search_hits(client, orgs):
    publish(organisation=orgs["scs"], slug="osd-full", title="Ceph OSD full")
    scs = orgs["scs"]
    scs.slug = "scs-community"
    services.organisation_save(organisation=scs, actor=services.Actor.operator())
    hits = client.get("/api/v1/search/", {"q": "osd full"}).json()["results"]
    assert [hit["api_url"].split("/api/v1/")[1] for hit in hits] == [
        "runbooks/scs-community/osd-full/"
    ]
    assert client.get(hits[0]["api_url"]).status_code == 200


def test_one_entry_per_document(orgs):
    document = publish(organisation=orgs["scs"], slug="osd", body="ceph osd")
    services.document_update(
        document=document, data={"body": "x"}, actor=services.Actor.operator(), if_match="*"
    )
    assert SearchEntry.objects.count() == 1


def test_release_notes_are_found_and_link_to_their_release_page(orgs):
    from opsknowledge.models import Release
    from releases.services import release_note_upsert

    _outcome, note = release_note_upsert(
        organisation=orgs["scs"],
        release=Release.objects.get(slug="r3"),
        slug="ceph-quincy",
        fields={"kind": "upgrade", "title": "Ceph moves to Quincy", "body": "Upgrade the OSDs."},
        actor=services.Actor.operator(),
    )
    [hit] = search(None, q="quincy").hits
    assert (hit.kind, hit.url) == ("release-note", note.page_url())
    assert slugs(search(None, q="quincy", release="r3")) == ["ceph-quincy"]
    assert slugs(search(None, q="quincy", release="r2")) == []
    release_note_upsert(
        organisation=orgs["scs"],
        release=note.release,
        slug="ceph-quincy",
        fields={"status": "archived"},
        actor=services.Actor.operator(),
    )
    assert slugs(search(None, q="quincy", status="archived")) == []  # members only
    assert slugs(search(member(orgs["scs"]), q="quincy", status="archived")) == ["ceph-quincy"]


def test_rebuild_indexes_everything_and_drops_what_is_gone(orgs):
    import io

    from django.core.management import call_command

    publish(organisation=orgs["scs"], slug="osd", body="ceph osd")
    SearchEntry.objects.all().delete()
    assert slugs(search(None, q="ceph")) == []
    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out, stderr=io.StringIO())
    assert slugs(search(None, q="ceph")) == ["osd"]
    assert "Indexed 1 documents" in out.getvalue()
    Runbook.objects.filter(slug="osd").delete()
    assert search(None, q="ceph").count == 0 and SearchEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_index_is_emptied_with_its_table(catalogue):
    """Django's flush between transactional tests deletes the table's rows: the FTS index
    (SQLite) or the vector column (PostgreSQL) must not keep them."""
    org = Organisation.objects.get(slug="scs")
    publish(organisation=org, slug="osd", body="zyxflush")
    assert slugs(search(None, q="zyxflush")) == ["osd"]
    from django.db import connection

    connection.ops.execute_sql_flush(
        connection.ops.sql_flush(no_style(), ["opsknowledge_searchentry"])
    )
    publish(organisation=org, slug="other", body="unrelated")
    assert search(None, q="zyxflush").count == 0


def test_the_sqlite_triggers_exist_after_migrating():
    """A later AlterField on SearchEntry makes SQLite rebuild the table without the triggers
    that keep FTS5 in step: this fails then, and the migration must create them again."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL stores the vectors in the table itself")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            ["opsknowledge_searchentry"],
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == {
        f"{table}_{event}"
        for table in ("search_fts", "search_plain")
        for event in ("insert", "update", "delete")
    }


def test_when_nothing_has_every_word_documents_with_most_of_them_come_first(orgs):
    publish(organisation=orgs["scs"], slug="two", body="space filling up")
    publish(organisation=orgs["scs"], slug="one", body="filling the form")
    results = search(None, q="disk space filling")
    assert slugs(results) == ["two", "one"] and not results.all_terms
    assert search(None, q="space filling").all_terms
    assert slugs(search(None, q="disk space -up")) == []


def test_german_documents_are_stemmed_in_german_on_postgresql(orgs):
    from django.db import connection

    publish(
        organisation=orgs["scs"],
        slug="platten",
        title="Festplatten laufen voll",
        body="Die Festplatten der Knoten laufen voll; nova-compute meldet Fehler.",
        language="de",
    )
    # Unstemmed words and product names match on both databases.
    assert slugs(search(None, q="Festplatten")) == ["platten"]
    assert slugs(search(None, q="nova-compute")) == ["platten"]
    if connection.vendor == "postgresql":  # FTS5 has only the English stemmer
        assert slugs(search(None, q="Festplatte")) == ["platten"]
        assert slugs(search(None, q="laufende Knoten")) == ["platten"]


def test_a_put_that_omits_the_language_keeps_it(orgs):
    document = publish(organisation=orgs["scs"], slug="de", title="Ceph", language="de")
    outcome, document = services.document_put(
        model=Runbook,
        organisation=orgs["scs"],
        slug="de",
        data={"title": "Ceph voll"},
        actor=services.Actor.operator(),
        if_match="*",
    )
    assert outcome == "updated" and document.language == "de"
    assert SearchEntry.objects.get(slug="de").language == "de"
