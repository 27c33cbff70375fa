from django.core.management.base import BaseCommand
from django.db import transaction

from opsknowledge import demo
from opsknowledge.models import Component, Organisation, Release


class Command(BaseCommand):
    help = "Load the demo catalogue and documents. Safe to run again: nothing is duplicated."

    @transaction.atomic
    def handle(self, **options):
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

        self.stderr.write(
            f"Demo catalogue: {len(demo.ORGANISATIONS)} organisations, "
            f"{len(demo.COMPONENTS)} components, {len(demo.RELEASES)} releases."
        )
