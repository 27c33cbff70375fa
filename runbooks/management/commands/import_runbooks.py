import re

from django.core.management.base import CommandError

from opsknowledge.importing import ImportCommand
from opsknowledge.models import License
from runbooks.importers import KINDS, RunbookTreeImporter


class Command(ImportCommand):
    help = (
        "Import a tree of Markdown runbooks (or best practices) with optional YAML front "
        "matter into an organisation. Re-importing an unchanged tree changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory")
        super().add_arguments(parser)
        parser.add_argument("--kind", choices=sorted(KINDS), default="runbook")
        parser.add_argument(
            "--create-components",
            action="store_true",
            help="create components named by folders or front matter that do not exist",
        )
        parser.add_argument(
            "--license",
            choices=License.values,
            help="SPDX id for files whose front matter names none (default CC-BY-SA-4.0)",
        )
        parser.add_argument(
            "--source-url",
            default="",
            help="the raw-file address of DIR in its repository (e.g. https://raw."
            "githubusercontent.com/org/repo/main/alerts): images link there",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="archive the organisation's imported documents whose files disappeared",
        )

    def handle(self, *args, **options):
        source_url = options["source_url"]
        if source_url and not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", source_url):
            raise CommandError(f"--source-url must be an http(s) address, not {source_url!r}.")
        options["root"] = options["directory"]
        self.importer = RunbookTreeImporter(
            kind=options["kind"],
            create_components=options["create_components"],
            prune=options["prune"],
            source_url=options["source_url"],
        )
        return super().handle(*args, **options)
