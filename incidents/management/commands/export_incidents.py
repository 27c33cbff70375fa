"""`export_incidents DIR [--organisation SLUG]`: failure reports as Markdown files with
front matter (incidents.importers.export_report), which `import_incidents` reads back into
the same reports (API.md "Management commands")."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents.importers import export_report
from incidents.models import FailureReport
from opsknowledge.models import Organisation
from opsknowledge.progress import progress


class Command(BaseCommand):
    help = (
        "Write failure reports as Markdown files with front matter, one folder of slug.md "
        "(organisation/slug.md when exporting several organisations). import_incidents "
        "reads them back field for field."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--organisation", help="organisation slug (default: all)")

    def handle(self, directory, organisation, **options):
        reports = FailureReport.objects.select_related("organisation").prefetch_related(
            "components",
            "releases",
            "tags",
            "timeline",
            "action_items",
            "runbook_links__runbook__organisation",
        )
        if organisation:
            if not Organisation.objects.filter(slug=organisation).exists():
                raise CommandError(f"No organisation '{organisation}'.")
            reports = reports.filter(organisation__slug=organisation)
        root = Path(directory)
        reports = reports.order_by("organisation__slug", "slug")
        written = 0
        for report in progress(
            reports, self.stderr, "export_incidents", total=reports.count(), unit="reports"
        ):
            # import_incidents reads one folder, not a tree: one folder per organisation.
            folder = root if organisation else root / report.organisation.slug
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{report.slug}.md").write_text(export_report(report), encoding="utf-8")
            written += 1
        self.stdout.write(f"Exported {written} failure report(s) to {root}.")
