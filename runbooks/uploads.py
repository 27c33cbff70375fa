"""An uploaded archive (.tar.gz/.zip) imported as the commands import a directory: what
POST /api/v1/import/ and the organisation's upload page both run."""

import io
import tempfile
from pathlib import Path

from incidents.importers import PostmortemFolderImporter
from opsknowledge.importing import run_import
from opsknowledge.models import Component

from .archives import unpack
from .importers import RunbookTreeImporter


def tree_root(target: Path, refused: list, *, components=True) -> tuple[Path, list]:
    """The folder an archive holds its tree in: its one top folder when it has nothing
    else and names no component (`tar czf x.tar.gz runbooks/`), so the upload sees the
    tree the command is given: the same file names, no component named after the
    archive's folder, and its README is the repository's."""
    entries = [p for p in target.iterdir() if not p.name.startswith(".")]
    tops = {name.split("/", 1)[0] for name, _ in refused}
    if (
        len(entries) == 1
        and entries[0].is_dir()
        and tops <= {entries[0].name}
        # An archive of one component's folder (`ceph/`) keeps it as the component.
        and not (components and Component.objects.lookup(entries[0].name) is not None)
    ):
        prefix = f"{entries[0].name}/"
        return entries[0], [(name.removeprefix(prefix), why) for name, why in refused]
    return target, refused


def import_archive(archive: bytes, *, organisation, actor, options: dict):
    """Import `archive` into `organisation` as `actor`; `options` as ImportOptions validates
    them (kind, create_components, prune, source_url, dry_run, acknowledge_warnings,
    visibility, status, license). Returns the ImportSummary. Raises ArchiveError (not an
    archive, or too large unpacked) and ImportFailure (nothing importable)."""
    options = dict(options)
    with tempfile.TemporaryDirectory(prefix="opsknowledge-import-") as root:
        refused = unpack(io.BytesIO(archive), Path(root))
        if options["kind"] == "incident":
            tree, refused = tree_root(Path(root), refused, components=False)
            importer = PostmortemFolderImporter(
                create_components=options["create_components"],
                acknowledge_warnings=options["acknowledge_warnings"],
                prune=options["prune"],
                refused=refused,
            )
        else:
            tree, refused = tree_root(Path(root), refused)
            importer = RunbookTreeImporter(
                kind=options["kind"],
                create_components=options["create_components"],
                prune=options["prune"],
                refused=refused,
                license_top=Path(root),
                source_url=options["source_url"],
            )
        options.update(root=tree, organisation=organisation, actor=actor)
        return run_import(importer, options)
