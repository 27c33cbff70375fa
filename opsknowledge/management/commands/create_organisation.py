from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from opsknowledge.models import Organisation
from opsknowledge.models.catalogue import slug_validator


class Command(BaseCommand):
    help = "Create an organisation (or update its name), e.g. create_organisation scs --name 'SCS'."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--website", default="")
        parser.add_argument("--description", default="")

    def handle(self, slug, name, website, description, **options):
        try:
            slug_validator(slug)
        except ValidationError as exc:
            raise CommandError(f"Invalid slug '{slug}': {exc.messages[0]}") from None
        organisation, created = Organisation.objects.update_or_create(
            slug=slug, defaults={"name": name, "website": website, "description": description}
        )
        verb = "Created" if created else "Updated"
        self.stderr.write(f"{verb} organisation '{organisation.slug}' ({organisation.name}).")
