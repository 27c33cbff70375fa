"""`import_release_notes DIR --organisation SLUG`: the SCS releases and their notes from a
checkout of SovereignCloudStack/release-notes (see releases.importers).

README.md is the index: only the top-level ReleaseN.md files it links are read, in release
order, so that each release can follow the one before it in the upgrade chain. Each file
(its release row and its notes) is written all-or-nothing; nothing is pruned.
"""

from collections import Counter
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from opsknowledge.importing import ImportCommand, ImportFailure
from opsknowledge.models import Release
from releases.importers.notes import note_component, note_slugs
from releases.importers.scs import RELEASE_FILE, RELEASE_NOTES_URL, parse_index, parse_release_notes
from releases.importers.writing import (
    cached_lookup,
    counts_note,
    file_outcome,
    save_notes,
    save_release,
)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFailure(f"{path.name} is linked from README.md but does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailure(f"cannot be read: {exc}") from None


class Command(ImportCommand):
    help = (
        "Import the SCS releases (name, version tag, date, upgrade chain) and their release "
        "notes from a checkout of SovereignCloudStack/release-notes."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="the release-notes checkout")
        super().add_arguments(parser)

    def sources(self, options):
        directory = options["directory"]
        index = directory / "README.md"
        if not index.is_file():
            raise CommandError(f"{index} not found: DIR must hold the release notes README.md.")
        self.rows = {"releases": Counter(), "notes": Counter()}
        self.remarks = []
        self.lookup = cached_lookup()
        if options["status"] != "published":
            self.remarks.append(
                f"--status {options['status']} ignored: release notes are always published."
            )
        try:
            entries = parse_index(index.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ImportFailure) as exc:
            raise CommandError(f"{index}: {exc}") from None
        if not entries:
            raise CommandError(f"{index} lists no releases ('## Release N (YYYY-MM-DD)').")
        linked = set()
        for previous, entry in zip([None, *entries], entries, strict=False):
            linked.add(entry.file_name)
            yield entry.file_name or f"Release {entry.number}", (entry, previous)
        # Reported, so that nobody wonders whether ReleaseX.md (the template) was forgotten.
        for path in sorted(directory.glob("Release*.md")):
            if path.name not in linked:
                yield path.name, None

    def import_one(self, name, source, options):
        if source is None:
            if RELEASE_FILE.match(name):
                return "skipped", "not linked from README.md, so not treated as a release"
            return "skipped", "not linked from README.md: the template, not a release"
        entry, previous_entry = source
        if entry.file_name is None:
            raise ImportFailure(
                f"README.md lists Release {entry.number} without a link to its notes"
                + (f" ({entry.note})" if entry.note else "")
            )
        parsed = parse_release_notes(read_text(options["directory"] / entry.file_name))
        if parsed.number != entry.number:
            raise ImportFailure(
                f"README.md links it as Release {entry.number}, its title says "
                f"Release {parsed.number}"
            )
        with transaction.atomic():
            release_outcome, release, remarks = self.write_release(parsed, entry, previous_entry)
            notes = self.write_notes(parsed, release, entry.file_name, options)
        self.rows["releases"][release_outcome] += 1
        self.rows["notes"].update(notes)
        return file_outcome(release_outcome, notes), self.describe(parsed, notes, remarks)

    def write_release(self, parsed, entry, previous_entry):
        remarks = []
        released_on = parsed.released_on
        if released_on is None:
            released_on = entry.readme_date
            remarks.append("no release date in the file; README.md's used")
        elif entry.readme_date and entry.readme_date != released_on:
            self.remarks.append(
                f"R{entry.number}: README.md says {entry.readme_date}, {entry.file_name} says "
                f"{released_on}; the file's date is used."
            )
        if parsed.version is None:
            remarks.append("no version tag found in a Release Tagging section")
        previous = None
        if previous_entry is not None:
            previous = Release.objects.filter(slug=f"r{previous_entry.number}").first() or "keep"
            if previous == "keep":
                remarks.append(f"r{previous_entry.number} missing: upgrade chain not linked")
        outcome, release = save_release(
            number=parsed.number,
            version=parsed.version,
            released_on=released_on,
            previous=previous,
        )
        return outcome, release, remarks

    def write_notes(self, parsed, release, file_name, options) -> Counter:
        return save_notes(
            release=release,
            organisation=options["organisation"],
            notes=parsed.notes,
            slugs=note_slugs(parsed.notes),
            page_url=f"{RELEASE_NOTES_URL}/{file_name}",
            visibility=options["visibility"],
            component_of=lambda note: note_component(note, self.lookup),
            actor=options["actor"],
        )

    @staticmethod
    def describe(parsed, notes: Counter, remarks: list[str]) -> str:
        kinds = Counter(note.kind for note in parsed.notes)
        version = parsed.version or "no tag"
        if parsed.version_spellings:
            version += f" (also written {', '.join(parsed.version_spellings)})"
        parts = [
            f"r{parsed.number} {version}, {parsed.released_on or 'no date'}",
            f"{len(parsed.notes)} notes ({counts_note(notes)}): "
            + ", ".join(f"{kinds[kind]} {kind}" for kind in sorted(kinds)),
            *remarks,
        ]
        if parsed.empty:
            parts.append("no notes in " + "; ".join(parsed.empty))
        if parsed.left_out:
            parts.append("not imported: " + ", ".join(parsed.left_out))
        return "; ".join(parts)

    def finish(self, options) -> dict:
        counts = {
            f"{table} {outcome}": self.rows[table][outcome]
            for table in ("releases", "notes")
            for outcome in ("created", "updated", "unchanged")
        }
        return {**counts, "notes": self.remarks}
