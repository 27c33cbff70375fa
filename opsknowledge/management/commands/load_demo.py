from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opsknowledge import demo, kinds, services
from opsknowledge.importing import ImportFailure, import_document, read_markdown
from opsknowledge.models import Component, Organisation, Release


class Command(BaseCommand):
    help = "Load the demo catalogue and documents. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument(
            "--catalogue-only",
            action="store_true",
            help="organisations, components and releases, but no documents",
        )

    @transaction.atomic
    def handle(self, catalogue_only=False, **options):
        self.load_catalogue()
        if catalogue_only:
            self.stderr.write("Demo catalogue loaded.")
            return
        outcomes = self.load_documents()
        self.stderr.write(
            f"Demo content: {len(demo.ORGANISATIONS)} organisations, "
            f"{len(demo.COMPONENTS)} components, {len(demo.RELEASES)} releases, "
            f"{len(demo.DOCUMENTS)} documents ({outcomes})."
        )

    def load_catalogue(self):
        for data in demo.ORGANISATIONS:
            Organisation.objects.update_or_create(slug=data["slug"], defaults=data)

        components = {}
        for slug, name, parent, aliases, description in demo.COMPONENTS:
            components[slug], _ = Component.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "parent": components[parent] if parent else None,
                    "aliases": aliases,
                    "description": description,
                },
            )

        previous = None
        for slug, name, version, released_on in demo.RELEASES:
            release, _ = Release.objects.get_or_create(slug=slug, defaults={"name": name})
            release.name, release.version, release.released_on = name, version, released_on
            # Detach whoever currently follows `previous` first: the chain is one-to-one.
            if previous is not None:
                Release.objects.filter(previous=previous).exclude(pk=release.pk).update(
                    previous=None
                )
            release.previous = previous
            release.save()
            previous = release

    def load_documents(self) -> str:
        actor = services.Actor.operator()
        counts: dict[str, int] = {}
        for name, kind, organisation in demo.DOCUMENTS:
            path = demo.CONTENT_DIR / name
            try:
                parsed = read_markdown(path.read_text(encoding="utf-8"))
                fields = {**parsed.front_matter, "body": parsed.body}
                slug = fields.pop("slug", path.stem)
                outcome, _ = import_document(
                    model=kinds.model_for(kind),
                    organisation=Organisation.objects.get(slug=organisation),
                    slug=slug,
                    fields=fields,
                    actor=actor,
                )
            except ImportFailure as failure:
                raise CommandError(f"demo content {name}: {failure}") from None
            counts[outcome] = counts.get(outcome, 0) + 1
        for kind, source_org, slug, target_org in demo.ADOPTIONS:
            model = kinds.model_for(kind)
            target = Organisation.objects.get(slug=target_org)
            if not model.objects.filter(organisation=target, slug=slug).exists():
                services.document_adopt(
                    source=model.objects.get(organisation__slug=source_org, slug=slug),
                    organisation=target,
                    slug=slug,
                    actor=actor,
                )
                counts["adopted"] = counts.get("adopted", 0) + 1
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
