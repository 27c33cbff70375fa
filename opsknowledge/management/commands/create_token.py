from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from opsknowledge import members
from opsknowledge.models import Membership
from opsknowledge.services import Actor


class Command(BaseCommand):
    help = (
        "Issue an API token for USERNAME acting in one organisation with the user's role "
        "there, or with --staff a catalogue-only token for a staff user, in no organisation. "
        "Prints the key once, and nothing else, on standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--organisation", help="organisation slug")
        scope.add_argument(
            "--staff",
            action="store_true",
            help="manage the catalogue (components, releases); reads like a non-member",
        )
        parser.add_argument("--expires-days", type=int, default=None)
        parser.add_argument("--description", default="")

    def handle(self, username, organisation, staff, expires_days, description, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(
                f"No user '{username}'; add them with add_member"
                + (" (or createsuperuser for staff)." if staff else ".")
            ) from None
        if staff:
            if not user.is_staff:
                raise CommandError(
                    f"'{username}' is not staff; --staff tokens are for staff users "
                    "(createsuperuser, or the admin's 'staff status')."
                )
            membership, acting = None, "staff, for the catalogue only"
        else:
            membership = (
                Membership.objects.filter(user=user, organisation__slug=organisation)
                .select_related("organisation")
                .first()
            )
            if membership is None:
                raise CommandError(
                    f"'{username}' is not a member of '{organisation}'; a token acts with the "
                    "user's role in its organisation, so add them first (add_member)."
                )
            acting = f"as {membership.role} of {organisation}"
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        token, key = members.token_create(
            user=user,
            organisation=membership.organisation if membership else None,
            actor=Actor.operator(),
            expires_at=expires_at,
            description=description,
        )
        self.stdout.write(key)
        self.stderr.write(
            f"Token {token.key_start}… for {username} {acting}"
            + (f", expires {expires_at:%Y-%m-%d %H:%M} UTC." if expires_at else ", no expiry.")
            + " The key is not stored and cannot be shown again."
        )
