"""Importers commit up to FILES_PER_TRANSACTION files per transaction (one WAL flush per
batch, not per file) with a savepoint per file: a file that fails, even on a database
error that aborts the statement, rolls back only itself (issue "Fast at scale")."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from opsknowledge import importing
from opsknowledge.search import index as search_index
from opsknowledge.tests.factories import OrganisationFactory
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db(transaction=True)


def write_tree(root: Path, names):
    for name in names:
        (root / f"{name}.md").write_text(f"# {name}\n\n## Meaning\nAbout {name}.\n")


def test_a_failing_file_rolls_back_alone_and_files_commit_in_batches(
    tmp_path, monkeypatch, catalogue
):
    OrganisationFactory(slug="prom")
    names = ["AlphaDown", "BravoDown", "CharlieDown", "DeltaDown", "EchoDown"]
    write_tree(tmp_path, names)
    monkeypatch.setattr(importing, "FILES_PER_TRANSACTION", 2)
    update = search_index.update

    def failing_update(document, content):
        if document.slug == "charliedown":
            # A real database error after the document's row was written: the statement
            # aborts the transaction, which only the file's savepoint can recover.
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        return update(document, content)

    monkeypatch.setattr(search_index, "update", failing_update)
    commits = []
    commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: (commits.append(1), commit())[1])
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(Exception, match="1 file"):
        call_command(
            "import_runbooks", str(tmp_path), "--organisation", "prom", stdout=out, stderr=err
        )
    assert "failed: CharlieDown.md" in err.getvalue()
    assert sorted(Runbook.objects.values_list("slug", flat=True)) == [
        "alphadown",
        "bravodown",
        "deltadown",
        "echodown",
    ]
    # Five files, two per transaction: three commits, not five.
    assert len(commits) == 3
