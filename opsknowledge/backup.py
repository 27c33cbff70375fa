"""A portable copy of an instance: everything it holds, as JSON, between instances and between
SQLite and PostgreSQL (`export_all DIR`, `import_all DIR`).

What a copy holds: users, organisations and memberships, the catalogue, documents of every
kind with their relations and every revision, release notes, tags, the audit log. Primary
keys, revision numbers and timestamps are kept. References to content types and users are
written by natural key (app and model; user name), since their ids differ between
instances. Left out, and rebuilt on import: the search index and the briefing stamps. Left
out unless `include_secrets`: password hashes (users come back with unusable passwords) and
API tokens (a token's digest is the secret: without it a token is nothing).

One file per model, in dependency order, plus `manifest.json` with the counts, the format
version and whether secrets are included.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from . import stamps

FORMAT = 1
MANIFEST = "manifest.json"
# Apps whose models a copy holds (every model of them unless excluded below).
APPS = ("auth", "taggit", "opsknowledge", "runbooks", "incidents", "releases")
# Rebuilt from the rest, or not data at all.
EXCLUDED = {
    "auth.permission",  # created by migrate
    "opsknowledge.searchentry",
    "opsknowledge.searchword",
    "opsknowledge.briefingstamp",  # counted again on import (stamps.recount)
}
SECRET_MODELS = {"opsknowledge.apitoken"}
UNUSABLE_PASSWORD = "!"  # what Django's set_unusable_password() starts with


class BackupError(Exception):
    pass


class ExactEncoder(DjangoJSONEncoder):
    """Times to the microsecond (Django's encoder cuts them to milliseconds): a restored
    document's `updated`, and what is derived from it, stays exactly what it was."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        return super().default(o)


def label(model) -> str:
    return model._meta.label_lower


def models_in_order() -> list:
    """The models a copy holds, each after the models it refers to."""
    chosen = [
        model
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        if label(model) not in EXCLUDED
    ]
    return serializers.sort_dependencies([(None, chosen)], allow_cycles=True)


def export_all(directory: Path, *, include_secrets: bool = False, progress=None) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    # One snapshot: REPEATABLE READ on PostgreSQL would be stricter; a single transaction
    # keeps related rows of one write together on both databases.
    with transaction.atomic():
        for model in models_in_order():
            name = label(model)
            if name in SECRET_MODELS and not include_secrets:
                continue
            objects = model._default_manager.order_by("pk")
            rows = json.loads(
                serializers.serialize(
                    "json", objects.iterator(), use_natural_foreign_keys=True, cls=ExactEncoder
                )
            )
            if model is get_user_model() and not include_secrets:
                for row in rows:
                    row["fields"]["password"] = UNUSABLE_PASSWORD
            (directory / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False))
            counts[name] = len(rows)
            if progress:
                progress(name, len(rows))
    manifest = {"format": FORMAT, "include_secrets": include_secrets, "counts": counts}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def holds_data() -> list[str]:
    """What the target already holds (models with rows), besides what migrate creates."""
    found = []
    for model in models_in_order():
        if model._default_manager.exists():
            found.append(label(model))
    return found


def import_all(directory: Path, *, merge: bool = False, progress=None) -> dict:
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{directory} holds no {MANIFEST}: not a copy made by export_all.")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"copy format {manifest.get('format')!r}; this version reads {FORMAT}.")
    if not merge:
        present = holds_data()
        if present:
            raise BackupError(
                "the target is not empty ("
                + ", ".join(present[:5])
                + (", …" if len(present) > 5 else "")
                + "); import into a fresh database, or pass --merge to add to it"
            )
    counts = {}
    imported_models = []
    with transaction.atomic():
        for name, expected in manifest["counts"].items():
            path = directory / f"{name}.json"
            if not path.exists():
                raise BackupError(f"{path.name} is missing from the copy")
            loaded = 0
            for item in serializers.deserialize(
                "json", path.read_text(), handle_forward_references=True
            ):
                item.save()
                loaded += 1
            if loaded != expected:
                raise BackupError(f"{path.name}: {loaded} rows, the manifest says {expected}")
            counts[name] = loaded
            imported_models.append(apps.get_model(name))
            if progress:
                progress(name, loaded)
        _reset_sequences(imported_models)
        # The briefing stamps count what the copy holds, not what the target held: the
        # services keep them from here on.
        stamps.recount()
    users = counts.get(label(get_user_model()), 0)
    return {
        "counts": counts,
        "users_without_password": users if not manifest["include_secrets"] else 0,
        "tokens": counts.get("opsknowledge.apitoken", 0),
    }


def _reset_sequences(models):
    """Ids were kept: PostgreSQL's sequences must move past them, or the next insert
    collides (SQLite takes max(rowid) + 1 by itself)."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
