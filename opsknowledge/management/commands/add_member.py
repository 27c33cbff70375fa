import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opsknowledge import members
from opsknowledge.exceptions import Conflict, ValidationError
from opsknowledge.models import Organisation, Role
from opsknowledge.services import Actor


class Command(BaseCommand):
    help = "Give a user a role in an organisation, creating the user when missing."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("organisation", help="organisation slug")
        parser.add_argument("--role", choices=Role.values, default=Role.VIEWER)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the user's password from standard input (one line)",
        )

    @transaction.atomic
    def handle(self, username, organisation, role, email, password_stdin, **options):
        try:
            org = Organisation.objects.get(slug=organisation)
        except Organisation.DoesNotExist:
            raise CommandError(
                f"No organisation '{organisation}'; create it with create_organisation."
            ) from None
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_unusable_password()
        user.save()
        try:
            if password_stdin:
                password = sys.stdin.readline().rstrip("\n")
                members.user_set_password(user=user, password=password)
            members.membership_set(organisation=org, user=user, role=role, actor=Actor.operator())
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from None
        except Conflict as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"{'Created user' if created else 'User'} '{username}' is now {role} of '{org.slug}'."
        )
