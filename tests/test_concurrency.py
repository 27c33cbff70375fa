"""No lost updates, proven with real concurrency: the project runs in gunicorn (several
processes and threads) on a database of the kind under test, and writers race over HTTP.
Every document kind shares the mechanism; the first race runs for each of them."""

import threading

import pytest

from .processes import gunicorn, http, prepare_instance, project_env, scratch_database

SECRET = "concurrency-test-" + "x" * 40
WRITERS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A deployed instance with organisation 'alpen', its editor's token, and a runbook."""
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        env = project_env(DEBUG="0", SECRET_KEY=SECRET, DATABASE_URL=url)
        key = prepare_instance(env, "alpen", "Alpenwolke")
        with gunicorn(env, workers=2, threads=4) as base:
            yield base, {"Authorization": f"Token {key}"}


def race(writers):
    """Start all writers at once; return their results in order."""
    barrier = threading.Barrier(len(writers))
    results = [None] * len(writers)

    def run(index, write):
        barrier.wait()
        results[index] = write()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def create(server, slug, kind="runbooks"):
    base, auth = server
    url = f"{base}/api/v1/{kind}/alpen/{slug}/"
    status, _, _ = http("PUT", url, {"title": "Original", "components": ["ceph"]}, auth)
    assert status == 201
    return url


@pytest.mark.parametrize("kind", ["runbooks", "practices", "incidents"])
def test_of_writers_holding_the_same_revision_exactly_one_wins(server, kind):
    base, auth = server
    url = create(server, "stale-race", kind)
    results = race(
        [
            lambda n=n: http("PATCH", url, {"summary": f"writer {n}"}, {**auth, "If-Match": '"1"'})
            for n in range(WRITERS)
        ]
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [412] * (WRITERS - 1), results
    winner = next(body for status, _, body in results if status == 200)
    for status, _, body in results:
        if status == 412:
            assert body["error"]["current_revision"] == 2
    status, headers, current = http("GET", url, headers=auth)
    assert headers["ETag"] == '"2"'
    assert current["summary"] == winner["summary"]
    _, _, history = http("GET", url + "revisions/", headers=auth)
    assert [r["number"] for r in history["results"]] == [2, 1]


def test_writers_replacing_whatever_is_current_lose_no_revision(server):
    url = create(server, "star-race")
    base, auth = server
    results = race(
        [
            lambda n=n: http("PATCH", url, {"summary": f"writer {n}"}, {**auth, "If-Match": "*"})
            for n in range(WRITERS)
        ]
    )
    assert [status for status, _, _ in results] == [200] * WRITERS, results
    _, _, history = http("GET", url + "revisions/?page_size=50", headers=auth)
    numbers = sorted(r["number"] for r in history["results"])
    assert numbers == list(range(1, WRITERS + 2))  # no revision lost or duplicated
    summaries = set()
    for number in numbers[1:]:
        _, _, revision = http("GET", f"{url}revisions/{number}/", headers=auth)
        summaries.add(revision["snapshot"]["summary"])
    assert summaries == {f"writer {n}" for n in range(WRITERS)}


def test_identical_republishing_in_parallel_creates_no_revision(server):
    url = create(server, "republish-race")
    base, auth = server
    document = {"title": "Original", "components": ["ceph"]}
    results = race([lambda: http("PUT", url, document, auth) for _ in range(WRITERS)])
    assert [status for status, _, _ in results] == [200] * WRITERS
    _, _, history = http("GET", url + "revisions/", headers=auth)
    assert history["count"] == 1


def test_concurrent_creates_of_one_slug_make_one_document(server):
    base, auth = server
    url = f"{base}/api/v1/runbooks/alpen/created-race/"
    results = race([lambda n=n: http("PUT", url, {"title": f"T{n}"}, auth) for n in range(WRITERS)])
    statuses = sorted(status for status, _, _ in results)
    # One creates; the others find it and, as their content differs and they sent no
    # If-Match, are asked for one (428), whether they lost the race to create or came
    # after; none is a 5xx.
    assert statuses.count(201) == 1, results
    assert all(status in (201, 428) for status in statuses), results
    _, _, history = http("GET", url + "revisions/", headers=auth)
    assert history["count"] == 1


def test_concurrent_identical_creating_puts_answer_one_201_and_the_rest_200(server):
    """Pipelines running twice at once: the same content PUT to a new slug is one create,
    and every other writer is told it is already there (200), never a conflict."""
    base, auth = server
    url = f"{base}/api/v1/runbooks/alpen/identical-race/"
    document = {"title": "Same", "summary": "The same content from every writer."}
    results = race([lambda: http("PUT", url, document, auth) for _ in range(WRITERS)])
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * (WRITERS - 1) + [201], results
    _, _, history = http("GET", url + "revisions/", headers=auth)
    assert history["count"] == 1


def test_writers_introducing_the_same_new_tag_at_once_all_succeed(server):
    """A tag (and a search word) is created by whichever write first uses it. Writers that
    introduce the same new tag and words at the same moment must all be stored with them:
    an INSERT ... ON CONFLICT settles a clash on its arbiter index only, and tags have two
    unique indexes (name and slug)."""
    base, auth = server
    for attempt in range(3):  # each round a tag and words nobody has used yet
        tag = f"fresh-tag-{attempt}"
        words = " ".join(f"w{attempt}x{k}" for k in range(30))
        document = {"title": f"Tagged {words}", "summary": words, "tags": [tag]}
        urls = [f"{base}/api/v1/runbooks/alpen/new-tag-{attempt}-{n}/" for n in range(WRITERS)]
        results = race(
            [lambda url=url, body=document: http("PUT", url, body, auth) for url in urls]
        )
        assert [status for status, _, _ in results] == [201] * WRITERS, results
        for url in urls:
            assert http("GET", url, headers=auth)[2]["tags"] == [tag]


def test_concurrent_writes_to_one_step_keep_its_briefing_counts_exact(server):
    """Writers publishing, moving and archiving upgrade runbooks of the same steps at once:
    each write moves the stamps of its steps (opsknowledge.stamps) in its own transaction,
    upserting them in one order, so none deadlocks and no count is lost."""
    base, auth = server
    upgrade = {"status": "published", "visibility": "public"}
    urls = [f"{base}/api/v1/runbooks/alpen/step-race-{n}/" for n in range(WRITERS)]
    created = race(
        [
            lambda url=url: http(
                "PUT",
                url,
                {"title": "Step", **upgrade, "upgrade_from": "r2", "upgrade_to": "r3"},
                auth,
            )
            for url in urls
        ]
    )
    assert [status for status, _, _ in created] == [201] * WRITERS, created

    def briefing():
        status, _, body = http("GET", f"{base}/api/v1/upgrade-path/?from=r2&to=r4", headers=auth)
        assert status == 200, body
        return [step["runbooks_count"] for step in body["steps"]]

    assert briefing() == [WRITERS, 0]
    # Half move on to the next step, half are archived, all at once.
    moved = race(
        [
            lambda n=n, url=url: http(
                "PATCH",
                url,
                {"upgrade_from": "r3", "upgrade_to": "r4"} if n % 2 else {"status": "archived"},
                {**auth, "If-Match": '"1"'},
            )
            for n, url in enumerate(urls)
        ]
    )
    assert [status for status, _, _ in moved] == [200] * WRITERS, moved
    assert briefing() == [0, WRITERS // 2]
