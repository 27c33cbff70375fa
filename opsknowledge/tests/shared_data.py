"""The real public documents some tests run against: `../shared/data` beside the repository
(README "Real-data tests"). A user's clone has no such folder, so a test that needs it is
skipped, and the run ends with one line saying what was missing and where it comes from
(opsknowledge/tests/fixtures.py). CI always has the folder and sets REQUIRE: there a missing
folder fails instead, so those tests can never pass by not running.

Django-free: the plugin imports this before Django is set up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository, whatever the working directory
LOCATION = "OKB_SHARED_DATA"  # points somewhere else than ../shared/data
REQUIRE = "OKB_REQUIRE_SHARED_DATA"  # 1: missing data fails the run (CI)
MISSING_MARKER = "shared_data_missing"

# What was missing in this run: {path: what}, for the closing line when tests failed.
missing: dict[str, str] = {}


def location() -> Path:
    raw = os.environ.get(LOCATION, "").strip()
    if not raw:
        return ROOT.parent / "shared" / "data"
    return (ROOT / raw).resolve()  # a relative path means relative to the repository too


def required() -> bool:
    return os.environ.get(REQUIRE, "").strip().lower() in {"1", "true", "yes", "on"}


def path(*parts: str) -> Path:
    """Where a part of the data lives; nothing is checked until `require()`."""
    return location().joinpath(*parts)


def _gone(target: Path) -> Path:
    """The outermost missing folder: the whole data folder on a user's clone."""
    base = location()
    if not base.is_dir() or not target.is_relative_to(base):
        return base
    for depth in range(1, len(target.relative_to(base).parts) + 1):
        candidate = base.joinpath(*target.relative_to(base).parts[:depth])
        if not candidate.exists():
            return candidate
    return target


def explain(target: Path, what: str) -> str:
    """The one line a run shows for missing data: what, where it comes from, what to do."""
    gone = _gone(target)
    what = f"{what}, " if gone != location() else ""
    outcome = "failed" if required() else "skipped"
    switch = "is set: missing data fails" if required() else "fails instead of skipping"
    return (
        f"Real-data tests {outcome}: no {gone} ({what}real public documents by others that "
        "the importers are tested against; README, 'Real-data tests'). CI always has it "
        f"beside the repository as ../shared/data; {LOCATION} points elsewhere; "
        f"{REQUIRE}=1 {switch}."
    )


def _absent(what: str, target: Path):
    # One reason for every test when the whole folder is missing (a user's clone), so
    # pytest folds the skips into one line; the plugin gives them one location too.
    missing[str(_gone(target))] = what
    if required():
        pytest.fail(explain(target, what), pytrace=False)
    pytest.skip(explain(target, what))


def is_our_skip(reason: str) -> bool:
    return reason.removeprefix("Skipped: ").startswith("Real-data tests skipped: ")


def require(target: Path, what: str) -> Path:
    """`target` (from `path()`), or skip the calling test, or fail it when REQUIRE is set."""
    if not target.exists():
        _absent(what, target)
    return target


def files(directory: Path, pattern: str, what: str) -> list:
    """Parameters for a test parametrised over data files at collection time. Without the
    folder that list would be empty and the test would silently not exist; instead it is
    one parameter marked missing, which the plugin skips or fails like `require()`."""
    if directory.is_dir():
        found = sorted(p.name for p in directory.glob(pattern))
        if found:
            return found
    mark = getattr(pytest.mark, MISSING_MARKER)(what=what, target=str(directory))
    return [pytest.param(None, marks=mark, id="missing-shared-data")]


def check_item(item):
    """Called by the plugin before each test: act on a `files()` placeholder."""
    marker = item.get_closest_marker(MISSING_MARKER)
    if marker is not None:
        _absent(marker.kwargs["what"], Path(marker.kwargs["target"]))
