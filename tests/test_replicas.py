"""Reads from a real PostgreSQL streaming replica (opsknowledge.replicas), with
read-your-writes.

These run only with DATABASE_REPLICA_URLS naming a streaming replica of DATABASE_URL's
server (`make test-replica`; CI makes one on port 5433 with .ci/replica.sh); elsewhere they
skip saying so, and fail with OKB_REQUIRE_REPLICA=1. Every test commits
(transaction=True): a test that never commits shows the replica nothing.

Which database answered is read from the connections themselves: the queries each alias
ran during a request (Django's query capture, in process through the whole middleware
stack), and pg_is_in_recovery() on the alias's connection proves which server that is.
"""

import os
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connections, router
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from opsknowledge.models import APIToken, Organisation
from opsknowledge.replicas import caller_of, health
from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Runbook
from tests.processes import gunicorn, http, manage, project_env, scratch_database

REQUIRE_REPLICA = "OKB_REQUIRE_REPLICA"  # CI: no replica fails instead of skipping
# The cluster .ci/replica.sh makes (pg_ctlcluster's version and name), stopped by one test.
REPLICA_CLUSTER = os.environ.get("OKB_REPLICA_CLUSTER", "15 replica").split()
APPLY_DELAY_SECONDS = 2
URL = "/api/v1/runbooks/alpen/ceph-osd-full/"
RUNBOOK = {
    "title": "Ceph OSD full",
    "summary": "Writes stop when an OSD is full.",
    "visibility": "public",
    "status": "published",
}

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def missing_replica(reason: str):
    if os.environ.get(REQUIRE_REPLICA, "").lower() in {"1", "true", "yes", "on"}:
        pytest.fail(f"{reason}, and {REQUIRE_REPLICA} is set")
    pytest.skip(f"{reason}: the replica tests run with `make test-replica`")


@pytest.fixture(scope="module", autouse=True)
def replica_server():
    """The replica's server, checked to be a standby: (host, port, user)."""
    if not settings.DATABASE_REPLICAS:
        missing_replica("DATABASE_REPLICA_URLS is not set")
    config = settings.DATABASES["replica1"]
    server = (config["HOST"] or "127.0.0.1", config["PORT"] or 5432, config["USER"])
    try:
        with server_connection(server) as connection:
            standby = connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    except psycopg.OperationalError as error:
        missing_replica(f"the replica at {server[0]}:{server[1]} does not answer ({error})")
    if not standby:
        missing_replica(f"{server[0]}:{server[1]} is not a standby (not in recovery)")
    return server


@pytest.fixture(autouse=True)
def fresh_health():
    health.forget()
    yield
    health.forget()


def server_connection(server):
    host, port, user = server
    return psycopg.connect(
        host=host, port=port, user=user, dbname="postgres", autocommit=True, connect_timeout=3
    )


def wait_for_replay(timeout=20):
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["replica1"].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {target} in {timeout} s")


@pytest.fixture
def apply_delay(replica_server):
    """The replica applies each commit only APPLY_DELAY_SECONDS after it was made."""

    def set_delay(value):
        with server_connection(replica_server) as connection:
            connection.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{value}'")
            connection.execute("SELECT pg_reload_conf()")
        for _ in range(100):
            with server_connection(replica_server) as connection:
                if connection.execute("SHOW recovery_min_apply_delay").fetchone()[0] == value:
                    return
            time.sleep(0.05)
        raise AssertionError(f"recovery_min_apply_delay did not become {value}")

    set_delay(f"{APPLY_DELAY_SECONDS}s")
    try:
        yield APPLY_DELAY_SECONDS
    finally:
        set_delay("0")
        wait_for_replay()


@pytest.fixture
def writer():
    """An editor's token client of 'alpen', and its key."""
    alpen = OrganisationFactory(slug="alpen")
    _, key = APIToken.issue(user=member(alpen, "editor", username="pipeline"), organisation=alpen)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def token_client_of(organisation: Organisation, username: str) -> APIClient:
    _, key = APIToken.issue(user=member(organisation, "viewer", username=username),
                            organisation=organisation)  # fmt: skip
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


class Served:
    """The queries each database ran while the block ran, by alias."""

    def __init__(self, *aliases):
        # Capturing connects: leave out an alias whose server is down.
        self.captures = {
            alias: CaptureQueriesContext(connections[alias]) for alias in aliases or connections
        }

    def __enter__(self):
        for capture in self.captures.values():
            capture.__enter__()
        return self

    def __exit__(self, *exc):
        for capture in self.captures.values():
            capture.__exit__(*exc)

    def of(self, alias: str, table: str = "") -> list[str]:
        return [q["sql"] for q in self.captures[alias].captured_queries if table in q["sql"]]


RUNBOOK_TABLE = '"runbooks_runbook"'


def in_recovery(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return cursor.fetchone()[0]


def test_the_aliases_are_a_standby_and_its_primary():
    assert in_recovery("replica1") is True
    assert in_recovery("default") is False


def test_without_a_request_everything_uses_the_primary():
    """Commands, migrations and the shell: no request scope, so no replica."""
    assert router.db_for_read(Runbook) == "default"
    assert router.db_for_write(Runbook) == "default"
    assert router.allow_migrate("default", "runbooks") is True
    assert router.allow_migrate("replica1", "runbooks") is False


def test_another_callers_read_is_served_by_the_replica(writer):
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    reader = token_client_of(Organisation.objects.get(slug="alpen"), "reader")
    wait_for_replay()
    for client in (APIClient(), reader):  # anonymous, and a token that wrote nothing
        with Served() as served:
            response = client.get(URL)
        assert response.status_code == 200
        assert response.json()["title"] == "Ceph OSD full"
        assert served.of("replica1", RUNBOOK_TABLE), "the runbook was not read from the replica"
        assert not served.of("default", RUNBOOK_TABLE)
    assert in_recovery("replica1")
    metrics = replica_metrics()
    assert metrics["up"] == 1.0 and metrics["lag_bytes"] >= 0, metrics


def replica_metrics() -> dict:
    """replica1's figures in /metrics, as this process last saw them."""
    text = APIClient().get("/metrics").content.decode()
    found = {}
    for line in text.splitlines():
        for name in ("lag_bytes", "up"):
            if line.startswith(f'opsknowledge_database_replica_{name}{{alias="replica1"'):
                found[name] = float(line.rsplit(" ", 1)[1])
    return found


def test_a_write_then_a_read_by_the_same_token_sees_the_write_despite_replica_delay(
    writer, apply_delay
):
    anonymous = APIClient()
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    with Served() as served:
        mine = writer.get(URL)
    assert mine.status_code == 200, "the writer's read must see its write at once"
    assert not served.of("replica1", RUNBOOK_TABLE)
    # Someone else reads from the replica, which has not applied the write yet: proof that
    # the replica really lags, and that only the writer pays for it.
    with Served() as served:
        theirs = anonymous.get(URL)
    assert theirs.status_code == 404
    assert served.of("replica1", RUNBOOK_TABLE)

    etag = mine.headers["ETag"]
    edited = writer.patch(URL, {"title": "Ceph OSD nearly full"}, format="json", HTTP_IF_MATCH=etag)
    assert edited.status_code == 200
    assert writer.get(URL).json()["title"] == "Ceph OSD nearly full"
    # Once the replica has applied it, the writer's reads go back to the replica.
    wait_for_replay(timeout=APPLY_DELAY_SECONDS * 5)
    with Served() as served:
        later = writer.get(URL)
    assert later.json()["title"] == "Ceph OSD nearly full"
    assert served.of("replica1", RUNBOOK_TABLE)


def test_the_hot_cache_fills_from_the_primary(writer, apply_delay, settings):
    """What anonymous readers share (opsknowledge.hotcache) is computed once: from the
    primary, or the lagging replica's old answer would be kept under the new generation."""
    settings.HOT_CACHE = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    with Served() as served:
        feed = APIClient().get("/feeds/runbooks.atom")
    assert feed.status_code == 200 and b"Ceph OSD full" in feed.content
    assert served.of("default", RUNBOOK_TABLE) and not served.of("replica1", RUNBOOK_TABLE)
    with Served() as served:  # and the hit costs neither database anything
        again = APIClient().get("/feeds/runbooks.atom")
    assert again.content == feed.content
    assert not served.of("default") and not served.of("replica1")


def test_a_hot_cached_page_is_rendered_from_the_primary(writer, settings):
    """A page's template may run queries of its own when rendered (a lazy queryset): a fill
    renders it on the primary, not later wherever the request reads."""
    from django.contrib.auth.models import AnonymousUser
    from django.template import engines
    from django.template.response import SimpleTemplateResponse

    from opsknowledge.hotcache import hot_cached
    from opsknowledge.replicas import ReadScope, _scope

    settings.HOT_CACHE = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    wait_for_replay()
    template = engines["django"].from_string("{% for r in runbooks %}{{ r.title }}{% endfor %}")

    @hot_cached
    def page(request):
        return SimpleTemplateResponse(template, {"runbooks": Runbook.objects.all()})

    request = RequestFactory().get("/a-page/")
    request.user, request.session = AnonymousUser(), {}
    scope = _scope.set(ReadScope(caller=None))  # as the middleware sets it for a safe GET
    try:
        with Served() as served:
            response = page(request)
            if not response.is_rendered:
                response.render()
    finally:
        _scope.reset(scope)
    assert b"Ceph OSD full" in response.content
    assert served.of("default", RUNBOOK_TABLE) and not served.of("replica1", RUNBOOK_TABLE)


def test_a_signed_in_writer_reads_its_writes_through_its_session(apply_delay):
    """Sessions carry the position as tokens do (the browser's pages and the API alike)."""
    alpen = OrganisationFactory(slug="alpen")
    browser = APIClient()
    browser.force_login(member(alpen, "editor", username="editor"))
    assert browser.put(URL, RUNBOOK, format="json").status_code == 201
    with Served() as served:
        mine = browser.get(URL)
    assert mine.status_code == 200
    assert not served.of("replica1", RUNBOOK_TABLE)
    assert APIClient().get(URL).status_code == 404  # the replica's answer, still behind


def test_a_token_made_a_moment_ago_works_though_the_replica_has_not_applied_it(writer, apply_delay):
    """Tokens, users and memberships come from the primary: not a 401 for the lag."""
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    wait_for_replay(timeout=APPLY_DELAY_SECONDS * 5)
    newcomer = token_client_of(Organisation.objects.get(slug="alpen"), "newcomer")
    with Served() as served:
        response = newcomer.get(URL)
    assert response.status_code == 200
    assert served.of("replica1", RUNBOOK_TABLE), "the runbook itself may come from the replica"
    assert not served.of("replica1", '"opsknowledge_apitoken"')
    assert not served.of("replica1", '"auth_user"')


def test_only_a_successful_write_records_a_position(writer):
    """A read that updates the token's last use, or a refused write, records nothing: the
    caller's reads keep going to the replica."""
    from django.core.cache import cache

    caller = caller_of(RequestFactory().get("/", **writer._credentials))
    assert writer.get("/api/v1/runbooks/").status_code == 200  # sets last_used_at
    assert writer.patch(URL, {"title": "Nothing"}, format="json").status_code in {404, 428}
    assert cache.get(caller) is None
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    assert cache.get(caller) is not None


def test_no_query_of_a_write_path_reaches_the_replica(writer):
    with Served() as served:
        created = writer.put(URL, RUNBOOK, format="json")
        etag = created.headers["ETag"]
        edited = writer.patch(URL, {"title": "Edited"}, format="json", HTTP_IF_MATCH=etag)
        replaced = writer.put(
            URL, {**RUNBOOK, "title": "Replaced"}, format="json", HTTP_IF_MATCH=edited["ETag"]
        )
        stale = writer.patch(URL, {"title": "Stale"}, format="json", HTTP_IF_MATCH=etag)
    assert [r.status_code for r in (created, edited, replaced, stale)] == [201, 200, 200, 412]
    assert served.of("replica1") == []
    # Conditional reads compare with the current revision: the primary's.
    wait_for_replay()
    with Served() as served:
        fresh = APIClient().get(URL, HTTP_IF_NONE_MATCH=replaced["ETag"])
        matched = APIClient().get(URL, HTTP_IF_MATCH=replaced["ETag"])
    assert (fresh.status_code, matched.status_code) == (304, 200)
    assert served.of("replica1") == []


@pytest.fixture
def stopped_replica():
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        missing_replica("stopping the replica takes pg_ctlcluster, run as root")
    subprocess.run(["pg_ctlcluster", *REPLICA_CLUSTER, "stop"], check=True, timeout=60)
    try:
        yield
    finally:
        subprocess.run(["pg_ctlcluster", *REPLICA_CLUSTER, "start"], check=True, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                connections["replica1"].close()
                wait_for_replay()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def test_with_the_replica_stopped_reads_fall_back_to_the_primary_fast(writer, stopped_replica):
    assert writer.put(URL, RUNBOOK, format="json").status_code == 201
    connections["replica1"].close()
    anonymous = APIClient()
    started = time.perf_counter()
    for _ in range(20):
        with Served("default") as served:
            response = anonymous.get(URL)
        assert response.status_code == 200
        assert response.json()["title"] == "Ceph OSD full"
        assert served.of("default", RUNBOOK_TABLE)
    elapsed = time.perf_counter() - started
    # One refused connection, then the replica is left alone for a few seconds.
    assert elapsed < 5, f"20 reads took {elapsed:.1f} s with the replica down"
    assert replica_metrics()["up"] == 0.0


# -- the same through gunicorn: two workers sharing write positions through Redis ---------

SECRET = "replica-test-" + "x" * 40


def require_redis():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("OKB_REQUIRE_REDIS", "").lower() in {"1", "true", "yes", "on"}:
            pytest.fail("no Redis on 127.0.0.1:6379 and OKB_REQUIRE_REDIS is set")
        pytest.skip("no Redis on 127.0.0.1:6379: workers cannot share write positions")


@pytest.fixture(scope="module")
def instance(replica_server, tmp_path_factory):
    """Two gunicorn workers on a database of their own, reading from the replica; the
    writer's token."""
    require_redis()
    host, port, _ = replica_server
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[0] + f"@{host}:{port}"
        replica_url = urlunsplit(parts._replace(netloc=netloc))
        env = project_env(
            DEBUG="0",
            SECRET_KEY=SECRET,
            DATABASE_URL=url,
            DATABASE_REPLICA_URLS=replica_url,
            CACHE_URL="redis://127.0.0.1:6379/0",
        )
        for command in (
            ["migrate", "-v0"],
            ["create_organisation", "alpen", "--name", "Alpenwolke"],
            ["add_member", "pipeline", "alpen", "--role", "editor"],
        ):
            result = manage(*command, env=env)
            assert result.returncode == 0, result.stderr
        key = manage("create_token", "pipeline", "--organisation", "alpen", env=env).stdout.strip()
        with gunicorn(env, workers=2) as base:
            for _ in range(6):  # both workers past their first, slow request
                http("GET", base + "/api/v1/runbooks/")
            yield base, {"Authorization": f"Token {key}"}


def test_served_by_two_workers_a_writer_reads_its_writes_at_once(instance, apply_delay):
    base, auth = instance
    path = "/api/v1/runbooks/alpen/served-write/"
    status, _, body = http("PUT", base + path, {**RUNBOOK, "title": "Served"}, auth)
    assert status == 201, body
    status, _, _ = http("GET", base + path)
    assert status == 404, "an anonymous read is the replica's, which has not applied it yet"
    # A new connection each time: both workers answer, and both know the write's position.
    answers = [http("GET", base + path, headers=auth) for _ in range(8)]
    assert [(status, body["title"]) for status, _, body in answers] == [(200, "Served")] * 8


def test_served_with_the_replica_stopped_reads_are_200s_from_the_primary(instance, stopped_replica):
    base, auth = instance
    path = "/api/v1/runbooks/alpen/served-fallback/"
    status, _, body = http("PUT", base + path, RUNBOOK, auth)
    assert status == 201, body
    started = time.perf_counter()
    statuses = [http("GET", base + path)[0] for _ in range(20)]
    elapsed = time.perf_counter() - started
    assert statuses == [200] * 20
    assert elapsed < 5, f"20 reads took {elapsed:.1f} s with the replica down"
