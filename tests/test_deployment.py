"""Settings, deployment checks and the production server, each in a process of its own as a
deployment would run them."""

import json
import re
import subprocess
import sys
import threading

import pytest
import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from opsknowledge import localenv
from opsknowledge.settings import database_from_url, env_bool

from .processes import ROOT, gunicorn, http_get, manage, project_env, scratch_checkout

LONG_SECRET = "k3y-" + "a1b2c3d4e5f6g7h8i9j0" * 3


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("", False),
        ("off", False),
    ],
)
def test_booleans_are_parsed_properly(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_a_misspelt_boolean_is_an_error(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", False)


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = manage("check", env=project_env(DEBUG="0", SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_development_default_secret_key_only_with_debug():
    result = manage("check", env=project_env(DEBUG="1", SECRET_KEY=None))
    assert result.returncode == 0, result.stderr


def test_deploy_check_is_clean_with_https_hardening(tmp_path):
    env = project_env(
        DEBUG="0",
        HTTPS_ONLY="1",
        SECRET_KEY=LONG_SECRET,
        ALLOWED_HOSTS="ops.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sqlite_default_is_a_file_under_var_with_wal_and_immediate_transactions():
    config = database_from_url(f"sqlite:///{ROOT / 'var' / 'x.sqlite3'}")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 5


def test_concurrent_sqlite_writers_wait_instead_of_failing(tmp_path):
    env = project_env(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    assert manage("migrate", "-v0", env=env).returncode == 0
    writer = (
        "from django.db import transaction\n"
        "from opsknowledge.models import Organisation\n"
        "for n in range(40):\n"
        "    with transaction.atomic():\n"
        "        count = Organisation.objects.count()\n"
        "        Organisation.objects.create(slug=f'WRITER-{n}', name=str(count))\n"
    )
    results = []

    def run(name):
        results.append(manage("shell", "-v0", "-c", writer.replace("WRITER", name), env=env))

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr[-500:] for r in results]
    count = manage(
        "shell",
        "-v0",
        "-c",
        "from opsknowledge.models import Organisation;print(Organisation.objects.count())",
        env=env,
    )
    assert count.stdout.strip() == "120"
    mode = manage("dbshell", env=env, input="PRAGMA journal_mode;\n")
    if mode.returncode == 0:  # the sqlite3 shell may not be installed; WAL is checked above
        assert "wal" in mode.stdout.lower()


def test_production_server_serves_hashed_static_files_after_collectstatic(tmp_path):
    """DEBUG=0 behind gunicorn, as the Dockerfile runs it: after collectstatic, pages link
    hashed, compressed static files that WhiteNoise serves for a long time; the API, its
    docs page and the branded 404 work, each page under the Content-Security-Policy."""
    env = project_env(
        DEBUG="0", SECRET_KEY=LONG_SECRET, DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    )
    collected = manage("collectstatic", "--noinput", "-v0", env=env, timeout=300)
    assert collected.returncode == 0, collected.stderr
    assert manage("migrate", "-v0", env=env).returncode == 0
    assert manage("load_demo", env=env).returncode == 0
    with gunicorn(env) as base:
        status, _, body = http_get(f"{base}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
        status, headers, home = http_get(f"{base}/")
        assert status == 200
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        stylesheet = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home)
        assert stylesheet, "the page does not link a hashed site.css"
        status, headers, css = http_get(
            base + stylesheet.group(1).decode(), headers={"Accept-Encoding": "gzip"}
        )
        assert status == 200 and headers.get("Content-Encoding") == "gzip"
        assert "max-age=315360000" in headers["Cache-Control"]
        status, _, body = http_get(f"{base}/api/v1/releases/")
        assert status == 200 and json.loads(body)["count"] == 8
        status, _, docs = http_get(f"{base}/api/docs/")
        assert status == 200
        # The docs page loads its assets from this server, not from a CDN.
        assert b"cdn." not in docs and b"/static/drf_spectacular_sidecar/" in docs
        bundle = re.search(
            rb'src="(/static/drf_spectacular_sidecar/[^"]+-bundle\.[0-9a-f]+\.js)"', docs
        )
        assert bundle and http_get(base + bundle.group(1).decode())[0] == 200
        status, _, body = http_get(f"{base}/api/nothing")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
        status, _, page = http_get(f"{base}/runbooks/scs/no-such-runbook/")
        assert status == 404 and b"<title>Page not found" in page


def test_healthz_is_503_when_the_database_is_unreachable():
    env = project_env(
        DEBUG="0",
        SECRET_KEY=LONG_SECRET,
        # Nothing listens on port 9 of loopback: the database is down.
        DATABASE_URL="postgres://postgres@127.0.0.1:9/opsknowledge",
    )
    with gunicorn(env) as base:
        status, headers, body = http_get(f"{base}/healthz")
    assert status == 503
    assert json.loads(body) == {"status": "error", "database": "unavailable"}


SHOW_DATABASES = (
    "import json; from django.conf import settings; print(json.dumps({"
    "'aliases': {a: c.get('TEST', {}).get('MIRROR') for a, c in settings.DATABASES.items()},"
    "'routers': settings.DATABASE_ROUTERS, 'middleware': settings.MIDDLEWARE}))"
)


def databases_with(**env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW_DATABASES}"],
        env=project_env(DEBUG="1", **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_replicas_there_is_one_database_and_no_router():
    shown = databases_with(DATABASE_REPLICA_URLS=None)
    assert shown["aliases"] == {"default": None}
    assert shown["routers"] == []
    assert "opsknowledge.replicas.ReplicaReadsMiddleware" not in shown["middleware"]


def test_each_replica_url_is_an_alias_mirroring_default_in_tests_with_the_router():
    shown = databases_with(
        DATABASE_URL="postgres://okb@db:5432/okb",
        DATABASE_REPLICA_URLS="postgres://okb@replica-a:5432/okb, postgres://okb@replica-b/okb",
    )
    assert shown["aliases"] == {"default": None, "replica1": "default", "replica2": "default"}
    assert shown["routers"] == ["opsknowledge.replicas.ReplicaRouter"]
    middleware = shown["middleware"]
    # Sessions and authentication run inside its scope, so that it keeps them on the primary.
    assert middleware.index("opsknowledge.replicas.ReplicaReadsMiddleware") < middleware.index(
        "django.contrib.sessions.middleware.SessionMiddleware"
    )


def test_replicas_of_sqlite_refuse_to_start():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=project_env(
            DEBUG="1",
            DATABASE_URL="sqlite:///:memory:",
            DATABASE_REPLICA_URLS="postgres://okb@replica/okb",
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URLS are PostgreSQL streaming replicas" in result.stderr


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def web_services(services: dict) -> dict:
    return {name: service for name, service in services.items() if name.startswith("web")}


def test_compose_has_the_scaled_out_topology():
    services = compose()["services"]
    assert set(services) == {"db", "db-replica", "redis", "migrate", "web1", "web2"}
    assert services["db"]["image"].startswith("postgres:15")
    assert services["db-replica"]["image"] == services["db"]["image"]
    primary = " ".join(services["db"]["command"])
    assert "wal_level=replica" in primary and "max_wal_senders=" in primary
    # Two web servers, both reachable from the host.
    ports = [service["ports"] for service in web_services(services).values()]
    assert ports == [["8000:8000"], ["8001:8000"]]


def test_compose_web_services_get_exactly_the_settings_environment():
    services = compose()["services"]
    assert len(web_services(services)) == 2
    for name, web in web_services(services).items():
        assert set(web["environment"]) == set(settings.ENVIRONMENT_VARIABLES), name
        assert web["environment"]["DATABASE_URL"].startswith("postgres://"), name
        assert web["environment"]["CACHE_URL"].startswith("redis://redis:"), name
    # migrate runs the same settings: what it migrates is what the servers use.
    assert services["migrate"]["environment"] == services["web1"]["environment"]


def test_compose_web_services_wait_for_migrate_and_healthy_databases_and_redis():
    services = compose()["services"]
    for name, web in web_services(services).items():
        assert web["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "db": {"condition": "service_healthy"},
            "db-replica": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name
        # They read from the replica, with the pool on.
        assert "@db-replica:" in web["environment"]["DATABASE_REPLICA_URLS"], name
        assert web["environment"]["DATABASE_POOL_MAX_SIZE"].endswith(":-4}"), name
        assert "/healthz" in " ".join(web["healthcheck"]["test"]), name
    for name in ("db", "db-replica", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}


def test_only_the_migrate_service_migrates():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    commands = {
        n: " ".join(s.get("command", []) + s.get("entrypoint", [])) for n, s in services.items()
    }
    assert [n for n, command in commands.items() if "migrate" in command] == ["migrate"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert "gunicorn" in cmd and "migrate" not in cmd


def test_the_dockerfile_copies_every_app_it_installs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for app in ("opsknowledge", "runbooks", "incidents", "releases", "templates", "static"):
        assert f"COPY {app} ./{app}" in dockerfile, app


def test_the_replica_clones_the_primary_with_its_entrypoint_script():
    services = compose()["services"]
    replica = services["db-replica"]
    (entrypoint,) = replica["entrypoint"]
    mounted = {
        volume.split(":")[1]: ROOT / volume.split(":")[0]
        for volume in replica["volumes"]
        if volume.startswith("./")
    }
    script = mounted[entrypoint]
    assert script.is_file() and script.stat().st_mode & 0o111, script
    text = script.read_text()
    # The pg_basebackup command itself (not a comment), continuation lines joined.
    command = re.search(r"^\s*(?:\S+=\S*\s+)*pg_basebackup(?:.*\\\n)*.*", text, re.M).group(0)
    assert re.search(r"\s-R\s", command) and "-X stream" in command, command
    assert "PG_VERSION" in text  # only an empty volume is cloned
    assert replica["environment"]["PRIMARY_HOST"] == "db"
    assert replica["depends_on"]["db"] == {"condition": "service_healthy"}
    # The primary lets it connect for replication.
    initdb = [v for v in services["db"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert initdb and "host replication" in (ROOT / initdb[0].split(":")[0]).read_text()
    for path in [script, ROOT / initdb[0].split(":")[0]]:
        checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_settings_read_exactly_the_documented_variables():
    source = (ROOT / "opsknowledge" / "settings.py").read_text()
    import re

    read = set(re.findall(r'env_(?:bool|list|int)\("([A-Z_]+)"', source))
    read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    assert read == set(settings.ENVIRONMENT_VARIABLES)
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in settings.ENVIRONMENT_VARIABLES if f"`{name}`" not in readme]
    assert not missing, f"README.md does not document {missing}"


# -- var/.env, the local development settings `make run` writes ----------------------------

SHOW = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def local_checkout(tmp_path):
    checkout = scratch_checkout(tmp_path)
    values = localenv.ensure(
        checkout / "var" / ".env", DATABASE_URL=f"sqlite:///{tmp_path / 'local.sqlite3'}"
    )
    return checkout, values


def test_manage_py_reads_var_env_only_when_debug_is_not_set(tmp_path):
    checkout, values = local_checkout(tmp_path)
    bare = project_env(DEBUG=None, SECRET_KEY=None, DATABASE_URL=None)

    shown = manage("shell", "--no-imports", "-c", SHOW, env=bare, cwd=checkout)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["True", values["SECRET_KEY"]]
    # A variable that is set always wins over the file.
    env = {**bare, "SECRET_KEY": LONG_SECRET}
    shown = manage("shell", "--no-imports", "-c", SHOW, env=env, cwd=checkout)
    assert shown.stdout.split() == ["True", LONG_SECRET]
    # With DEBUG set, the file is not read at all: production still needs a real key.
    refused = manage("check", env={**bare, "DEBUG": "0"}, cwd=checkout)
    assert refused.returncode != 0
    assert "SECRET_KEY must be set" in refused.stderr


def test_gunicorn_never_reads_var_env(tmp_path):
    checkout, _ = local_checkout(tmp_path)
    # --check-config loads the application the way a worker does, then exits.
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "opsknowledge.wsgi:application"],
        cwd=checkout,
        env=project_env(DEBUG=None, SECRET_KEY=None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stdout + result.stderr


def test_var_env_is_written_once_and_completed_not_replaced(tmp_path):
    path = tmp_path / "var" / ".env"
    first = localenv.ensure(path)
    assert set(first) == {
        "DEBUG",
        "SECRET_KEY",
        *localenv.DEMO_TOKENS.values(),
        *localenv.DEMO_PASSWORDS.values(),
    }
    assert first["DEBUG"] == "1" and len(first["SECRET_KEY"]) >= 50
    assert path.stat().st_mode & 0o077 == 0  # a secret key and tokens: the owner's only
    path.write_text(path.read_text().replace("DEBUG=1\n", ""))
    again = localenv.ensure(path)
    assert again == first  # what it had is kept; what it lacked is added back


def response_head(url: str, headers: dict | None = None) -> tuple[int, dict]:
    """Status and headers of one GET, redirects not followed (urllib would follow a
    redirect to https:// and fail on the TLS handshake)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        connection.request("GET", parts.path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def test_security_headers_and_cookies_behind_the_https_switch(tmp_path):
    """What a browser gets from a production server behind a TLS proxy: HSTS, nosniff, a
    referrer policy, the CSP on pages, Secure cookies, and a redirect for plain HTTP."""
    env = project_env(
        DEBUG="0",
        HTTPS_ONLY="1",
        SECRET_KEY=LONG_SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path / 'https.sqlite3'}",
    )
    assert manage("migrate", "-v0", env=env, timeout=300).returncode == 0
    flags = manage(
        "shell",
        "-v0",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE,"
        " s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_AGE)",
        env=env,
    ).stdout.split()
    assert flags[:3] == ["True", "True", "True"]
    assert 0 < int(flags[3]) <= 14 * 24 * 3600  # sessions expire
    behind_proxy = {"X-Forwarded-Proto": "https"}
    with gunicorn(env) as base:
        status, headers = response_head(f"{base}/accounts/login/", behind_proxy)
        plain_status, plain_headers = response_head(f"{base}/accounts/login/")
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "Secure" in headers["Set-Cookie"] and "csrftoken" in headers["Set-Cookie"]
    assert plain_status == 301 and plain_headers["Location"].startswith("https://")


def test_without_the_https_switch_only_the_https_warnings_remain(tmp_path):
    env = project_env(
        DEBUG="0",
        SECRET_KEY=LONG_SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path / 'plain.sqlite3'}",
    )
    result = manage("check", "--deploy", env=env)
    warned = set(re.findall(r"\(security\.(W\d+)\)", result.stdout + result.stderr))
    # HSTS, SSL redirect, secure session and CSRF cookies: what HTTPS_ONLY=1 turns on.
    assert warned == {"W004", "W008", "W012", "W016"}, result.stdout + result.stderr
