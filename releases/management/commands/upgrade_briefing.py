from django.core.management.base import BaseCommand, CommandError

from releases.briefing import BriefingError, briefing_markdown, build_briefing


class Command(BaseCommand):
    help = (
        "Print the upgrade briefing (the same Markdown as /api/v1/upgrade-path/?format=md) "
        "for operators on the box. Acts as the instance's operator: every published note, "
        "runbook and report is included."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="release slug, e.g. r2")
        parser.add_argument("--to", dest="end", required=True, help="release slug, e.g. r4")
        parser.add_argument("--component", help="component slug or alias (children included)")
        parser.add_argument("--kind", help="comma-separated note kinds")

    def handle(self, start, end, component, kind, **options):
        try:
            briefing = build_briefing(
                start=start, end=end, component=component, kinds=kind, access=None
            )
        except BriefingError as error:
            raise CommandError(f"--{error.field}: {error.message}") from None
        self.stdout.write(briefing_markdown(briefing), ending="")
