"""Importing repositories nobody here has seen, faithfully (issue 12): each class of problem
on a small tree made in the test, through the command and through `POST /api/v1/import/`
alike, which must agree."""

import io
import os
import tarfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from opsknowledge.importing import license_of_text
from opsknowledge.models import Component, License
from opsknowledge.references import slug_from_file_name
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from runbooks.lint import lint
from runbooks.models import Runbook
from runbooks.tests.test_runbooks_as_code import documents_by_slug

pytestmark = pytest.mark.django_db

APACHE = "                                 Apache License\n    Version 2.0, January 2004\n"


def write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def command(tree, organisation="cmd", *extra):
    out = io.StringIO()
    args = ["import_runbooks", str(tree), "--organisation", organisation, "--visibility", "public"]
    try:
        call_command(*args, *extra, stdout=out, stderr=out)
    except CommandError as error:
        out.write(f"CommandError: {error}\n")
    return out.getvalue()


def tar_gz(tree, top="repository") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(tree, arcname=top)  # symbolic links go in as links
    return buffer.getvalue()


@pytest.fixture
def both(api, catalogue):
    """Import `tree` with the command into "cmd" and as an upload into "up" (as a staff
    member, who may create components); assert they agree; return the command's output."""
    OrganisationFactory(slug="cmd")
    up = OrganisationFactory(slug="up")
    staff = UserFactory(username="operator", is_staff=True)
    member(up, "admin", username="operator")
    api.force_authenticate(staff)

    def run(tree, *extra, top="repository"):
        output = command(tree, "cmd", *extra)
        query = "&create_components=true" if "--create-components" in extra else ""
        response = api.post(
            f"/api/v1/import/?organisation=up&visibility=public{query}",
            tar_gz(tree, top),
            content_type="application/gzip",
        )
        assert response.status_code == 200, response.content
        upload = response.json()
        for record in upload["files"]:
            assert f"{record['outcome']}: {record['file']}" in output or (
                record["outcome"] in ("created", "updated", "unchanged") and not record["note"]
            ), record
        assert documents_by_slug("up") == documents_by_slug("cmd")
        return output, upload

    return run


def outcomes(upload) -> dict:
    return {record["file"]: (record["outcome"], record["note"]) for record in upload["files"]}


# -- 1. security ----------------------------------------------------------------------------


def test_links_are_skipped_and_owners_files_are_not_documents(both, tmp_path):
    secret = write(tmp_path / "outside" / "secret.md", "# Secret\n\nroot:x:0:0\n")
    tree = tmp_path / "tree"
    write(tree / "ceph" / "CephDown.md", "# CephDown\n\n## Meaning\nDown.\n")
    os.symlink(secret, tree / "ceph" / "x.md")
    os.symlink(secret.parent, tree / "elsewhere")
    write(
        tree / "ceph" / "OWNERS",
        "# See the OWNERS docs: https://example.org\n\napprovers:\n  - alice\n",
    )
    write(tree / "ceph" / "Notes v1.2 upgrade", "# Notes on 1.2\n\nUpgrade the monitors first.\n")
    output, upload = both(tree)
    assert outcomes(upload)["ceph/x.md"] == ("skipped", "a symbolic link; links are not followed")
    assert "skipped: elsewhere: a symbolic link" in output
    assert "OWNERS" not in output
    assert sorted(
        Runbook.objects.filter(organisation__slug="cmd").values_list("slug", flat=True)
    ) == [
        "cephdown",
        "notes-v1-2-upgrade",
    ]
    assert not Runbook.objects.filter(body__contains="root:x").exists()


# -- 2. one size limit for every path --------------------------------------------------------


def test_an_oversized_file_fails_with_the_apis_message(both, tmp_path, api):
    tree = tmp_path / "tree"
    write(tree / "ceph" / "Huge.md", "# Huge\n\n" + "x" * (5 * 1024 * 1024))
    write(tree / "ceph" / "Small.md", "# Small\n\nFine.\n")
    output, upload = both(tree)
    response = api.put(
        "/api/v1/runbooks/up/huge/",
        {"title": "Huge", "body": "x" * (100 * 1024)},
        format="json",
        HTTP_IF_NONE_MATCH="*",
    )
    assert response.status_code == 400
    # "... at most 64 KiB in all; this one has N KiB.": the same words, its own size.
    message = response.json()["error"]["fields"]["body"][0].split(";")[0]
    outcome, note = outcomes(upload)["ceph/Huge.md"]
    assert outcome == "failed" and message in note and message in output
    assert upload["created"] == 1


# -- 3. lost documents ------------------------------------------------------------------------


def test_slugs_readmes_duplicates_and_empty_files(both, tmp_path):
    assert slug_from_file_name("pg_repack.md") == "pg-repack"
    assert slug_from_file_name("KubePodCrashLooping.md") == "kubepodcrashlooping"
    assert slug_from_file_name("Notes v1.2 upgrade") == "notes-v1-2-upgrade"
    tree = tmp_path / "tree"
    write(tree / "README.md", "# Our runbooks\n\nThe repository's front page.\n")
    write(tree / "ceph" / "pg_repack.md", "# Repacking\n\nRun pg_repack.\n")
    write(tree / "ceph" / "README.md", "# Ceph\n\n- [pg_repack](pg_repack.md)\n- [x](x.md)\n")
    write(
        tree / "nova" / "index.md",
        "# Nova\n\nHow we run Nova.\n\nSee [repack](../ceph/pg_repack.md).\n",
    )
    write(tree / "nova" / "Empty.md", "")
    write(tree / "a-operator" / "KubeAPIDown.md", "# KubeAPIDown\n\nThe API is down.\n")
    write(tree / "b-operator" / "KubeAPIDown.md", "# KubeAPIDown\n\nThe API is down too.\n")
    write(tree / "nova" / "NovaDown", "# NovaDown\n\nExtensionless twin.\n")
    write(tree / "nova" / "NovaDown.md", "# NovaDown\n\nThe real one.\n")
    output, upload = both(tree, "--create-components")
    files = outcomes(upload)
    assert files["README.md"] == ("skipped", "the repository's README, not a runbook")
    assert files["ceph/README.md"] == (
        "skipped",
        "a folder overview with nothing but headings and links",
    )
    assert files["nova/Empty.md"] == ("skipped", "an empty file")
    assert files["nova/NovaDown"][0] == "skipped" and "duplicate of NovaDown.md" in output
    assert files["b-operator/KubeAPIDown.md"] == (
        "created",
        "slug 'kubeapidown' is taken by a-operator/KubeAPIDown.md; "
        "imported as 'b-operator-kubeapidown'",
    )
    runbooks = Runbook.objects.filter(organisation__slug="cmd")
    assert sorted(runbooks.values_list("slug", flat=True)) == [
        "b-operator-kubeapidown", "kubeapidown", "nova", "novadown", "pg-repack",
    ]  # fmt: skip
    for slug in ("kubeapidown", "b-operator-kubeapidown"):
        assert runbooks.get(slug=slug).get_related_content("alerts") == ["KubeAPIDown"]
    # lint derives the linked slug as the importer does: the link is not dead.
    nova = runbooks.get(slug="nova")
    assert nova.title == "Nova"
    assert not [f for f in lint(nova) if f["check"] == "dead_link"]
    # The same on every run.
    again = command(tree, "cmd", "--create-components")
    assert "0 created, 0 updated, 5 unchanged" in again


def test_prune_archives_documents_whose_file_is_now_skipped(catalogue, tmp_path):
    OrganisationFactory(slug="cmd")
    tree = tmp_path / "tree"
    write(tree / "ceph" / "Old.md", "# Old\n\nStill here.\n")
    write(tree / "ceph" / "Kept.md", "# Kept\n\nFine.\n")
    command(tree)
    write(tree / "ceph" / "Old.md", "")  # now an empty file: skipped
    write(tree / "ceph" / "Kept.md", "---\ntitle: [a\n---\n# Kept\n")  # now failing
    output = command(tree, "cmd", "--prune")
    assert "skipped: ceph/Old.md: an empty file" in output and "1 pruned" in output
    statuses = dict(Runbook.objects.values_list("slug", "status"))
    # A file that fails keeps its document: it is broken, not gone.
    assert statuses == {"old": "archived", "kept": "published"}


# -- 4. titles and summaries ------------------------------------------------------------------


def test_titles_and_summaries_are_plain_text(both, tmp_path):
    tree = tmp_path / "tree"
    write(
        tree / "ceph" / "pg_repack.md",
        "[[_TOC_]]\n\n[![build](https://ci/badge.svg)](https://ci)\n\n## Table of Contents\n\n"
        "- [Reason](#reason)\n\n## Reason\n\n"
        "Use **pg_repack** with `--no-order`, see [docs](x.md).\n",
    )
    write(
        tree / "ceph" / "Sidekiq.md",
        "# [`SidekiqQueueTooLarge`](../x.yml)\n\n**Table of Contents**\n\nQueues grow.\n",
    )
    write(tree / "ceph" / "Listed.md", "---\ntitle: [a, b]\n---\n# Listed\n")
    output, upload = both(tree)
    repack = Runbook.objects.get(organisation__slug="cmd", slug="pg-repack")
    assert repack.title == "pg repack"
    assert repack.summary == "Use pg_repack with --no-order, see docs."
    sidekiq = Runbook.objects.get(organisation__slug="cmd", slug="sidekiq")
    assert (sidekiq.title, sidekiq.summary) == ("SidekiqQueueTooLarge", "Queues grow.")
    outcome, note = outcomes(upload)["ceph/Listed.md"]
    assert outcome == "failed" and "'title' must be text" in note


# -- 5. alert names ---------------------------------------------------------------------------


def test_alert_names_from_file_name_and_heading(both, tmp_path, client):
    tree = tmp_path / "tree"
    write(tree / "etcd-operator" / "etcdNoLeader.md", "# etcdNoLeader\n\nNo leader.\n")
    write(tree / "mco" / "MachineConfigDaemonRebootError.md", "# MCDRebootError\n\nReboots.\n")
    write(tree / "mco" / "OldAlert.md", "# OldAlert [Deprecated]\n\nGone soon.\n")
    write(tree / "mco" / "diagnosis.md", "# Diagnosis\n\nLook.\n")
    write(tree / "mco" / "SomeSentence.md", "# Naming schemas\n\nNot an alert.\n")
    write(tree / "ocs" / "helpers" / "checkOperator.md", "# OCS operator diagnosis\n\nCheck.\n")
    write(tree / "ocs" / "helpers" / "gatherLogs.md", "Gather them.\n")
    both(tree, "--create-components")
    alerts = {
        r.slug: sorted(r.get_related_content("alerts"))
        for r in Runbook.objects.filter(organisation__slug="cmd")
    }
    assert alerts == {
        "etcdnoleader": ["etcdNoLeader"],
        "machineconfigdaemonrebooterror": ["MCDRebootError", "MachineConfigDaemonRebootError"],
        "oldalert": ["OldAlert"],
        "diagnosis": [],
        "somesentence": [],
        "checkoperator": [],
        "gatherlogs": [],
    }
    old = Runbook.objects.get(organisation__slug="cmd", slug="oldalert")
    assert old.title == "OldAlert" and "deprecated" in old.tags.values_list("slug", flat=True)
    Runbook.objects.filter(organisation__slug="up").delete()
    for name in (
        "etcdNoLeader",
        "ETCDNOLEADER",
        "MCDRebootError",
        "MachineConfigDaemonRebootError",
    ):
        assert client.get(f"/r/{name}").status_code == 302, name
    assert client.get("/r/diagnosis").status_code == 404


# -- 6. components ----------------------------------------------------------------------------


def test_the_component_is_the_nearest_catalogue_folder(both, tmp_path):
    tree = tmp_path / "alerts"
    write(tree / "ceph" / "helpers" / "cephCLI.md", "# How to run ceph\n\nRun it.\n")
    write(tree / "my-operator" / "hierarchy" / "README.md", "# Hierarchy\n\nHow alerts relate.\n")
    write(tree / "my-operator" / "hierarchy" / "graph.dot", "digraph {}\n")
    write(tree / "my-operator" / "screenshots" / "a.png", "png")
    write(tree / "TopLevel.md", "# TopLevel\n\nAt the top.\n")
    both(tree, "--create-components", top="alerts")
    components = {
        r.slug: [c.slug for c in r.components.all()]
        for r in Runbook.objects.filter(organisation__slug="cmd")
    }
    assert components == {"cephcli": ["ceph"], "hierarchy": ["my-operator"], "toplevel": []}
    for folder in ("alerts", "helpers", "hierarchy", "screenshots"):
        assert not Component.objects.filter(slug=folder).exists(), folder


# -- 8. licence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, spdx",
    [
        (APACHE, "Apache-2.0"),
        ("MIT License\n\nPermission is hereby granted, free of charge, to any person", "MIT"),
        ("Redistribution and use in source and binary forms, with or without", "BSD-2-Clause"),
        ("Redistribution and use in source and binary forms. 3. Neither the name", "BSD-3-Clause"),
        ("Mozilla Public License Version 2.0\n==================================", "MPL-2.0"),
        ("GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\nTERMS AND CONDITIONS\n"
         "either version 3 of the License, or (at your option) any later version.", "GPL-3.0-only"),
        ("This program is free software: either version 2 of the License, or (at your option)"
         " any later version.\n\nGNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991\n"
         "TERMS AND CONDITIONS", "GPL-2.0-or-later"),
        ("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007\nTERMS AND CONDITIONS",
         "AGPL-3.0-only"),
        ("Attribution-ShareAlike 4.0 International\n=====", "CC-BY-SA-4.0"),
        ("Attribution 4.0 International\n=====", "CC-BY-4.0"),
        ("CC0 1.0 Universal\n\nStatement of Purpose", "CC0-1.0"),
        ("All rights reserved.", None),
    ],
)  # fmt: skip
def test_licence_texts_are_recognised(text, spdx):
    assert license_of_text(text) == spdx
    assert spdx is None or spdx in License.values


def test_the_repositorys_licence_applies(both, tmp_path):
    repository = tmp_path / "repository"
    write(repository / "LICENSE", APACHE)
    write(repository / "alerts" / "ceph" / "CephDown.md", "# CephDown\n\nDown.\n")
    write(repository / "alerts" / "ceph" / "Own.md", "---\nlicense: CC0-1.0\n---\n# Own\n\nMine.\n")
    output = command(repository / "alerts", "cmd", "--license", "MIT")
    assert "note: licence Apache-2.0 from ../LICENSE" in output
    licences = dict(Runbook.objects.values_list("slug", "license"))
    assert licences == {"cephdown": "Apache-2.0", "own": "CC0-1.0"}
    # An upload looks in the archive, never above it.
    OrganisationFactory(slug="elsewhere")
    Runbook.objects.all().delete()
    _output, upload = both(repository)
    assert "licence Apache-2.0 from LICENSE" in upload["notes"]
    assert Runbook.objects.get(organisation__slug="up", slug="cephdown").license == "Apache-2.0"
    write(tmp_path / "bare" / "ceph" / "CephDown.md", "# CephDown\n\nDown.\n")
    assert "note: licence MIT (--license; no LICENSE or COPYING file found)" in command(
        tmp_path / "bare", "elsewhere", "--license", "MIT"
    )


# -- 10. round trip ---------------------------------------------------------------------------


def test_crlf_is_stored_as_lf_and_reimporting_it_is_no_new_revision(both, tmp_path):
    tree = tmp_path / "tree"
    (tree / "ceph").mkdir(parents=True)
    (tree / "ceph" / "CephDown.md").write_bytes(b"# CephDown\r\n\r\n## Meaning\r\nDown.\r\n")
    both(tree)
    runbook = Runbook.objects.get(organisation__slug="cmd")
    assert runbook.body == "# CephDown\n\n## Meaning\nDown.\n"
    (tree / "ceph" / "CephDown.md").write_bytes(runbook.body.encode())
    assert "1 unchanged" in command(tree)
    runbook.refresh_from_db()
    assert runbook.revision == 1
