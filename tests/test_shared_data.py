"""Real-data tests on a clone without ../shared/data: skipped with one line saying what is
missing, and failed instead when OKB_REQUIRE_SHARED_DATA=1 (as CI sets it). Runs pytest in
its own process on two such tests: one that needs the data in a fixture, and one
parametrised over the data files when it is collected."""

import os
import subprocess
import sys

from opsknowledge.tests import shared_data

from .processes import ROOT

TESTS = [
    "runbooks/tests/test_lint.py::test_the_command_on_the_real_runbooks",
    "incidents/tests/test_import_postmortems.py::test_every_report_parses_without_losing_its_text",
]


def run_pytest(tmp_path, **env):
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OKB_")},
        # Its own in-memory database: never the outer run's test database.
        "DATABASE_URL": "sqlite:///:memory:",
        shared_data.LOCATION: str(tmp_path / "no-shared-data"),
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout


def test_missing_data_skips_with_one_line(tmp_path):
    code, out = run_pytest(tmp_path)
    assert code == 0, out
    lines = [line for line in out.splitlines() if "Real-data tests" in line]
    assert lines == [
        "SKIPPED [2] opsknowledge/tests/shared_data.py: Real-data tests skipped: no "
        f"{tmp_path / 'no-shared-data'} (real public documents by others that the importers "
        "are tested against; README, 'Real-data tests'). CI always has it beside the "
        "repository as ../shared/data; OKB_SHARED_DATA points elsewhere; "
        "OKB_REQUIRE_SHARED_DATA=1 fails instead of skipping."
    ], out
    assert "2 skipped" in out and "passed" not in out


def test_missing_data_fails_when_required(tmp_path):
    code, out = run_pytest(tmp_path, **{shared_data.REQUIRE: "1"})
    assert code == 1, out
    assert "1 failed" in out and "1 error" in out, out  # the parametrised one fails in setup
    # The explanation closes the run, just above the counts.
    assert out.splitlines()[-2].startswith("Real-data tests failed: no "), out
    assert "skipped" not in out
