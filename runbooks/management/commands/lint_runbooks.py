from django.core.management.base import BaseCommand, CommandError

from opsknowledge.models import Organisation
from opsknowledge.progress import Progress
from runbooks.lint import lint
from runbooks.models import Runbook


class Command(BaseCommand):
    help = (
        "Lint runbooks: missing sections, empty code blocks, dead internal links, overdue "
        "reviews, releases past end of maintenance. Archived runbooks are left out."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organisation", help="organisation slug (default: all)")

    def handle(self, organisation, **options):
        runbooks = (
            Runbook.objects.exclude(status="archived")
            .select_related("organisation")
            .prefetch_related("releases")
            .order_by("organisation__slug", "slug")
        )
        if organisation:
            if not Organisation.objects.filter(slug=organisation).exists():
                raise CommandError(f"No organisation '{organisation}'.")
            runbooks = runbooks.filter(organisation__slug=organisation)
        flagged = total = findings = 0
        with Progress(self.stderr, "lint_runbooks", total=runbooks.count(), unit="runbooks") as bar:
            for runbook in runbooks:
                total += 1
                problems = lint(runbook)
                bar.update()
                if not problems:
                    continue
                flagged += 1
                findings += len(problems)
                lines = [f"{runbook.reference()}:"]
                for problem in problems:
                    where = f" (line {problem['line']})" if problem["line"] else ""
                    lines.append(f"  {problem['check']}{where}: {problem['message']}")
                bar.write("\n".join(lines), self.stdout)
        self.stdout.write(f"{total} runbooks, {flagged} with findings, {findings} findings.")
