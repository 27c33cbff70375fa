"""`import_osism_notes DIR --organisation SLUG --release-map 7=r6,8=r7`: the "Upgrade notes"
and "Known issues" of OSISM release notes pages (osism.github.io, docs/release-notes/
osism-N.md) as `upgrade` and `known-issue` notes of the SCS release that ships OSISM N.

SCS release notes only point at OSISM's ("please refer to the OSISM 7.0.0 Upgrade Notes"),
so an upgrade briefing without these would miss most of what an operator must do. Each
page is written all-or-nothing; nothing is pruned.
"""

from collections import Counter
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from opsknowledge.importing import ImportCommand, ImportFailure
from opsknowledge.models import Component, Release
from releases.importers.notes import note_slugs
from releases.importers.osism import (
    OSISM_FILE,
    OSISM_NOTES_URL,
    osism_slug_prefix,
    parse_osism_notes,
    parse_release_map,
)
from releases.importers.writing import counts_note, file_outcome, save_notes

RELEASE_NOTES_FOLDER = Path("docs") / "release-notes"


def release_notes_folder(directory: Path) -> Path:
    """The osism.github.io checkout root or its docs/release-notes folder itself."""
    if (directory / RELEASE_NOTES_FOLDER).is_dir():
        return directory / RELEASE_NOTES_FOLDER
    if directory.is_dir() and any(directory.glob("osism-*.md")):
        return directory
    raise CommandError(
        f"No OSISM release notes in {directory}: pass the osism.github.io checkout or its "
        f"{RELEASE_NOTES_FOLDER} folder (with osism-N.md files)."
    )


def major_of(path: Path) -> int:
    return int(OSISM_FILE.match(path.name).group(1))


class Command(ImportCommand):
    help = (
        "Import the Upgrade notes and Known issues of OSISM release notes (osism-N.md) as "
        "release notes of the SCS releases that ship those OSISM versions."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="osism.github.io checkout")
        super().add_arguments(parser)
        parser.add_argument(
            "--release-map",
            required=True,
            help="OSISM major version to SCS release, e.g. 7=r6,8=r7",
        )

    def sources(self, options):
        try:
            self.release_map = parse_release_map(options["release_map"])
        except ValueError as exc:
            raise CommandError(f"--release-map: {exc}") from None
        folder = release_notes_folder(options["directory"])
        self.notes = Counter()
        pages = sorted(
            (path for path in folder.glob("osism-*.md") if OSISM_FILE.match(path.name)),
            key=major_of,
        )
        for path in pages:
            yield path.name, (major_of(path), path)
        # A mapped version without its page is asked for and missing: a failure, not silence.
        found = {major_of(path) for path in pages}
        for major in sorted(set(self.release_map) - found):
            yield f"osism-{major}.md", (major, None)

    def import_one(self, name, source, options):
        major, path = source
        if path is None:
            raise ImportFailure(f"not found in {options['directory']}, but --release-map maps it")
        release_slug = self.release_map.get(major)
        if release_slug is None:
            mapped = ", ".join(f"{m}={slug}" for m, slug in sorted(self.release_map.items()))
            return "skipped", f"OSISM {major} is not in --release-map ({mapped})"
        release = Release.objects.filter(slug=release_slug).first()
        if release is None:
            raise ImportFailure(
                f"release {release_slug} does not exist; run import_release_notes "
                "(or load_demo --catalogue-only) first"
            )
        notes = parse_osism_notes(path.read_text(encoding="utf-8"), major)
        if not notes:
            return "skipped", "no Upgrade notes or Known issues sections"
        # They come from OSISM's own notes, so a briefing narrowed to OSISM shows them.
        osism = Component.objects.filter(slug="osism").first()
        with transaction.atomic():
            outcomes = save_notes(
                release=release,
                organisation=options["organisation"],
                notes=notes,
                slugs=note_slugs(notes, osism_slug_prefix),
                page_url=f"{OSISM_NOTES_URL}/osism-{major}",
                visibility=options["visibility"],
                component_of=lambda note: osism,
                actor=options["actor"],
            )
        self.notes.update(outcomes)
        kinds = Counter(note.kind for note in notes)
        described = ", ".join(f"{kinds[kind]} {kind}" for kind in sorted(kinds))
        return file_outcome(outcomes), (
            f"OSISM {major} → {release_slug}: {len(notes)} notes ({counts_note(outcomes)}): "
            f"{described}"
        )

    def finish(self, options) -> dict:
        return {f"notes {o}": self.notes[o] for o in ("created", "updated", "unchanged")}
