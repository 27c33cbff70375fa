"""Relative links and images of imported runbooks (issue 12, item 7): resolved when
rendering from the stored source path, whatever the import order; the body stays as in the
repository; images link to the repository's raw files; what cannot resolve is dead in lint.
And --prune finds documents by their stored source path."""

import io

import pytest
from django.core.management import call_command

from opsknowledge.tests.factories import OrganisationFactory
from runbooks.lint import lint
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

RAW = "https://raw.githubusercontent.com/example/runbooks/main/alerts"
CEPH_DOWN = """# CephDown

## Mitigation
See [the OSD runbook](../osd/OSDDown.md#mitigation), [the overview](../osd/README.md),
[a section](#mitigation) and [outside](../../docs/guide.md).

![a screenshot](../helpers/screen%20shot.png)
[the hierarchy](../hierarchy/alerts.svg)
[upstream](https://example.org/x.md)
"""
OSD_DOWN = "# OSDDown\n\n## Mitigation\nRestart it.\n"
OSD_README = "# OSD alerts\n\nWhat the OSD alerts have in common: they page.\n"


def run(tree, *args):
    out = io.StringIO()
    call_command(
        "import_runbooks", str(tree), "--organisation", "acme", "--create-components", *args,
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    return out.getvalue()


@pytest.fixture
def tree(tmp_path):
    OrganisationFactory(slug="acme")
    (tmp_path / "ceph").mkdir()
    (tmp_path / "ceph" / "CephDown.md").write_text(CEPH_DOWN)
    return tmp_path


def add_osd(tree):
    (tree / "osd").mkdir()
    (tree / "osd" / "OSDDown.md").write_text(OSD_DOWN)
    (tree / "osd" / "README.md").write_text(OSD_README)


def test_links_to_documents_imported_later_work_and_the_body_stays(tree):
    run(tree)  # OSDDown does not exist yet
    runbook = Runbook.objects.get(slug="cephdown")
    assert runbook.body == CEPH_DOWN
    assert runbook.source_path == "ceph/CephDown.md"
    html = runbook.body_html
    assert 'href="/runbooks/acme/osddown/#mitigation"' in html
    assert 'href="/runbooks/acme/osd/"' in html  # a folder's README takes the folder's name
    assert 'href="#mitigation"' in html
    assert 'href="../../docs/guide.md"' in html  # leaves the tree: as written
    assert 'href="https://example.org/x.md"' in html
    dead = {finding["message"] for finding in lint(runbook) if finding["check"] == "dead_link"}
    assert "'../osd/OSDDown.md#mitigation' links to no document here." in dead

    add_osd(tree)
    output = run(tree)
    assert "1 unchanged" in output and "2 created" in output
    runbook.refresh_from_db()
    dead = {finding["message"] for finding in lint(runbook) if finding["check"] == "dead_link"}
    # Now only what can never resolve is dead: the file outside the tree, and the files of
    # the repository, whose address the import was not given.
    assert dead == {
        "'../../docs/guide.md' links to no document here.",
        "'../helpers/screen%20shot.png' links to no document here.",
        "'../hierarchy/alerts.svg' links to no document here.",
    }
    for finding in lint(runbook):
        assert "OSDDown" not in finding["message"] and "README" not in finding["message"]


def test_images_and_files_link_to_the_raw_repository_with_a_source_url(tree):
    add_osd(tree)
    run(tree, "--source-url", RAW)
    runbook = Runbook.objects.get(slug="cephdown")
    assert runbook.source_url == f"{RAW}/ceph/CephDown.md"
    html = runbook.body_html
    assert f'src="{RAW}/helpers/screen%20shot.png"' in html
    # The SVG is the repository's, never served from here.
    assert f'href="{RAW}/hierarchy/alerts.svg"' in html
    assert 'href="/runbooks/acme/osddown/#mitigation"' in html
    dead = {finding["message"] for finding in lint(runbook) if finding["check"] == "dead_link"}
    assert dead == {"'../../docs/guide.md' links to no document here."}


def test_a_moved_file_keeps_its_document_and_its_links_follow(tree):
    add_osd(tree)
    run(tree)
    # Deeper in its component's folder: the same document, with the same content.
    (tree / "ceph" / "old").mkdir()
    (tree / "ceph" / "CephDown.md").rename(tree / "ceph" / "old" / "CephDown.md")
    assert "0 pruned" in run(tree, "--prune", "--source-url", RAW)
    runbook = Runbook.objects.get(slug="cephdown")
    assert (runbook.source_path, runbook.revision, runbook.status) == (
        "ceph/old/CephDown.md",
        1,  # content unchanged: no revision
        "published",
    )
    # Rendered again from the new place: the image now resolves from ceph/old/.
    assert f'src="{RAW}/ceph/helpers/screen%20shot.png"' in runbook.body_html
    assert 'href="/runbooks/acme/osddown/#mitigation"' in runbook.body_html


def test_prune_archives_a_file_gone_or_now_skipped_by_its_stored_path(tree):
    add_osd(tree)
    (tree / "osd" / "Named.md").write_text("---\nslug: chosen-slug\n---\n# NamedAlert\n")
    run(tree)
    assert Runbook.objects.get(slug="chosen-slug").source_path == "osd/Named.md"
    (tree / "osd" / "Named.md").unlink()
    (tree / "osd" / "README.md").write_text("# OSD\n\n- [down](OSDDown.md)\n")  # links only
    output = run(tree, "--prune")
    assert "2 pruned" in output
    archived = set(Runbook.objects.filter(status="archived").values_list("slug", flat=True))
    assert archived == {"chosen-slug", "osd"}


def test_rendering_everything_again_keeps_the_resolved_links(tree):
    add_osd(tree)
    run(tree, "--source-url", RAW)
    before = Runbook.objects.get(slug="cephdown").body_html
    Runbook.objects.filter(slug="cephdown").update(body_html="stale")
    call_command("render_markdown", "--all", stdout=io.StringIO(), stderr=io.StringIO())
    assert Runbook.objects.get(slug="cephdown").body_html == before


def test_the_api_shows_the_source_read_only(tree, client):
    add_osd(tree)
    run(tree, "--visibility", "public", "--source-url", RAW)
    detail = client.get("/api/v1/runbooks/acme/osddown/").json()
    assert (detail["source_path"], detail["source_url"]) == (
        "osd/OSDDown.md",
        f"{RAW}/osd/OSDDown.md",
    )
    listing = client.get("/api/v1/runbooks/").json()["results"]
    assert "source_path" not in listing[0]  # detail only, like the body
