"""`import_incidents DIR --organisation SLUG`: import a folder of Markdown postmortems (the
DFDS layout, or any with front matter; see incidents.importers) as failure reports, through
the same validation and write services as the API (API.md "Management commands")."""

from pathlib import Path

from django.core.management.base import CommandError

from incidents.importers import PostmortemFolderImporter
from opsknowledge.importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Import Markdown postmortems (Summary, Timeline, Contributing Factors, Action Items, "
        "Stats ..., or front matter) from DIR as failure reports of an organisation."
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
        parser.add_argument(
            "--prune",
            action="store_true",
            help="archive the organisation's imported reports whose files are gone or skipped",
        )

    def handle(self, *args, **options):
        options["root"] = options["directory"]
        if not options["root"].is_dir():
            raise CommandError(f"{options['root']} is not a directory.")
        self.importer = PostmortemFolderImporter(
            create_components=options["create_components"],
            acknowledge_warnings=options["acknowledge_warnings"],
            prune=options["prune"],
        )
        return super().handle(*args, **options)
