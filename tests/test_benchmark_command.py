"""`manage.py benchmark` end to end on a tiny data set: it builds the set through the write
services, prints the table at both sizes and the growth, keeps the database when asked, and
`--reuse` measures that kept database again as it is."""

import os
import re

import pytest

from opsknowledge.tests import shared_data

from .processes import manage, project_env

pytestmark = pytest.mark.skipif(
    "sqlite" not in os.environ.get("DATABASE_URL", "sqlite"),
    reason="the benchmark command test runs in the SQLite pass only (it builds its own database)",
)


def test_a_kept_benchmark_database_is_measured_again_by_reuse(tmp_path):
    data = shared_data.require(shared_data.path("postmortems"), "the DFDS postmortems")
    env = project_env(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'okb.sqlite3'}")
    built = manage(
        "benchmark", "--docs", "24", "--small", "12", "--repeat", "2", "--no-render", "--keep",
        "--data", str(data.parent), env=env, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    assert "sqlite, 12 documents (HTTP, ms):" in built.stdout
    assert "sqlite, 24 documents (HTTP, ms):" in built.stdout
    assert "growth 12 -> 24 documents" in built.stdout
    kept = tmp_path / "benchmark.sqlite3"  # beside the configured database
    assert f"kept the database: sqlite:///{kept}" in built.stdout
    assert kept.exists()

    reused = manage(
        "benchmark", "--reuse", str(kept), "--repeat", "2", env=env, timeout=300
    )  # fmt: skip
    assert reused.returncode == 0, reused.stderr[-3000:]
    # runbooks, practices and reports: the size it was built to (release notes aside)
    assert "sqlite, 24 documents (HTTP, ms):" in reused.stdout
    rows = re.findall(r"^/healthz\s+200\s+[\d.]+", reused.stdout, re.MULTILINE)
    assert len(rows) == 1, reused.stdout  # one size measured
    assert re.search(r"^upgrade-path 304\s+304\s", reused.stdout, re.MULTILINE)
    assert kept.exists()  # measured, not dropped
    twice = manage(
        "benchmark", "--reuse", str(kept), str(kept), "--repeat", "2", env=env, timeout=300
    )  # fmt: skip
    assert twice.returncode == 0, twice.stderr[-3000:]
    assert "growth 24 -> 24 documents" in twice.stdout
