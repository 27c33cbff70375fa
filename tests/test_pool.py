"""PostgreSQL connection pooling: the settings the DATABASE_POOL_* variables give, and a real
gunicorn whose pool is exhausted answering 503 quickly instead of hanging."""

import json
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from opsknowledge.settings import database_from_url

from .processes import gunicorn, http, http_get, manage, project_env

POSTGRES_URL = "postgres://okb@db.example.org:5432/opsknowledge"
POOL_VARIABLES = ("DATABASE_POOL_MAX_SIZE", "DATABASE_POOL_MIN_SIZE", "DATABASE_POOL_TIMEOUT")


@pytest.fixture
def pool_env(monkeypatch):
    """Sets pool variables for database_from_url(); none is set unless a test sets it."""
    for name in POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_without_pool_variables_connections_persist_as_before(pool_env):
    config = database_from_url(POSTGRES_URL)
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (60, True)
    assert config["OPTIONS"] == {"connect_timeout": 3}


def test_a_max_size_of_zero_is_no_pool(pool_env):
    unset = database_from_url(POSTGRES_URL)
    pool_env(DATABASE_POOL_MAX_SIZE="0", DATABASE_POOL_MIN_SIZE="2", DATABASE_POOL_TIMEOUT="9")
    assert database_from_url(POSTGRES_URL) == unset


def test_the_pool_replaces_persistent_connections(pool_env):
    pool_env(DATABASE_POOL_MAX_SIZE="4", DATABASE_POOL_MIN_SIZE="2", DATABASE_POOL_TIMEOUT="5")
    config = database_from_url(POSTGRES_URL)
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (0, True)
    assert config["OPTIONS"] == {
        "connect_timeout": 3,
        "pool": {"min_size": 2, "max_size": 4, "timeout": 5},
    }


def test_pool_defaults_keep_one_connection_and_wait_three_seconds(pool_env):
    pool_env(DATABASE_POOL_MAX_SIZE="4")
    pool = database_from_url(POSTGRES_URL)["OPTIONS"]["pool"]
    assert pool == {"min_size": 1, "max_size": 4, "timeout": 3}


def test_each_database_gets_a_pool_of_its_own_settings(pool_env):
    """Every alias is built by database_from_url(); Django keeps one pool per alias."""
    pool_env(DATABASE_POOL_MAX_SIZE="3")
    primary = database_from_url(POSTGRES_URL)
    replica = database_from_url("postgres://okb@replica.example.org:5432/opsknowledge")
    assert primary["OPTIONS"]["pool"] == replica["OPTIONS"]["pool"]
    assert primary["OPTIONS"]["pool"] is not replica["OPTIONS"]["pool"]


def test_sqlite_ignores_the_pool_variables(pool_env, tmp_path):
    url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    unset = database_from_url(url)
    pool_env(DATABASE_POOL_MAX_SIZE="4", DATABASE_POOL_TIMEOUT="1")
    config = database_from_url(url)
    assert config == unset and "pool" not in config["OPTIONS"]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"DATABASE_POOL_MAX_SIZE": "four"}, "DATABASE_POOL_MAX_SIZE='four' is not a whole"),
        ({"DATABASE_POOL_MAX_SIZE": "-1"}, "DATABASE_POOL_MAX_SIZE=-1 is negative; use 0"),
        (
            {"DATABASE_POOL_MAX_SIZE": "4", "DATABASE_POOL_MIN_SIZE": "5"},
            r"DATABASE_POOL_MIN_SIZE=5 must be between 0 and DATABASE_POOL_MAX_SIZE \(4\)",
        ),
        (
            {"DATABASE_POOL_MAX_SIZE": "4", "DATABASE_POOL_MIN_SIZE": "-1"},
            "DATABASE_POOL_MIN_SIZE=-1 must be between 0",
        ),
        (
            {"DATABASE_POOL_MAX_SIZE": "4", "DATABASE_POOL_TIMEOUT": "0"},
            r"DATABASE_POOL_TIMEOUT=0 must be at least 1 \(seconds\)",
        ),
        (
            {"DATABASE_POOL_MAX_SIZE": "4", "DATABASE_POOL_TIMEOUT": "3s"},
            "DATABASE_POOL_TIMEOUT='3s' is not a whole number",
        ),
    ],
)
def test_invalid_pool_values_refuse_to_start(pool_env, values, message):
    pool_env(**values)
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(POSTGRES_URL)


def test_an_invalid_pool_size_stops_the_project_loading():
    env = project_env(DEBUG="1", DATABASE_URL=POSTGRES_URL, DATABASE_POOL_MAX_SIZE="lots")
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DATABASE_POOL_MAX_SIZE='lots' is not a whole number" in result.stderr


def requires_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("connection pooling is PostgreSQL's: this runs in the PostgreSQL pass")


def test_django_opens_the_configured_pool():
    requires_postgresql()
    env = project_env(
        DEBUG="1",
        DATABASE_POOL_MAX_SIZE="3",
        DATABASE_POOL_MIN_SIZE="2",
        DATABASE_POOL_TIMEOUT="2",
    )
    show = (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SELECT 1')\n"
        "pool = connection.pool\n"
        "print(type(pool).__name__, pool.min_size, pool.max_size, pool.timeout)\n"
    )
    result = manage("shell", "-v0", "-c", show, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ConnectionPool", "2", "3", "2"]


def database_url_of_the_test_database() -> str:
    """The suite's own test database, migrated once for the run: a server in another
    process sees what a transactional test commits there."""
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST']}:"
        f"{settings['PORT']}/{settings['NAME']}"
    )


def wait_for_a_query_blocked_on_a_lock(locker, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = locker.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the first request never reached the locked table")


def timed(request):
    started = time.monotonic()
    answer = request()
    return answer, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_an_exhausted_pool_answers_503_within_the_pool_timeout_then_recovers():
    """One pooled connection, three threads: while a request holds the connection (blocked
    on a table lock taken here), the next ones wait the pool timeout (1 s) and get a 503 with
    Retry-After, on the API and on a page, not a hang and not a 500. Once the lock is
    released, the same server answers 200 again."""
    requires_postgresql()
    import psycopg

    env = project_env(
        DEBUG="1",  # pages link static files from the source folders: no collectstatic
        DATABASE_URL=database_url_of_the_test_database(),
        DATABASE_POOL_MAX_SIZE="1",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_TIMEOUT="1",
    )
    settings = connection.settings_dict
    with gunicorn(env, threads=3) as base:
        api, page = f"{base}/api/v1/components/", f"{base}/components/"
        assert http("GET", api)[0] == 200  # the worker has loaded and its pool is open
        held = {}
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"],
            user=settings["USER"],
            password=settings["PASSWORD"] or None,
            dbname=settings["NAME"],
        ) as locker:
            locker.execute("LOCK TABLE opsknowledge_component IN ACCESS EXCLUSIVE MODE")
            holder = threading.Thread(target=lambda: held.update(answer=http("GET", api)))
            holder.start()
            wait_for_a_query_blocked_on_a_lock(locker)

            (status, headers, body), seconds = timed(lambda: http("GET", api))
            assert status == 503, (status, body)
            assert body["error"]["code"] == "unavailable"
            assert int(headers["Retry-After"]) > 0
            assert 0.9 <= seconds < 3, f"the API answered after {seconds:.2f} s"

            (status, headers, html), seconds = timed(
                lambda: http_get(page, headers={"Accept": "text/html"})
            )
            assert status == 503 and b"retry in a few seconds" in html
            assert int(headers["Retry-After"]) > 0
            assert 0.9 <= seconds < 3, f"the page answered after {seconds:.2f} s"
            assert holder.is_alive(), "the request holding the connection did not wait"
            # /metrics needs no database: it shows the one connection in use.
            status, _, metrics = http_get(f"{base}/metrics")
            assert status == 200
            pool_lines = [
                line
                for line in metrics.decode().splitlines()
                if line.startswith("opsknowledge_database_pool_") and 'alias="default"' in line
            ]
            assert any('state="in_use"' in line and line.endswith(" 1.0") for line in pool_lines), (
                pool_lines
            )
            assert any(
                line.startswith("opsknowledge_database_pool_max_connections")
                and line.endswith(" 1.0")
                for line in pool_lines
            ), pool_lines
        # Leaving the block commits: the lock is gone and the held request completes.
        holder.join(timeout=15)
        assert held["answer"][0] == 200
        assert http("GET", api)[0] == 200
        assert http_get(page)[0] == 200
        status, _, body = http_get(f"{base}/healthz")
        assert (status, json.loads(body)["database"]) == (200, "ok")
