"""Administration from the shell."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.models import FailureReport
from opsknowledge.models import Component, Membership, Organisation, Release, Revision
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db


def run(*args, stdin=None, monkeypatch=None):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_organisation_and_add_members(monkeypatch):
    run("create_organisation", "alpen", "--name", "Alpenwolke")
    run("create_organisation", "alpen", "--name", "Alpenwolke")  # again: nothing changes
    with pytest.raises(CommandError, match="exists already \\(Alpenwolke\\); pick another"):
        run("create_organisation", "alpen", "--name", "Alpenwolke GmbH")
    assert Organisation.objects.get().name == "Alpenwolke"
    run("create_organisation", "alpen", "--name", "Alpenwolke GmbH", "--update")
    assert Organisation.objects.get().name == "Alpenwolke GmbH"

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-and-unusual-passphrase\n"))
    run("add_member", "erika", "alpen", "--role", "editor", "--password-stdin")
    erika = get_user_model().objects.get(username="erika")
    assert erika.check_password("a-long-and-unusual-passphrase")
    run("add_member", "erika", "alpen", "--role", "admin")
    assert Membership.objects.get(user=erika).role == "admin"


def test_add_member_refuses_weak_passwords_and_unknown_organisations(monkeypatch):
    run("create_organisation", "alpen", "--name", "Alpenwolke")
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match="Password refused"):
        run("add_member", "erika", "alpen", "--password-stdin")
    assert not get_user_model().objects.filter(username="erika").exists()
    with pytest.raises(CommandError, match="No organisation 'nope'"):
        run("add_member", "erika", "nope")


def test_create_organisation_refuses_bad_slugs():
    with pytest.raises(CommandError, match="Invalid slug"):
        run("create_organisation", "Bad Slug", "--name", "x")
    # Checked by the service's full_clean, as the admin's form checks it: a clear error,
    # not PostgreSQL's DataError (or a 201-character name stored on SQLite).
    with pytest.raises(CommandError, match="Invalid organisation: name: .*at most 200"):
        run("create_organisation", "long", "--name", "x" * 201)
    assert not Organisation.objects.filter(slug="long").exists()


def demo_counts():
    return (
        Organisation.objects.count(),
        Component.objects.count(),
        Release.objects.count(),
        Runbook.objects.count(),
        Practice.objects.count(),
        FailureReport.objects.count(),
        Revision.objects.count(),
    )


def test_load_demo_is_idempotent():
    run("load_demo")
    counts = demo_counts()
    # 10 runbooks + 1 adopted copy, 4 practices, 5 failure reports, 19 release notes:
    # 1 revision each
    assert counts[3:] == (11, 4, 5, 39)
    _, summary = run("load_demo")
    assert demo_counts() == counts
    assert "19 unchanged" in summary
    assert "19 release notes" in summary
    chain = [(r.slug, r.version, str(r.released_on)) for r in Release.objects.in_upgrade_order()]
    assert chain == [
        ("r0", "v1.0.0", "2021-07-15"),
        ("r1", "v2.0.0", "2021-09-29"),
        ("r2", "v3.0.0", "2022-03-23"),
        ("r3", "v4.0.0", "2022-09-21"),
        ("r4", "v5.0.0", "2023-03-22"),
        ("r5", "v6.0.0", "2023-09-20"),
        ("r6", "7.0.0", "2024-03-20"),
        ("r7", "8.0.0", "2024-09-11"),
    ]
    assert Component.objects.get(slug="cluster-api").parent.slug == "kubernetes"


def test_demo_documents_are_ours_and_complete():
    run("load_demo")
    upgrade = Runbook.objects.get(slug="upgrade-r3-to-r4")
    assert (upgrade.upgrade_from.slug, upgrade.upgrade_to.slug) == ("r3", "r4")
    ceph = Runbook.objects.get(organisation__slug="scs", slug="ceph-osd-nearfull")
    assert ceph.get_related_content("alerts") == ["CephOSDFull", "CephOSDNearFull"]
    for runbook in Runbook.objects.filter(upstream_slug=""):
        for section in ("Meaning", "Impact", "Diagnosis", "Mitigation"):
            assert f">{section}</h2>" in runbook.body_html, (runbook.slug, section)
    adopted = Runbook.objects.get(organisation__slug="alpenwolke", slug="ceph-osd-nearfull")
    assert adopted.upstream_organisation == "scs"
    report = FailureReport.objects.get(slug="ceph-full-during-r4-upgrade")
    assert report.time_to_detect == 180 and report.time_to_resolve == 47 * 60
    assert [link.runbook.slug for link in report.runbook_links.all()] == [
        "ceph-osd-nearfull",
        "upgrade-r3-to-r4",
    ]
    assert report.warnings == []


def test_local_instance_demo_tokens_are_stable_and_print_what_to_open(monkeypatch, api):
    from opsknowledge.keys import new_key
    from opsknowledge.models import APIToken

    keys = {"viewer": new_key(), "editor": new_key()}
    monkeypatch.setenv("OKB_DEMO_VIEWER_TOKEN", keys["viewer"])
    monkeypatch.setenv("OKB_DEMO_EDITOR_TOKEN", keys["editor"])
    for _ in range(2):  # every `make run` loads it again
        out, _err = run("load_demo", "--local-instance", "http://127.0.0.1:8000")
    assert APIToken.objects.count() == 2
    for page in ("/", "/search/", "/api/docs/"):
        assert f"http://127.0.0.1:8000{page} " in out
    assert f"viewer of alpenwolke  {keys['viewer']}" in out
    for role, key in keys.items():
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        me = api.get("/api/v1/me/").json()
        assert me["organisations"] == [
            {"slug": "alpenwolke", "name": "Alpenwolke (demo provider)", "role": role}
        ]


def test_local_instance_needs_the_keys_from_var_env(monkeypatch):
    monkeypatch.delenv("OKB_DEMO_VIEWER_TOKEN", raising=False)
    with pytest.raises(CommandError, match="OKB_DEMO_VIEWER_TOKEN is not set"):
        run("load_demo", "--catalogue-only", "--local-instance", "http://127.0.0.1:8000")


def test_demo_accounts_only_when_asked_and_the_deploy_check_warns(settings):
    from django.core import checks

    settings.DEBUG = False
    run("load_demo", "--catalogue-only")
    assert not get_user_model().objects.filter(username__startswith="demo-").exists()
    assert not [
        m for m in checks.run_checks(include_deployment_checks=True) if m.id == "opsknowledge.W001"
    ]
    out, _ = run("load_demo", "--catalogue-only", "--with-demo-accounts")
    viewer = get_user_model().objects.get(username="demo-viewer")
    password = out.split("username demo-viewer  password ")[1].split()[0]
    assert viewer.check_password(password)
    assert viewer.memberships.get().role == "viewer"
    assert get_user_model().objects.get(username="demo-editor").memberships.get().role == "editor"
    warnings = [
        m for m in checks.run_checks(include_deployment_checks=True) if m.id == "opsknowledge.W001"
    ]
    assert len(warnings) == 1 and "demo-editor, demo-viewer" in warnings[0].msg
