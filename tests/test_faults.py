"""Faults on a real server: PostgreSQL restarted under write load, a gunicorn worker killed
mid-write. Nothing acknowledged may be lost, nothing may be half-written, and the instance
must fail fast (503, not a hang) and recover by itself.

The PostgreSQL under test is a throwaway cluster of its own on a free port, never the shared
service on 5432: created at the start (after dropping any left by an earlier run of the same
checkout) and dropped at the end, pass or fail. Its name is the checkout's own, so runs from
two checkouts on one machine do not drop each other's cluster. Debian's cluster tools are
needed (and root, as CI runs); without them the tests skip with a line saying so.
"""

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from .processes import ROOT, free_port, gunicorn_process, http, prepare_instance, project_env

CLUSTER = "okb-faults-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
WRITERS = 4
SECRET = "faults-test-" + "x" * 48


def run(*command, check=True):
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=check)


def installed_version() -> str:
    """The PostgreSQL version the machine's own cluster runs (first column of pg_lsclusters)."""
    lines = run("pg_lsclusters", "--no-header").stdout.split()
    return lines[0]


def drop_cluster(version: str):
    run("pg_dropcluster", "--stop", version, CLUSTER, check=False)


@pytest.fixture(scope="module")
def cluster():
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        # Its cluster is its own whatever the suite runs on: once per run is enough.
        pytest.skip("the PostgreSQL fault tests run in the suite's PostgreSQL pass")
    if shutil.which("pg_createcluster") is None or os.geteuid() != 0:
        pytest.skip("fault tests need Debian's pg_createcluster and root: not here")
    version = installed_version()
    drop_cluster(version)  # left over from an interrupted run
    port = free_port()
    try:
        run(
            "pg_createcluster",
            version,
            CLUSTER,
            "--port",
            str(port),
            "--start",
            "--",
            "--auth-local=trust",
            "--auth-host=trust",
        )
        run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-qc",
            "CREATE DATABASE faults",
        )
        yield version, f"postgres://postgres@127.0.0.1:{port}/faults"
    finally:
        drop_cluster(version)


@pytest.fixture(scope="module")
def prepared(cluster):
    """The cluster's database migrated, with the catalogue, an organisation and an editor's
    token: once for the module, whichever server configurations then serve it."""
    version, url = cluster
    env = project_env(DEBUG="0", SECRET_KEY=SECRET, DATABASE_URL=url)
    key = prepare_instance(env, "faults", "Fault Test Cloud")
    return {"version": version, "env": env, "key": key, "url": url}


# The same faults, at the same moment, on two servers: one whose threads each keep their
# own connection, one with a connection pool per worker as large as its threads (as
# docker-compose deploys it). While the database is down a pooled request waits the pool
# timeout, plus up to a second when a connection fails its check (psycopg_pool backs off
# before trying another): 2 s keeps that inside the 4 s the restart test allows.
CONNECTIONS = {
    "pool-off": {},
    "pool-on": {"DATABASE_POOL_MAX_SIZE": "2", "DATABASE_POOL_TIMEOUT": "2"},
}


@pytest.fixture(scope="module")
def servers(prepared, tmp_path_factory):
    logs = tmp_path_factory.mktemp("gunicorn")
    with contextlib.ExitStack() as stack:
        started = {}
        for name, settings in CONNECTIONS.items():
            log_path = logs / f"server-{name}.log"
            log = stack.enter_context(log_path.open("w"))
            base, process = stack.enter_context(
                gunicorn_process({**prepared["env"], **settings}, workers=2, threads=2, log=log)
            )
            started[name] = {
                "base": base,
                "auth": {"Authorization": f"Token {prepared['key']}"},
                "process": process,
                "connections": name,
                "log": log_path,
            }
        yield started


def document(slug: str) -> dict:
    return {
        "title": f"Runbook {slug}",
        "summary": "written while something breaks",
        "body": f"## Steps\n\n1. Check {slug}.\n2. Breathe.\n",
        "components": ["ceph", "nova"],
        "tags": [f"tag-{slug}", "faults"],
    }


class Writers:
    """Writers that PUT new runbooks in a loop and record what they were told. After a 503
    a writer waits a little, as a client honouring Retry-After does (without it a writer
    makes hundreds of refused attempts a second, each one more document to check)."""

    def __init__(self, server, prefix):
        self.server, self.prefix = server, prefix
        self.outcomes = []  # (slug, status or exception name, started, seconds)
        self.details = {}  # slug -> the error body of an answer that was neither 201 nor 503
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]

    def url(self, slug):
        return f"{self.server['base']}/api/v1/runbooks/faults/{slug}/"

    def write(self, n):
        i = 0
        while not self.stop.is_set():
            slug = f"{self.prefix}-{n}-{i}"
            i += 1
            started = time.monotonic()
            try:
                status, _, body = http("PUT", self.url(slug), document(slug), self.server["auth"])
                if status not in (201, 503):
                    self.details[slug] = body
            except Exception as error:  # noqa: BLE001 - a reset connection is an outcome
                status = type(error).__name__
            self.outcomes.append((slug, status, started, time.monotonic() - started))
            if status != 201:
                self.stop.wait(0.05)

    def start(self):
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def warmed_up(self, timeout=60):
        """Wait until every writer has had answers: the first requests of a worker load the
        application, and an outage they sleep through would prove nothing."""
        deadline = time.monotonic() + timeout
        while len(self.outcomes) < 2 * WRITERS:
            assert time.monotonic() < deadline, "the server answers no writes"
            time.sleep(0.05)

    def successes_after(self, moment):
        return [s + d for _, status, s, d in self.outcomes if status == 201 and s >= moment]

    def first_success_after(self, moment):
        return min(self.successes_after(moment), default=None)


@contextlib.contextmanager
def writing(servers, prefix):
    """Writers on every server at once, warmed up before the fault."""
    crews = {name: Writers(server, f"{prefix}-{name}") for name, server in servers.items()}
    for crew in crews.values():
        crew.start()
    try:
        for crew in crews.values():
            crew.warmed_up()
        yield crews
    finally:
        for crew in crews.values():
            crew.finish()


# What is stored of every runbook of the organisation, read from the database itself in one
# query: its revision, its revisions' numbers, its tags and components.
STORED = """
SELECT r.slug, r.title, r.summary, r.body, r.revision,
    ARRAY(SELECT v.number FROM opsknowledge_revision v
          WHERE v.content_type_id = ct.id AND v.object_id = r.id ORDER BY v.number),
    ARRAY(SELECT t.name FROM taggit_taggeditem ti JOIN taggit_tag t ON t.id = ti.tag_id
          WHERE ti.content_type_id = ct.id AND ti.object_id = r.id ORDER BY t.name),
    ARRAY(SELECT c.slug FROM runbooks_runbook_components rc
          JOIN opsknowledge_component c ON c.id = rc.component_id
          WHERE rc.runbook_id = r.id ORDER BY c.slug)
FROM runbooks_runbook r
JOIN opsknowledge_organisation o ON o.id = r.organisation_id
JOIN django_content_type ct ON ct.app_label = 'runbooks' AND ct.model = 'runbook'
WHERE o.slug = 'faults' AND r.slug LIKE %s
"""


def assert_wholly_there_or_absent(database_url, writers):
    """Every attempted document is either absent or whole: revision 1 with exactly one
    revision, and every field and relation as sent. Every acknowledged one is there, and
    nothing is stored that no writer attempted."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(STORED, [writers.prefix + "-%"]).fetchall()
    stored = {row[0]: row[1:] for row in rows}
    attempted = {slug for slug, _, _, _ in writers.outcomes}
    assert set(stored) <= attempted, f"stored but never attempted: {set(stored) - attempted}"
    acknowledged = {slug for slug, status, _, _ in writers.outcomes if status == 201}
    lost = acknowledged - set(stored)
    assert not lost, f"acknowledged (201) and gone: {sorted(lost)}"
    for slug, (title, summary, body, revision, numbers, tags, components) in stored.items():
        sent = document(slug)
        assert (title, summary, body) == (sent["title"], sent["summary"], sent["body"]), slug
        assert (revision, numbers) == (1, [1]), (slug, revision, numbers)
        assert tags == sorted(sent["tags"]), (slug, tags)
        assert components == ["ceph", "nova"], (slug, components)


def logged_conflicts(server) -> list[str]:
    """The server's own account of any 409 (the constraint it violated)."""
    lines = server["log"].read_text(errors="replace").splitlines()
    return [line for line in lines if "Answered 409 for a constraint violation" in line]


def test_a_database_restart_fails_fast_with_503_recovers_and_loses_nothing(servers, prepared):
    version = prepared["version"]
    with writing(servers, "restart") as crews:
        run("pg_ctlcluster", version, CLUSTER, "stop", "-m", "fast")
        # Down for longer than a pooled request waits for a connection (the pool timeout), so
        # that both servers have to refuse: a shorter outage the pool simply rides out.
        time.sleep(1.5)
        run("pg_ctlcluster", version, CLUSTER, "start")
        up = time.monotonic()
        deadline = up + 10
        while time.monotonic() < deadline and not all(
            len(crew.successes_after(up)) >= WRITERS for crew in crews.values()
        ):
            time.sleep(0.05)
    for name, writers in crews.items():
        server = servers[name]
        statuses = {status for _, status, _, _ in writers.outcomes}
        failures = [
            (slug, status, seconds)
            for slug, status, started, seconds in writers.outcomes
            if status != 201
        ]
        recovered = writers.first_success_after(up)
        slowest = max((seconds for _, _, seconds in failures), default=0)
        print(
            f"\n{name}: {len(writers.outcomes)} writes, {len(failures)} refused "
            f"during the outage (the slowest in {slowest:.2f} s); "
            f"first success {recovered - up:.2f} s after the server was back"
            if recovered
            else f"\n{name}: no success after the restart"
        )
        assert statuses <= {201, 503}, (
            f"{name}: only 201 or 503 are acceptable, got {statuses}: {writers.details} "
            f"{logged_conflicts(server)}"
        )
        assert any(status == 503 for _, status, _ in failures), f"{name}: outage unnoticed"
        slow = [f for f in failures if f[2] > 4]
        assert not slow, f"{name}: requests hung instead of failing fast: {slow}"
        assert recovered is not None and recovered - up < 5, f"{name}: no recovery within 5 s"
        assert_wholly_there_or_absent(prepared["url"], writers)
        status, _, _ = http("GET", f"{server['base']}/healthz")
        assert status == 200, name


def test_a_killed_worker_leaves_each_write_wholly_there_or_wholly_absent(servers, prepared):
    with writing(servers, "kill") as crews:
        killed = time.monotonic()
        for server in servers.values():
            workers = run("pgrep", "-P", str(server["process"].pid)).stdout.split()
            assert workers, "gunicorn has no workers to kill"
            os.kill(int(workers[0]), signal.SIGKILL)
        # The master starts a new worker; writers go on until each server has answered
        # every writer again.
        deadline = killed + 10
        while time.monotonic() < deadline and not all(
            len(crew.successes_after(killed + 0.2)) >= 2 * WRITERS for crew in crews.values()
        ):
            time.sleep(0.05)
    for name, writers in crews.items():
        statuses = [status for _, status, _, _ in writers.outcomes]
        tally = {str(s): statuses.count(s) for s in set(statuses)}
        print(f"\n{name}: {len(statuses)} writes: {tally}")
        assert len(writers.successes_after(killed + 0.2)) >= 2 * WRITERS, name
        # A killed worker's clients see their connection dropped; never an error status.
        assert all(s == 201 or isinstance(s, str) for s in statuses), (name, statuses)
        assert_wholly_there_or_absent(prepared["url"], writers)
