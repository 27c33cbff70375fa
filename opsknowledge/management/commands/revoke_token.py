from django.core.management.base import BaseCommand, CommandError

from opsknowledge import members
from opsknowledge.models import APIToken
from opsknowledge.models.tokens import digest
from opsknowledge.services import Actor


class Command(BaseCommand):
    help = "Revoke API tokens: by key, by the start shown in listings, or all of a user's."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--key", help="the full key")
        group.add_argument("--start", help="the first characters shown by create_token/admin")
        group.add_argument("--user", help="revoke every token of this username")

    def handle(self, key, start, user, **options):
        tokens = APIToken.objects.filter(revoked_at__isnull=True)
        if key:
            tokens = tokens.filter(key_digest=digest(key))
        elif start:
            tokens = tokens.filter(key_start__startswith=start.rstrip("…"))
            if tokens.count() > 1:
                raise CommandError(f"'{start}' matches several tokens; give more characters.")
        else:
            tokens = tokens.filter(user__username=user)
        revoked = 0
        for token in tokens.select_related("organisation"):
            members.token_revoke(token=token, actor=Actor.operator())
            revoked += 1
        if not revoked:
            raise CommandError("No active token matches.")
        self.stderr.write(f"Revoked {revoked} token(s).")
