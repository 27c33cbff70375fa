from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from opsknowledge.models import Organisation
from opsknowledge.progress import progress
from runbooks.importers import KINDS, export_document, export_path


class Command(BaseCommand):
    help = (
        "Write runbooks (or practices) as Markdown files with complete front matter, laid "
        "out component/slug.md (organisation/component/slug.md when exporting several "
        "organisations). import_runbooks reads them back field for field."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--organisation", help="organisation slug (default: all)")
        parser.add_argument("--kind", choices=sorted(KINDS), default="runbook")

    def handle(self, directory, organisation, kind, **options):
        documents = (
            KINDS[kind]
            .objects.select_related("organisation")
            .prefetch_related("components", "releases", "tags")
        )
        if organisation:
            if not Organisation.objects.filter(slug=organisation).exists():
                raise CommandError(f"No organisation '{organisation}'.")
            documents = documents.filter(organisation__slug=organisation)
        root = Path(directory)
        written = 0
        documents = documents.order_by("organisation__slug", "slug")
        for document in progress(
            documents, self.stderr, "export_runbooks", total=documents.count(), unit=f"{kind}s"
        ):
            path = root / export_path(document, per_organisation=not organisation)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(export_document(document), encoding="utf-8")
            written += 1
        self.stdout.write(f"Exported {written} {kind}(s) to {root}.")
