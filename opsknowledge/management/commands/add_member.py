import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opsknowledge.models import Membership, Organisation, Role


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
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from None
            user.set_password(password)
        user.save()
        Membership.objects.update_or_create(user=user, organisation=org, defaults={"role": role})
        self.stderr.write(
            f"{'Created user' if created else 'User'} '{username}' is now {role} of '{org.slug}'."
        )
