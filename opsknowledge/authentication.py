from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import APIToken

# Record last use at most this often per token, so reads do not write on every request.
_LAST_USED_GRANULARITY = timezone.timedelta(minutes=5)


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`: a hashed, organisation-scoped, expiring, revocable key.

    A header that is present but wrong fails the request with 401, even when a session
    cookie is sent along: listed first in settings, this runs before session auth.
    """

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; use 'Authorization: Token <key>'."
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = APIToken.authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_GRANULARITY:
            APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to unauthenticated calls.
        return self.keyword
