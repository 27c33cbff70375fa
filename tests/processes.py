"""Run the project as a user would: manage.py and gunicorn in their own processes."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_env(**overrides) -> dict:
    """The current environment without test-only settings, plus `overrides`.
    Throttling is off unless a test turns it on: every request of a test comes from
    127.0.0.1, so the fuzzer and the README's examples would share one anonymous allowance."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DJANGO_SETTINGS_MODULE"] = "opsknowledge.settings"
    env.setdefault("THROTTLE_ENABLED", "0")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def python(*args, env: dict, input: str | None = None, timeout=120, cwd=ROOT):
    """This interpreter in its own process, with `args`, in `cwd`; output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def manage(*args, env: dict, input: str | None = None, timeout=120, cwd=ROOT):
    return python("manage.py", *args, env=env, input=input, timeout=timeout, cwd=cwd)


# The commands prepare_instance() runs, in one process: each manage.py start costs about a
# second and a half, which tests that serve a fresh database pay before their first request.
PREPARE_INSTANCE = """
import io, sys
import django
django.setup()
from django.core.management import call_command
organisation, name, editor = sys.argv[1:]
quiet = io.StringIO()
call_command("migrate", "-v0")
call_command("load_demo", "--catalogue-only", stdout=quiet)
call_command("create_organisation", organisation, "--name", name, stdout=quiet)
call_command("add_member", editor, organisation, "--role", "editor", stdout=quiet)
token = io.StringIO()
call_command("create_token", editor, "--organisation", organisation, stdout=token)
print(token.getvalue().strip())
"""


def prepare_instance(env: dict, organisation: str, name: str, editor="pipeline", timeout=300):
    """Make the database `env` names an instance as tests serve it: migrated, with the demo
    catalogue, `organisation` and its editor `editor`. Returns the editor's API token."""
    result = python("-c", PREPARE_INSTANCE, organisation, name, editor, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def scratch_checkout(tmp_path) -> Path:
    """The working copy as a user has it, but with a `var/` of its own: manage.py copied (it
    reads the var/.env beside itself), everything else linked. Commands run there as a
    user runs them, without touching the developer's var/ (database, var/.env)."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {"var", "manage.py", ".git"}:
            (checkout / entry.name).symlink_to(entry)
    shutil.copy(ROOT / "manage.py", checkout / "manage.py")
    (checkout / "var").mkdir()
    return checkout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict, startup_timeout=30, workers=1, threads=1, cwd=ROOT, log=None):
    """Serve the project with gunicorn on a free loopback port; yields the base URL.
    `log`: a file for its output, for long runs (nobody reads the pipe until it exits, and
    a full pipe blocks the workers' logging, and so every request)."""
    with gunicorn_process(env, startup_timeout, workers, threads, cwd, log) as (base, _):
        yield base


@contextlib.contextmanager
def gunicorn_process(env: dict, startup_timeout=30, workers=1, threads=1, cwd=ROOT, log=None):
    """gunicorn() that also yields the master process (fault tests signal its workers)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "opsknowledge.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "30",
        ],
        cwd=cwd,
        env=env,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited: {process.stdout.read() if log is None else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start in time") from None
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def http_get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextlib.contextmanager
def scratch_database(tmp_path):
    """A fresh, empty database of the kind the suite runs on (DATABASE_URL): an SQLite file,
    or a new database on the same PostgreSQL server, dropped afterwards. For tests that run
    the project in other processes, which cannot see the test run's own transactions."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "sqlite:///:memory:")
    config = dj_database_url.parse(url)
    if "sqlite" in config["ENGINE"]:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    import psycopg

    name = f"opsknowledge_scratch_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = url.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    """One JSON request; returns (status, headers, parsed JSON or None)."""
    import json

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, head, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, raw = error.code, dict(error.headers), error.read()
    return status, head, json.loads(raw) if raw else None
