import time

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers

from .api.errors import database_unavailable, error_response, not_found, wants_json
from .metrics import LATENCY, REQUESTS, route_of
from .requestid import current_request_id, request_id_for
from .throttling import request_verdict


class RejectNulBytesMiddleware:
    """A NUL byte in a query string or form field would reach PostgreSQL, which refuses it
    with an error that surfaces as a 500. Refuse it here with a 400 instead.
    (JSON bodies are checked by the API's parser, which can name the field.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                detail = f"Query parameter '{name.strip(chr(0))}' contains a NUL byte."
                if wants_json(request):
                    return error_response(400, "invalid", detail, fields={name: [detail]})
                return HttpResponseBadRequest(detail)
        if "\x00" in request.path:
            if wants_json(request):
                return error_response(400, "invalid", "The URL contains a NUL byte.")
            return HttpResponseBadRequest("The URL contains a NUL byte.")
        return self.get_response(request)


class PrivateAnswersMiddleware:
    """What a page or an API answer contains depends on who asks (hidden documents, roles,
    lint): a shared cache must neither serve one reader's answer to another nor store an
    authenticated one. Static files (WhiteNoise, above this) are the same for everyone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        user = getattr(request, "user", None)  # absent when a middleware below answered
        if "HTTP_AUTHORIZATION" in request.META or (user is not None and user.is_authenticated):
            patch_cache_control(response, private=True)
        return response


class BrandedNotFoundMiddleware:
    """A 404 raised by one of our views (a document the reader may not read, or that does not
    exist) is the site's own 404 page even with DEBUG on: Django's technical page would tell
    a developer trying the UI nothing a reader would see. URLs that match no pattern keep
    Django's answer (its technical page with DEBUG, handler404 without).
    A database that cannot be reached is a 503 with Retry-After, never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return not_found(request, exception)
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable(request, exception)
        return None


class RequestIdMiddleware:
    """First in the chain: everything logged while answering carries the request's id,
    including Django's own "Not Found" and "Internal Server Error" lines, which it writes
    after the middleware has returned. So the id is cleared when the response is finished
    (the request_finished signal), not on the way out of here."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        current_request_id.set(request.request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class MetricsMiddleware:
    """Counts every answer by route pattern and status, and times it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        LATENCY.labels(route=route).observe(time.perf_counter() - started)
        REQUESTS.labels(route=route, method=request.method, status=response.status_code).inc()
        return response


# Paths no throttle counts: probes must answer however busy the instance is, static files are
# the same for everyone, sign-in has its own limits, and the API's views count themselves
# (after authentication, so a token is counted as its owner rather than as an address).
UNTHROTTLED_PREFIXES = ("/healthz", "/livez", "/metrics", "/static/", "/api/", "/accounts/login/")


class ThrottleMiddleware:
    """The shared limits for pages, feeds and `/r/` (see opsknowledge.throttling)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(UNTHROTTLED_PREFIXES):
            verdict = request_verdict(request)
            if not verdict.allowed:
                return too_many_requests(request, verdict.retry_after)
        return self.get_response(request)


def too_many_requests(request, retry_after: int):
    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


# Session key: this session signed in with a one-time password (models.PasswordChangeRequired).
PASSWORD_CHANGE_REQUIRED = "opsknowledge_password_change_required"


def note_password_change_required(sender, request, user, **kwargs):
    """At sign-in (user_logged_in): whether the user must first change a one-time
    password, kept in the session so later requests need no query to know."""
    from .models import PasswordChangeRequired

    if PasswordChangeRequired.objects.filter(user=user).exists():
        request.session[PASSWORD_CHANGE_REQUIRED] = True


class PasswordChangeRequiredMiddleware:
    """A session signed in with a one-time password reaches only the password change page
    (and sign-out, static files) until the password is changed; the API refuses it (403)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.session.get(PASSWORD_CHANGE_REQUIRED):
            allowed = (reverse("password-change"), reverse("logout"), "/static/")
            if request.path.startswith("/api/"):
                detail = "Change your one-time password first (/accounts/password/)."
                return error_response(403, "permission_denied", detail)
            if not request.path.startswith(allowed):
                return HttpResponseRedirect(reverse("password-change"))
        return self.get_response(request)
