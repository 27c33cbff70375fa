"""API tokens for providers' automation.

A token belongs to a user, acts for exactly one organisation with that user's current role
there, may expire and can be revoked. A staff token has no organisation: it manages the
catalogue for a staff user and is a member of nothing, so staff need not join a provider's
organisation to automate the catalogue. Only a SHA-256 digest is stored: the keys are 256-bit
random strings, so a fast hash is as safe as a slow one and keeps every request cheap.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..keys import TOKEN_PREFIX, digest, new_key
from .catalogue import Membership, Organisation


class APITokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class APIToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    # Empty for a staff token (catalogue only, no organisation's documents).
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_tokens", null=True, blank=True
    )
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key, so an operator can tell tokens apart in lists.
    key_start = models.CharField(max_length=12, editable=False)
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = APITokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.key_start}… ({self.user} for {self.organisation_slug or 'the catalogue'})"

    @property
    def organisation_slug(self) -> str | None:
        """The organisation the token acts for; None for a staff token."""
        return self.organisation.slug if self.organisation_id else None

    @classmethod
    def issue(
        cls, *, user, organisation, expires_at=None, description="", key=None
    ) -> tuple["APIToken", str]:
        """Create a token and return it with its key, which is never retrievable again.
        Without an organisation it is a staff token, for staff users only. `key` is for
        the local demo tokens, which stay the same between runs (opsknowledge.localenv)."""
        if organisation is None and not user.is_staff:
            raise ValueError("a token without an organisation is for staff users only")
        key = key or new_key()
        token = cls.objects.create(
            user=user,
            organisation=organisation,
            key_digest=digest(key),
            key_start=key[: len(TOKEN_PREFIX) + 6],
            expires_at=expires_at,
            description=description,
        )
        return token, key

    @classmethod
    def authenticate(cls, key: str) -> "APIToken | None":
        # The user's current role in the token's organisation, read with the token (one
        # query for authentication and the caller's access alike).
        role = Membership.objects.filter(
            user=models.OuterRef("user"), organisation=models.OuterRef("organisation")
        ).values("role")[:1]
        return (
            cls.objects.active()
            .select_related("user", "organisation")
            .annotate(role=models.Subquery(role))
            .filter(key_digest=digest(key), user__is_active=True)
            # A user removed from the organisation: their token for it is dead at once,
            # however they were removed (members.membership_remove also revokes it).
            .filter(models.Q(organisation__isnull=True) | models.Q(role__isnull=False))
            .first()
        )

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
