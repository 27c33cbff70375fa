"""Render every stored Markdown field again: after a change to the renderer, the `*_html`
columns hold what the old one made.

    python manage.py render_markdown --all [--batch-size 200]

Idempotent (rows already current are not written); creates no revision and leaves
`updated` alone. The data migration that follows a renderer change calls the same code.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from opsknowledge import sourcelinks
from opsknowledge.markdown import rerender


def links_of(model):
    """An imported document's relative links resolve from its source path (sourcelinks)."""
    if not getattr(model, "PROVENANCE_FIELDS", None):
        return None

    def build(organisation, path, url):
        return sourcelinks.resolver(model.kind, organisation, path, url)

    return (("organisation__slug", *model.PROVENANCE_FIELDS), build)


def markdown_models():
    """Every model that declares Markdown fields, with those fields."""
    return [
        (model, model.MARKDOWN_FIELDS)
        for model in apps.get_models()
        if getattr(model, "MARKDOWN_FIELDS", None)
    ]


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="every model with Markdown")
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, **options):
        if not options["all"]:
            raise CommandError("Say --all: every stored Markdown field is rendered again.")
        for model, fields in markdown_models():
            # The base manager: archived and hidden rows are rendered too.
            rows = model._base_manager.all()
            total, done = rows.count(), 0
            label = model._meta.label
            batches = rerender(
                rows, fields, batch_size=options["batch_size"], links=links_of(model)
            )
            for count in batches:
                done += count
                self.stderr.write(f"\r{label}: {done}/{total}", ending="")
            self.stderr.write(f"\r{label}: {done}/{total} rendered")
