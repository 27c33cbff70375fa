"""`import_incidents DIR --organisation SLUG`: import a folder of Markdown postmortems (the
DFDS layout, see incidents.importers) as failure reports, through the same validation and
write services as the API (API.md "Management commands")."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.text import slugify

from incidents.importers import display_name, parse_report
from incidents.models import FailureReport
from opsknowledge.importing import (
    ImportCommand,
    ImportFailure,
    import_document,
    is_markdown_file,
    publication_fields,
)
from opsknowledge.models import Component
from opsknowledge.references import slug_from_file_name

# What a published report needs (FailureReportSerializer.validate) and where it comes from.
PUBLISHING_NEEDS = {
    "summary": "no Summary section",
    "impact": "no Impact or Summary section",
    "root_cause": "no Root cause or Contributing Factors section",
}
# The first line of a licence file next to the reports → its SPDX id.
LICENSE_FIRST_LINES = {"mit license": "MIT", "apache license": "Apache-2.0"}
WARNING_EXAMPLES = 3


def is_license_file(name: str) -> bool:
    return name.upper().split(".")[0] in ("LICENSE", "LICENCE", "COPYING")


def folder_license(directory: Path) -> str | None:
    """The SPDX id of a LICENSE file beside the reports: they are published under it, and
    labelling them with the default licence would misstate what others may do with them."""
    for path in sorted(directory.iterdir()):
        if path.is_file() and is_license_file(path.name):
            try:
                lines = path.read_text(encoding="utf-8").strip().splitlines()
            except (OSError, UnicodeDecodeError):
                return None
            first = lines[0].strip().lower() if lines else ""
            return next(
                (spdx for start, spdx in LICENSE_FIRST_LINES.items() if first.startswith(start)),
                None,
            )
    return None


def skip_reason(path: Path, license_id: str | None) -> str:
    """Why a file in the folder is not a report ("" when it should be one)."""
    name = path.name
    if name.upper().startswith("README"):
        return "the folder's README, not a report"
    if is_license_file(name):
        applied = f" ({license_id}, applied to the reports)" if license_id else ""
        return f"the licence of the reports{applied}, not a report"
    if "template" in name.lower():
        return "the postmortem template, not a report"
    if not is_markdown_file(path):
        return "not Markdown (no .md extension and no heading at the top)"
    return ""


def slug_for(name: str) -> str:
    slug = slug_from_file_name(display_name(name))
    if not slug:
        raise ImportFailure("the file name gives no slug (no letters or digits)")
    return slug


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"not valid UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ImportFailure(f"cannot be read: {exc.strerror}") from None


def status_for(fields: dict, requested: str) -> tuple[str, str]:
    """The status to import with, and a note when it is not the one asked for."""
    missing = [name for name in PUBLISHING_NEEDS if not fields.get(name)]
    if requested != "published" or not missing:
        return requested, ""
    reasons = ", ".join(PUBLISHING_NEEDS[name] for name in missing)
    return "in_review", f"imported in_review, not publishable: {reasons}"


def warnings_note(warnings: list[dict], people: list[str]) -> str:
    """Name the first few distinct phrases, blaming language before people's names (the
    attendee list itself names everyone, so names would crowd out the real findings)."""
    names = {person.lower() for person in people}
    distinct = {}  # lower-cased → as first written
    for warning in warnings:
        distinct.setdefault(warning["phrase"].lower(), warning["phrase"])
    phrases = sorted(distinct.values(), key=lambda phrase: phrase.lower() in names)
    shown = ", ".join(repr(phrase) for phrase in phrases[:WARNING_EXAMPLES])
    return (
        f"imported in_review: {len(warnings)} blameless/redaction warning(s), e.g. {shown}; "
        "--acknowledge-warnings publishes it anyway"
    )


class Command(ImportCommand):
    help = (
        "Import Markdown postmortems (Summary, Timeline, Contributing Factors, Action Items, "
        "Stats ...) from DIR as failure reports of an organisation."
    )
    status_choices = ("draft", "in_review", "published")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="folder of postmortems (not recursive)")
        super().add_arguments(parser)
        parser.add_argument(
            "--create-components",
            action="store_true",
            help="create the components (services) front matter names that do not exist",
        )
        parser.add_argument(
            "--acknowledge-warnings",
            action="store_true",
            help="publish reports with blameless-language or redaction warnings",
        )

    def sources(self, options):
        directory = options["directory"]
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        # Read once here: import_one labels every report with it.
        options["license"] = folder_license(directory)
        # Hidden files are editor and VCS droppings, never documents.
        for path in sorted(directory.iterdir(), key=lambda path: path.name):
            if path.is_file() and not path.name.startswith("."):
                yield path.name, path

    def import_one(self, name, path, options):
        reason = skip_reason(path, options["license"])
        if reason:
            return "skipped", reason
        report = parse_report(read_text(path), name)
        fields = dict(report.fields)
        component_note = self.resolve_components(fields, options)
        if options["license"]:  # the folder's licence file: for reports that name none
            fields.setdefault("license", options["license"])
        # The status is decided per report below (status_for); the visibility follows the
        # options as for every importer.
        options["create_defaults"] = publication_fields(fields, {**options, "status": None})
        if options["acknowledge_warnings"]:
            fields["acknowledge_warnings"] = True
        # A status the file states (an export's) wins over --status, as every field does.
        fields["status"], status_note = status_for(
            fields, fields.get("status") or options["status"]
        )
        fields["source_path"] = name
        slug = str(report.front_matter.get("slug") or "") or slug_for(name)
        outcome, note = self.write(slug, fields, options)
        notes = [status_note, note, component_note, *report.notes]
        return outcome, "; ".join(note for note in notes if note)

    @staticmethod
    def resolve_components(fields, options) -> str:
        """The catalogue components the front matter's components or services name (slug
        or alias); an unknown one is created with --create-components, else left out and
        named in the note (a report is not refused for naming its own service)."""
        if "components" not in fields:
            return ""
        found, unknown = [], []
        for name in fields["components"]:
            # "Object Storage" names the component object-storage.
            component = Component.objects.lookup(name) or Component.objects.lookup(slugify(name))
            if component is None and options["create_components"] and slugify(name):
                component, _ = Component.objects.get_or_create(
                    slug=slugify(name), defaults={"name": name}
                )
            if component is None:
                unknown.append(name)
            elif component.slug not in found:
                found.append(component.slug)
        fields["components"] = found
        if not unknown:
            return ""
        return (
            f"components not in the catalogue, left out: {', '.join(unknown)} "
            "(--create-components creates them)"
        )

    def write(self, slug, fields, options) -> tuple[str, str]:
        """Import; a report refused publication for its warnings goes in for review
        instead (import_document is atomic, so the refused attempt left nothing behind)."""
        try:
            outcome, _document = self.import_document(slug, fields, options)
            return outcome, ""
        except ImportFailure as failure:
            if fields["status"] != "published" or "acknowledge_warnings" not in failure.reason:
                raise
        outcome, document = self.import_document(slug, {**fields, "status": "in_review"}, options)
        return outcome, warnings_note(document.warnings, fields["attendees"])

    def import_document(self, slug, fields, options):
        return import_document(
            model=FailureReport,
            organisation=options["organisation"],
            slug=slug,
            fields=fields,
            actor=options["actor"],
            dry_run=options["dry_run"],
            create_defaults=options["create_defaults"],
        )
