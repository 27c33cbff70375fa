"""export_all / import_all: a copy moves everything between instances, and between SQLite
and PostgreSQL, without losing a row, a revision or a microsecond."""

import json
import os
from pathlib import Path

import pytest

from .processes import manage, project_env, scratch_database

SECRET = "backup-test-" + "x" * 48


def other_kind_url(tmp_path) -> str | None:
    """A database of the other kind than the suite's when there is one: PostgreSQL's test
    server for the SQLite pass (CI sets TEST_DATABASE_URL), a file for the PostgreSQL pass."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return f"sqlite:///{tmp_path / 'target.sqlite3'}"
    return None


def run(*command, env):
    result = manage(*command, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def copies_equal(first: Path, second: Path):
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest == json.loads((second / "manifest.json").read_text())
    for name in manifest["counts"]:
        a = json.loads((first / f"{name}.json").read_text())
        b = json.loads((second / f"{name}.json").read_text())
        assert a == b, f"{name} differs after the round trip"
    return manifest


@pytest.fixture
def source(tmp_path):
    """A deployed instance with the demo content, a second revision, a token and an audit
    log; yields its environment."""
    with scratch_database(tmp_path / "source") as url:
        env = project_env(DEBUG="0", SECRET_KEY=SECRET, DATABASE_URL=url)
        run("migrate", "-v0", env=env)
        run("load_demo", "--with-demo-accounts", env=env)
        run("create_token", "demo-editor", "--organisation", "alpenwolke", env=env)
        run(
            "shell",
            "-v0",
            "-c",
            "from opsknowledge import services; from runbooks.models import Runbook\n"
            "r = Runbook.objects.order_by('pk').first()\n"
            "services.document_update(document=r, data={'summary': 'second revision'},"
            " actor=services.Actor.operator(), if_match={r.revision})",
            env=env,
        )
        yield env


@pytest.mark.parametrize("include_secrets", [False, True])
def test_a_round_trip_keeps_every_row_field_by_field(source, tmp_path, include_secrets):
    flags = ["--include-secrets"] if include_secrets else []
    run("export_all", str(tmp_path / "copy"), *flags, env=source)
    target_url = other_kind_url(tmp_path)
    with scratch_database(tmp_path / "target") as same_kind:
        target = project_env(DEBUG="0", SECRET_KEY=SECRET, DATABASE_URL=target_url or same_kind)
        run("migrate", "-v0", env=target)
        imported = run("import_all", str(tmp_path / "copy"), env=target)
        run("export_all", str(tmp_path / "again"), *flags, env=target)
        manifest = copies_equal(tmp_path / "copy", tmp_path / "again")
        counts = manifest["counts"]
        assert (
            counts["runbooks.runbook"] > 0
            and counts["opsknowledge.revision"] > counts["runbooks.runbook"]
        )
        assert counts["opsknowledge.auditevent"] > 0
        assert ("opsknowledge.apitoken" in counts) is include_secrets
        if not include_secrets:
            assert "no usable password" in imported.stdout
        # The search index was rebuilt, and new rows get fresh ids (sequences moved on).
        check = run(
            "shell",
            "-v0",
            "-c",
            "from opsknowledge.models import SearchEntry, Organisation\n"
            "print(SearchEntry.objects.count())\n"
            "new = Organisation.objects.create(slug='after-restore', name='x')\n"
            "others = Organisation.objects.exclude(pk=new.pk)\n"
            "print(new.pk > max(others.values_list('pk', flat=True)))\n"
            "from opsknowledge import stamps\n"
            "from opsknowledge.models import BriefingStamp\n"
            "def key(s): return (s.kind, s.release_id, s.start_pk, s.note_kind,"
            " s.organisation_id, s.visibility, s.count)\n"
            "kept = sorted(map(key, BriefingStamp.objects.all()))\n"
            "print(len(kept), kept == sorted(map(key, stamps.counted())))",
            env=target,
        ).stdout.split()
        assert int(check[0]) > 0 and check[1] == "True"
        # The briefing stamps (not in the copy) count what was imported.
        assert int(check[2]) > 0 and check[3] == "True", check


def test_import_refuses_a_target_that_holds_data_unless_merging(source, tmp_path):
    run("export_all", str(tmp_path / "copy"), env=source)
    refused = manage("import_all", str(tmp_path / "copy"), env=source)
    assert refused.returncode != 0
    assert "not empty" in refused.stderr and "--merge" in refused.stderr


@pytest.mark.django_db
def test_times_are_exported_to_the_microsecond(tmp_path):
    """Django's JSON encoder cuts times to milliseconds: 12:00:00.000123 would come back as
    12:00:00, and a second export would differ from the first (seen as a flaky round trip
    whenever a row's time fell in the first millisecond of a second)."""
    import datetime

    from opsknowledge.backup import export_all
    from opsknowledge.models import AuditEvent

    event = AuditEvent.objects.create(via="command", action="test.precision")
    moment = datetime.datetime(2026, 1, 2, 12, 0, 0, 123, tzinfo=datetime.UTC)
    AuditEvent.objects.filter(pk=event.pk).update(created=moment)
    export_all(tmp_path / "copy")
    rows = json.loads((tmp_path / "copy" / "opsknowledge.auditevent.json").read_text())
    (row,) = [row for row in rows if row["pk"] == event.pk]
    assert row["fields"]["created"] == "2026-01-02T12:00:00.000123+00:00"
