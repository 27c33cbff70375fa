from rest_framework.throttling import BaseThrottle

from ..models import APIToken
from ..throttling import request_verdict


class SharedThrottle(BaseThrottle):
    """The API's side of opsknowledge.throttling: the same counters as the pages, applied
    after authentication so a token is counted as itself and a session as its user."""

    def allow_request(self, request, view):
        token = request.auth if isinstance(request.auth, APIToken) else None
        self.verdict = request_verdict(request, user=request.user, token=token)
        return self.verdict.allowed

    def wait(self):
        # errors.exception_handler adds one second when it writes Retry-After.
        return max(0, self.verdict.retry_after - 1)
