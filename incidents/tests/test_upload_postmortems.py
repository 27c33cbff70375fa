"""`POST /api/v1/import/?kind=incident`: an archive of Markdown postmortems, imported by the
importer `import_incidents` runs (issue 12), with one answer per file; and --prune by the
stored source path."""

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.models import FailureReport
from opsknowledge.revisions import snapshot
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory, member

pytestmark = pytest.mark.django_db

DATA = shared_data.path("postmortems", "dfds__postmortems")


def tar_gz(path: Path, *, links=()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(path, arcname="postmortems")
        for name, target in links:
            info = tarfile.TarInfo(f"postmortems/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def by_slug(organisation):
    return {
        report.slug: (snapshot(report), report.source_path)
        for report in FailureReport.objects.filter(organisation__slug=organisation)
    }


@pytest.fixture
def dfds(db):
    return OrganisationFactory(slug="dfds")


@pytest.fixture
def uploader(token_client, dfds):
    return token_client(member(dfds, "editor", username="pipeline"), dfds)


def test_a_postmortem_archive_imports_as_the_command_does(uploader):
    data = shared_data.require(DATA, "the DFDS postmortems")
    response = uploader.post(
        "/api/v1/import/?kind=incident&visibility=public",
        tar_gz(data, links=[("passwd.md", "/etc/passwd")]),
        content_type="application/gzip",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["ok"], body["created"], body["skipped"], body["failed"]) == (
        "incident",
        True,
        39,
        4,
        0,
    )
    files = {record["file"]: record for record in body["files"]}
    assert files["passwd.md"] == {
        "file": "passwd.md",
        "outcome": "skipped",
        "note": "a symbolic link; links are not followed",
    }
    assert files["README.md"]["note"] == "the folder's README, not a report"
    uploaded = by_slug("dfds")

    OrganisationFactory(slug="cmd")
    call_command(
        "import_incidents", str(data), "--organisation", "cmd", "--visibility", "public",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert by_slug("cmd") == uploaded

    again = uploader.post(
        "/api/v1/import/?kind=incident&visibility=public",
        tar_gz(data),
        content_type="application/gzip",
    ).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 39)


def test_a_zip_upload_answers_per_file_with_a_reason(uploader):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.md", "# Outage\n## Summary\nDown.\n## Contributing Factors\n- x\n")
        archive.writestr("bad.md", "---\ntitle: [a, b]\n---\n## Summary\nx\n")
        archive.writestr("old/nested.md", "# Old\n## Summary\nx\n")
        archive.writestr("notes.txt", "not markdown")
    response = uploader.post(
        "/api/v1/import/?kind=incident",
        {"file": io.BytesIO(buffer.getvalue())},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    outcomes = {record["file"]: (record["outcome"], record["note"]) for record in body["files"]}
    assert outcomes["good.md"][0] == "created"
    assert outcomes["bad.md"] == ("failed", "front matter 'title' must be text, not list")
    assert outcomes["old/nested.md"][0] == "skipped" and "subfolder" in outcomes["old/nested.md"][1]
    assert outcomes["notes.txt"][0] == "skipped"
    assert body["ok"] is False
    assert FailureReport.objects.get().source_path == "good.md"


def test_in_review_is_a_status_of_reports_only(uploader):
    response = uploader.post(
        "/api/v1/import/?status=in_review", b"x", content_type="application/gzip"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "status": ["in_review is a status of failure reports only."]
    }


REPORT = "# {title}\n## Summary\nDown.\n## Contributing Factors\n- a cause\n"


def command(folder, *args):
    out = io.StringIO()
    call_command(
        "import_incidents", str(folder), "--organisation", "dfds", *args,
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return out.getvalue()


def test_prune_archives_by_the_stored_source_path(dfds, tmp_path):
    (tmp_path / "a.md").write_text(REPORT.format(title="A"))
    # The slug comes from front matter: pruning by slug would not find its file.
    (tmp_path / "b.md").write_text("---\nslug: second\n---\n" + REPORT.format(title="B"))
    (tmp_path / "c.md").write_text(REPORT.format(title="C"))
    command(tmp_path)
    assert dict(FailureReport.objects.values_list("slug", "source_path")) == {
        "a": "a.md",
        "second": "b.md",
        "c": "c.md",
    }
    (tmp_path / "b.md").unlink()
    (tmp_path / "c.md").write_text("")  # now skipped: "an empty file"
    (tmp_path / "a.md").rename(tmp_path / "a-moved.md")
    (tmp_path / "a-moved.md").write_text("---\nslug: a\n---\n" + REPORT.format(title="A"))
    output = command(tmp_path, "--prune")
    assert "2 pruned" in output
    status = dict(FailureReport.objects.values_list("slug", "status"))
    assert status == {"a": "published", "second": "archived", "c": "archived"}
    # A moved file is the same document: its new path is stored, without a new revision.
    moved = FailureReport.objects.get(slug="a")
    assert (moved.source_path, moved.revision) == ("a-moved.md", 1)
