from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers

from .api.errors import error_response, not_found, wants_json


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
    Django's answer (its technical page with DEBUG, handler404 without)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return not_found(request, exception)
        return None


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
