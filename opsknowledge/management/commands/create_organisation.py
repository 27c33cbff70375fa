from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from opsknowledge import services
from opsknowledge.models import Organisation
from opsknowledge.models.catalogue import slug_validator


class Command(BaseCommand):
    help = (
        "Create an organisation, e.g. create_organisation scs --name 'SCS'. An existing one "
        "is changed only with --update: a typo in the slug must not rename someone else's."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--website", default="")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--update", action="store_true", help="change an existing organisation's details"
        )

    def handle(self, slug, name, website, description, update, **options):
        try:
            slug_validator(slug)
        except ValidationError as exc:
            raise CommandError(f"Invalid slug '{slug}': {exc.messages[0]}") from None
        details = {"name": name, "website": website, "description": description}
        existing = Organisation.objects.filter(slug=slug).first()
        if existing is not None and not update:
            if all(getattr(existing, field) == value for field, value in details.items()):
                # Running the same command again changes nothing, like the importers.
                self.stderr.write(f"Organisation '{slug}' ({existing.name}) exists already.")
                return
            raise CommandError(
                f"Organisation '{slug}' exists already ({existing.name}); pick another slug, "
                "or give --update to change its details."
            )
        organisation = existing or Organisation(slug=slug)
        for field, value in details.items():
            setattr(organisation, field, value)
        created = existing is None
        try:
            services.organisation_save(organisation=organisation, actor=services.Actor.operator())
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"Invalid organisation: {problems}") from None
        verb = "Created" if created else "Updated"
        self.stderr.write(f"{verb} organisation '{organisation.slug}' ({organisation.name}).")
