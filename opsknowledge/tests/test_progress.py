"""Progress of long commands: on standard error, as plain lines when that is not a
terminal (a log, CI); standard output keeps only the summary and what scripts parse."""

import io
import re

import pytest
from django.core.management import call_command

from opsknowledge import progress
from opsknowledge.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db

LINE = re.compile(r"^import_runbooks: (\d+)/3 files \((\d+)%\), (\? |[\d.]+ )files/s, \S+ left$")


def tree(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    for name in ("disk-full", "queue-stuck", "cert-expired"):
        (tmp_path / f"{name}.md").write_text(
            f"---\ntitle: {name}\n---\n## Meaning\nm\n\n## Mitigation\nfix\n"
        )
    (tmp_path / "broken.txt").write_text("not a runbook")
    return tmp_path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_an_import_reports_progress_on_stderr_and_keeps_stdout_for_the_summary(tmp_path):
    OrganisationFactory(slug="alpen")
    out, err = run("import_runbooks", str(tree(tmp_path)), "--organisation", "alpen")

    assert out == "3 files: 3 created, 0 updated, 0 unchanged, 0 skipped, 0 failed.\n"
    lines = err.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    # It starts, and it ends with everything done; nothing is drawn over (no \r).
    assert LINE.match(lines[0]).groups()[:2] == ("0", "0")
    assert LINE.match(lines[-1]).groups()[:2] == ("3", "100")
    assert "\r" not in err


def test_plain_lines_come_at_most_every_few_seconds(monkeypatch):
    stream = io.StringIO()
    for _ in progress.progress(range(1000), stream, "rebuild", unit="documents"):
        pass
    # Well under the interval: the opening line and the closing one, nothing between.
    assert stream.getvalue().splitlines() == [
        "rebuild: 0/1000 documents (0%), ? documents/s, ? left",
        stream.getvalue().splitlines()[-1],
    ]
    assert stream.getvalue().splitlines()[-1].startswith("rebuild: 1000/1000 documents (100%), ")

    monkeypatch.setattr(progress, "PLAIN_EVERY_SECONDS", 0)
    stream = io.StringIO()
    for _ in progress.progress(range(3), stream, "rebuild", unit="documents"):
        pass
    counts = [line.split(" (")[0] for line in stream.getvalue().splitlines()]
    assert counts == [f"rebuild: {n}/3 documents" for n in range(4)]


def test_a_line_written_during_progress_goes_to_its_own_stream():
    out, err = io.StringIO(), io.StringIO()
    with progress.Progress(err, "lint", total=2, unit="runbooks") as bar:
        bar.write("alpen/x:\n  missing_section: No 'Meaning' section.", out)
        bar.update(2)
    assert out.getvalue() == "alpen/x:\n  missing_section: No 'Meaning' section.\n"
    assert err.getvalue().splitlines()[-1].startswith("lint: 2/2 runbooks (100%)")


def test_export_and_lint_keep_stdout_for_their_results(tmp_path):
    OrganisationFactory(slug="alpen")
    run("import_runbooks", str(tree(tmp_path / "in")), "--organisation", "alpen")
    out, err = run("export_runbooks", str(tmp_path / "out"), "--organisation", "alpen")
    assert out == f"Exported 3 runbook(s) to {tmp_path / 'out'}.\n"
    assert err.splitlines()[-1].startswith("export_runbooks: 3/3 runbooks (100%)")
    out, err = run("lint_runbooks", "--organisation", "alpen")
    assert out.splitlines()[-1].startswith("3 runbooks, ")
    assert err.splitlines()[-1].startswith("lint_runbooks: 3/3 runbooks (100%)")
