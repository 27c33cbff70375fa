"""Runbooks as code, on the real prometheus-operator runbooks: import, re-import, prune,
export and round trip, and the same over HTTP as a tar.gz upload."""

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from opsknowledge.models import Component, Organisation, Revision
from opsknowledge.revisions import snapshot
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db

RUNBOOKS = shared_data.path("prometheus-runbooks", "content", "runbooks")
FOLDERS = {
    "kubernetes": 47, "prometheus": 18, "node": 13, "prometheus-operator": 8,
    "alertmanager": 7, "etcd": 7, "general": 4, "kube-state-metrics": 4,
}  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return shared_data.require(RUNBOOKS, "the prometheus-operator runbooks")


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def import_tree(path, *extra, organisation="prom"):
    return run(
        "import_runbooks",
        str(path),
        "--organisation",
        organisation,
        "--visibility",
        "public",
        "--license",
        "Apache-2.0",
        *extra,
    )


@pytest.fixture
def prom(db):
    return OrganisationFactory(slug="prom")


def test_the_108_real_runbooks_import(data, prom):
    output = import_tree(data, "--create-components")
    assert "118 files: 108 created, 0 updated, 0 unchanged, 10 skipped, 0 failed." in output
    assert (
        "PrometheusOperatorSyncFailed: an extensionless duplicate of "
        "PrometheusOperatorSyncFailed.md" in output
    )
    assert output.count("a section page (_index.md)") == 9
    assert "ignored front matter keys: aliases (2 files), weight (100 files)" in output
    runbooks = Runbook.objects.filter(organisation=prom)
    assert runbooks.count() == 108
    by_folder = {slug: runbooks.filter(components__slug=slug).count() for slug in FOLDERS}
    assert by_folder == FOLDERS

    crash = runbooks.get(slug="kubepodcrashlooping")
    assert crash.get_related_content("alerts") == ["KubePodCrashLooping"]
    assert [c.slug for c in crash.components.all()] == ["kubernetes"]
    for section in ("Meaning", "Impact", "Diagnosis", "Mitigation"):
        assert f'id="{section.lower()}">{section}</h2>' in crash.body_html
    assert crash.license == "Apache-2.0" and crash.status == "published"
    assert crash.summary.startswith("Pod is in CrashLoop")
    # No front matter (etcd/): title from the first heading, alert from the file name.
    etcd = runbooks.get(slug="etcdmembersdown")
    assert etcd.title == "etcdMembersDown" or etcd.title.startswith("etcd")
    # The heading and the front matter title disagree: the front matter wins.
    behind = runbooks.get(slug="prometheusremotewritebehind")
    # Its H1 names another alert (upstream's copy-paste): both names are its alerts (issue 12).
    assert sorted(behind.get_related_content("alerts")) == [
        "PrometheusRemoteStorageFailures",
        "PrometheusRemoteWriteBehind",
    ]
    # <details> and Hugo shortcodes survive as readable text.
    assert any("<details>" in r.body_html for r in runbooks)
    assert any("{{&lt; ref" in r.body_html or "{{< ref" in r.body for r in runbooks)


def test_reimporting_an_unchanged_tree_creates_no_revision(data, prom):
    import_tree(data, "--create-components")
    revisions = Revision.objects.count()
    output = import_tree(data, "--create-components")
    assert "0 created, 0 updated, 108 unchanged" in output
    assert Revision.objects.count() == revisions


def test_a_changed_file_becomes_a_new_revision_and_prune_archives(data, prom, tmp_path):
    tree = tmp_path / "runbooks"
    shutil.copytree(data, tree)
    import_tree(tree, "--create-components")
    crash = tree / "kubernetes" / "KubePodCrashLooping.md"
    crash.write_text(crash.read_text() + "\n## Escalation\nPage the platform team.\n")
    (tree / "node" / "NodeClockNotSynchronising.md").unlink()
    output = import_tree(tree, "--create-components", "--prune")
    assert "1 updated, 106 unchanged" in output and "1 pruned" in output
    runbook = Runbook.objects.get(slug="kubepodcrashlooping")
    assert runbook.revision == 2 and "Escalation" in runbook.body_html
    gone = Runbook.objects.get(slug="nodeclocknotsynchronising")
    assert gone.status == "archived"  # archived, never deleted


def test_prune_leaves_documents_that_were_not_imported(data, prom, tmp_path):
    from runbooks.tests.factories import publish

    handwritten = publish(organisation=prom, slug="written-in-the-ui")
    # publish() imports too, so mark it as written over the API instead
    Revision.objects.filter(object_id=handwritten.pk).update(via=Revision.Via.TOKEN)
    import_tree(data, "--create-components", "--prune")
    handwritten.refresh_from_db()
    assert handwritten.status == "published"


def test_dry_run_writes_nothing_and_prints_the_same_summary(data, prom):
    output = import_tree(data, "--create-components", "--dry-run")
    assert "Dry run, nothing written: 118 files: 108 created" in output
    assert not Runbook.objects.exists()
    assert Component.objects.filter(slug="kube-state-metrics").exists() is False


def test_unknown_folders_are_reported_and_import_without_component(data, prom):
    output = import_tree(data)
    assert "folders that name no component" in output and "etcd (7 files)" in output
    assert Runbook.objects.get(slug="etcdmembersdown").components.count() == 0


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_bad_files_are_reported_with_path_line_and_reason(prom, tmp_path, catalogue):
    write(tmp_path / "ceph" / "Good.md", "# Good\n\n## Meaning\nFine.\n")
    write(tmp_path / "ceph" / "BrokenYaml.md", "---\ntitle: x\ncomponents: [ceph\n---\n# X\n")
    write(tmp_path / "ceph" / "Unknown.md", "---\ncomponents: [cepf]\n---\n# X\n")
    write(tmp_path / "ceph" / "BadRelease.md", "---\nreleases: [r99]\n---\n# X\n")
    with pytest.raises(CommandError, match="3 file"):
        import_tree(tmp_path)
    assert list(Runbook.objects.values_list("slug", flat=True)) == ["good"]
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_runbooks",
            str(tmp_path),
            "--organisation",
            "prom",
            stdout=io.StringIO(),
            stderr=output,
        )
    errors = output.getvalue()
    assert "ceph/BrokenYaml.md: line 3: invalid front matter" in errors
    assert "ceph/Unknown.md: unknown component 'cepf'" in errors
    assert "ceph/BadRelease.md: releases: unknown release 'r99'" in errors


def test_front_matter_component_can_be_created(prom, tmp_path):
    write(tmp_path / "KubeThing.md", "---\ncomponents: [swift]\n---\n# Kube thing\n")
    import_tree(tmp_path, "--create-components")
    assert Runbook.objects.get().components.get().slug == "swift"


def test_practices_import_too(prom, tmp_path, catalogue):
    write(tmp_path / "ceph" / "capacity.md", "---\ntitle: Ceph capacity\nalerts: [X]\n---\nBody\n")
    output = run("import_runbooks", str(tmp_path), "--organisation", "prom", "--kind", "practice")
    assert "ignored front matter keys: alerts (1 files)" in output
    practice = Practice.objects.get()
    assert (practice.title, practice.visibility) == ("Ceph capacity", "organisation")


def test_unknown_organisation_is_an_error(data):
    with pytest.raises(CommandError, match="No organisation 'nope'"):
        run("import_runbooks", str(data), "--organisation", "nope")


CONTENT = ("title", "summary", "body", "body_html", "visibility", "status", "license",
           "severity", "upgrade_from_id", "upgrade_to_id", "last_reviewed")  # fmt: skip


def documents_by_slug(organisation):
    """Content by slug; relative links render to the organisation's own pages, so its slug
    in body_html is left out of the comparison."""

    def value(runbook, name):
        found = getattr(runbook, name)
        if name == "body_html":
            return found.replace(f'href="/runbooks/{organisation}/', 'href="/runbooks/-/')
        return found

    return {
        runbook.slug: ({name: value(runbook, name) for name in CONTENT}, snapshot(runbook))
        for runbook in Runbook.objects.filter(organisation__slug=organisation)
    }


def test_export_then_import_into_an_empty_database_round_trips(data, prom, tmp_path):
    import_tree(data, "--create-components")
    Runbook.objects.filter(slug="kubepodcrashlooping").update(last_reviewed="2024-05-01")
    before = documents_by_slug("prom")
    run("export_runbooks", str(tmp_path / "out"), "--organisation", "prom")
    exported = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.md"))
    assert len(exported) == 108
    assert Path("kubernetes/kubepodcrashlooping.md") in exported

    Runbook.objects.all().delete()
    Component.objects.all().delete()
    Organisation.objects.all().delete()
    OrganisationFactory(slug="prom")
    output = run(
        "import_runbooks", str(tmp_path / "out"), "--organisation", "prom", "--create-components"
    )
    assert "108 created" in output and "0 failed" in output
    after = documents_by_slug("prom")
    assert after.keys() == before.keys()
    for slug in before:
        assert after[slug] == before[slug], slug


def tar_gz(path: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(path, arcname="runbooks")
    return buffer.getvalue()


@pytest.fixture
def uploader(token_client, prom):
    return token_client(member(prom, "editor", username="pipeline"), prom)


def test_a_tar_gz_upload_gives_the_same_result_as_the_command(data, uploader, token_client):
    response = uploader.post(
        "/api/v1/import/?visibility=public&license=Apache-2.0",
        tar_gz(data),
        content_type="application/gzip",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["ok"], body["created"], body["skipped"], body["failed"]) == (True, 108, 10, 0)
    assert body["organisation"] == "prom"
    uploaded = documents_by_slug("prom")
    revisions = Revision.objects.filter(object_id__in=Runbook.objects.values("pk"))
    assert set(revisions.values_list("via", flat=True)) == {"import"}
    assert set(revisions.values_list("author__username", flat=True)) == {"pipeline"}

    # The command on the same tree, into another organisation, gives the same documents.
    OrganisationFactory(slug="cmd")
    import_tree(data, organisation="cmd")
    assert documents_by_slug("cmd") == uploaded

    again = uploader.post(
        "/api/v1/import/?visibility=public&license=Apache-2.0",
        tar_gz(data),
        content_type="application/gzip",
    ).json()
    assert (again["unchanged"], again["created"], again["updated"]) == (108, 0, 0)


def test_multipart_zip_upload_with_options(uploader, tmp_path, catalogue):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ceph/CephOSDFull.md", "# Ceph OSD full\n\n## Meaning\nFull.\n")
    buffer.seek(0)
    buffer.name = "runbooks.zip"
    response = uploader.post(
        "/api/v1/import/", {"file": buffer, "dry_run": "true"}, format="multipart"
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1 and response.json()["dry_run"] is True
    assert not Runbook.objects.exists()


def test_upload_errors(uploader, token_client, prom, api, tmp_path):
    assert api.post("/api/v1/import/", b"x", content_type="application/gzip").status_code == 401
    viewer = token_client(member(prom, "viewer", username="reader"), prom)
    assert viewer.post("/api/v1/import/", b"x", content_type="application/gzip").status_code == 403

    bad = uploader.post("/api/v1/import/", b"not an archive", content_type="application/gzip")
    assert bad.status_code == 400
    assert "neither a tar.gz nor a zip" in bad.json()["error"]["fields"]["file"][0]

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("../escape.md")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"# x"))
    escape = uploader.post("/api/v1/import/", buffer.getvalue(), content_type="application/gzip")
    assert escape.status_code == 400
    assert "outside the archive" in escape.json()["error"]["fields"]["file"][0]

    components = uploader.post(
        "/api/v1/import/?create_components=true", tar_gz(tmp_path), content_type="application/gzip"
    )
    assert components.status_code == 403  # the catalogue is staff's

    with override_settings(IMPORT_MAX_BYTES=1000):
        big = uploader.post(
            "/api/v1/import/", b"\x1f\x8b" + b"x" * 5000, content_type="application/gzip"
        )
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    with override_settings(IMPORT_MAX_UNPACKED_BYTES=100):
        write(tmp_path / "a" / "Big.md", "# Big\n" + "x" * 1000)
        bomb = uploader.post("/api/v1/import/", tar_gz(tmp_path), content_type="application/gzip")
    assert bomb.status_code == 413

    bad_option = uploader.post(
        "/api/v1/import/?visibility=secret", tar_gz(tmp_path), content_type="application/gzip"
    )
    assert bad_option.status_code == 400 and "visibility" in bad_option.json()["error"]["fields"]


def test_staff_member_may_create_components_over_the_api(api, prom, tmp_path):
    staff = UserFactory(username="operator", is_staff=True)
    member(prom, "admin", username="operator")
    api.force_authenticate(staff)
    write(tmp_path / "swift" / "SwiftDown.md", "# Swift down\n")
    response = api.post(
        "/api/v1/import/?organisation=prom&create_components=true",
        tar_gz(tmp_path),
        content_type="application/gzip",
    )
    assert response.status_code == 200, response.content
    assert Runbook.objects.get().components.get().slug == "swift"


def test_alert_links_land_on_the_imported_runbook(data, prom, client):
    import_tree(data, "--create-components")
    response = client.get("/r/KubePodCrashLooping")
    assert response.status_code == 302
    assert response["Location"] == "/runbooks/prom/kubepodcrashlooping/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and "KubePodCrashLooping" in page.content.decode()
    # The same runbooks, private to their organisation, are not found by outsiders.
    Runbook.objects.update(visibility="organisation")
    assert client.get("/r/KubePodCrashLooping").status_code == 404
    client.force_login(member(prom, "viewer"))
    assert client.get("/r/KubePodCrashLooping").status_code == 302
