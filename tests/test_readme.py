"""README's shell blocks work as pasted: every ```sh block not marked
`<!-- not-run: reason -->` runs, in README order, in one fresh bash shell, after what
`make run` does (var/.env, migrate, load_demo), against a server of its own on a free port
with its own database and var/. The doc-test of this project: an example that stops
working fails here, not on a new user's first day."""

import os
import re
import shutil
import subprocess

import pytest

from opsknowledge import localenv

from .processes import (
    ROOT,
    gunicorn,
    http,
    http_get,
    manage,
    project_env,
    scratch_checkout,
)

BLOCK = re.compile(
    r"(?:<!-- not-run: (?P<reason>[^>]+?) -->\n)?^```(?P<lang>\w*)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
SHELL = {"sh", "bash", "shell", "console"}


def shell_blocks():
    """(line, code, reason not to run or None) of every shell block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for match in BLOCK.finditer(text):
        if match["lang"] in SHELL:
            line = text.count("\n", 0, match.start("code"))
            yield line, match["code"], match["reason"]


def script(blocks) -> str:
    parts = ["set -euo pipefail"]
    for line, code, _ in blocks:
        parts.append(f"echo '=== README.md:{line}'\n{code}")
    return "\n".join(parts) + "\necho '=== done'\n"


def test_every_shell_block_either_runs_or_says_why_not():
    blocks = list(shell_blocks())
    assert len([b for b in blocks if b[2] is None]) >= 8
    for line, _code, reason in blocks:
        assert reason is None or len(reason.split()) >= 2, f"README.md:{line}: give a reason"


@pytest.fixture
def sqlite_pass():
    url = os.environ.get("DATABASE_URL", "")
    if url and not url.startswith("sqlite"):
        pytest.skip("the README doc-test runs in the SQLite pass only (it starts its own server)")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed; README's examples use it (.ci/run installs it)")


def test_readme_shell_blocks_work_as_pasted(sqlite_pass, tmp_path):
    checkout = scratch_checkout(tmp_path)
    # What `make run` writes, plus a database of the test's own (never var/ of the checkout).
    values = localenv.ensure(
        checkout / "var" / ".env", DATABASE_URL=f"sqlite:///{tmp_path / 'readme.sqlite3'}"
    )
    bare = project_env(DEBUG=None, SECRET_KEY=None, DATABASE_URL=None)
    migrated = manage("migrate", "--noinput", env=bare, cwd=checkout)
    assert migrated.returncode == 0, migrated.stderr
    server_env = project_env(
        DEBUG="1", SECRET_KEY=values["SECRET_KEY"], DATABASE_URL=values["DATABASE_URL"]
    )
    with gunicorn(server_env, threads=4) as base:
        loaded = manage("load_demo", "--local-instance", base, env=bare, cwd=checkout)
        assert loaded.returncode == 0, loaded.stderr
        assert f"{base}/api/docs/" in loaded.stdout
        assert values["OKB_DEMO_EDITOR_TOKEN"] in loaded.stdout

        blocks = [block for block in shell_blocks() if block[2] is None]
        # A fresh shell: no settings, no test variables; only where the server is.
        shell_env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "BASE": base,
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc"],
            input=script(blocks),
            cwd=checkout,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        out = result.stdout
        assert result.returncode == 0, f"{out[-3000:]}\n--- stderr:\n{result.stderr[-3000:]}"
        assert out.rstrip().endswith("=== done")

        # What the examples say they do.
        assert '{"status": "ok", "database": "ok"}' in out
        assert "did you mean 'ceph'?" in out
        assert "No release 'r9'." in out
        assert '"ok":true,"files_total":5,"created":5,' in out
        assert "failed (" not in out
        status, _, body = http("GET", f"{base}/api/v1/runbooks/?organisation=fjordcloud")
        slugs = {runbook["slug"] for runbook in body["results"]}
        assert {"neutrondhcpagentdown", "nodenotready", "ceph-osd-full"} <= slugs
        assert (checkout / "out").is_dir()  # the export wrote into the checkout, not ROOT
        # The pages the banner names.
        for page in ("/", "/search/", "/api/docs/"):
            assert http_get(f"{base}{page}")[0] == 200, page
