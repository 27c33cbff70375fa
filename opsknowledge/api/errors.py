"""One error format for everything under /api/:

{"error": {"status": 400, "code": "invalid", "detail": "...", "fields": {...}}}
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status

from .. import exceptions as domain
from ..referrers import by_model, describe

logger = logging.getLogger(__name__)

CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "too_large",
    415: "unsupported_media_type",
    428: "precondition_required",
    429: "throttled",
    503: "unavailable",
}

# What a client is told to wait when the database is away (a restart or fail-over takes
# seconds); the request failed before anything was stored.
UNAVAILABLE_RETRY_AFTER = 5


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"


def api_exception(exc):
    """The DRF exception for a domain error (or a Django one) raised below the API, keeping
    what the error body shows: the fields, the current revision, the warnings."""
    if isinstance(exc, domain.UnacknowledgedWarnings):
        converted = exceptions.ValidationError(exc.message_dict)
        converted.extra = {"warnings": exc.warnings}
        return converted
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, domain.PreconditionFailed | domain.PreconditionRequired):
        kind = (
            PreconditionFailed
            if isinstance(exc, domain.PreconditionFailed)
            else PreconditionRequired
        )
        converted = kind(exc.message)
        converted.current_revision = exc.current_revision
        return converted
    if isinstance(exc, domain.Conflict):
        return Conflict(exc.message)
    if isinstance(exc, domain.NotFound):
        return exceptions.NotFound(exc.message)
    return exc


def wants_json(request) -> bool:
    return request.path.startswith("/api/")


def error_body(status_code: int, code: str, detail: str, fields=None, **extra) -> dict:
    body = {"status": status_code, "code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return {"error": body}


def error_response(status_code: int, code: str, detail: str, fields=None, **extra):
    return JsonResponse(error_body(status_code, code, detail, fields, **extra), status=status_code)


def flatten_errors(detail, prefix=""):
    """DRF's nested validation errors as {"field": ["message", ...]}, with dotted paths for
    nested objects and list items ("timeline.2.at")."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc, context):
    """DRF's exception handler, speaking the contract's error format."""
    exc = api_exception(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, ProtectedError | RestrictedError):
        # Counted, not named: the objects may be documents the caller cannot read.
        objects = getattr(exc, "protected_objects", None) or exc.restricted_objects
        exc = Conflict(f"Still referenced by {describe(by_model(objects))}.")
    elif isinstance(exc, IntegrityError):
        # Only reachable through a race the validators could not see (two concurrent
        # creates of the same slug, say): a conflict, not a server error. Logged, since a
        # constraint the services did not foresee is worth knowing about.
        logger.warning("Answered 409 for a constraint violation: %s", exc)
        exc = Conflict("The request conflicts with data written at the same time; retry it.")
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(context["request"], exc)
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer 500

    status_code = exc.status_code
    code = CODES.get(status_code, "error")
    extra = {}
    headers = {}
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        detail = (
            " ".join(non_field)
            if non_field
            else "Invalid input: " + ", ".join(f"'{name}'" for name in fields) + "."
        )
        if not fields:
            fields = None
    else:
        detail = exc.detail
        if isinstance(detail, dict | list):
            fields = flatten_errors(detail)
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        detail = str(detail)
    if isinstance(exc, PreconditionFailed | PreconditionRequired):
        extra["current_revision"] = getattr(exc, "current_revision", None)
        if extra["current_revision"] is not None:
            headers["ETag"] = f'"{exc.current_revision}"'
    if getattr(exc, "extra", None):
        extra.update(exc.extra)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Token"

    # Imported here: rest_framework.views imports the parser classes, which import this module.
    from rest_framework.views import set_rollback

    set_rollback()
    # A plain JsonResponse, not a DRF Response: errors are JSON whatever renderer the view
    # negotiated (Markdown briefings, plain-text diffs, the YAML schema), as API.md says.
    response = error_response(status_code, code, detail, fields, **extra)
    for name, value in headers.items():
        response[name] = value
    return response


def database_unavailable(request, exception):
    """503 with Retry-After when the database cannot be reached or answer (a restart, a
    fail-over, a locked SQLite file): the client may retry; nothing was stored. A page gets a
    plain page that needs nothing from the database to render."""
    import logging

    from django.template.loader import render_to_string

    logging.getLogger("opsknowledge").error("database unavailable: %s", exception, exc_info=True)
    detail = "The database cannot be reached; retry in a few seconds."
    if wants_json(request):
        response = error_response(503, "unavailable", detail)
    else:
        from django.http import HttpResponse

        response = HttpResponse(render_to_string("503.html", {"detail": detail}), status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def not_found(request, exception):
    if wants_json(request):
        detail = f"No API endpoint at {request.path}"
        if not request.path.endswith("/"):
            from django.urls import Resolver404, resolve

            try:
                if resolve(request.path + "/").url_name != "not-found":
                    detail += f"; did you mean {request.path}/ (with a trailing slash)?"
            except Resolver404:
                pass
        return error_response(404, "not_found", detail + "; see /api/schema/.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error_view(request):
    # A database that went away while a middleware used it (the session, the user) ends here
    # rather than in a view's exception handling: it is still a 503, not a 500.
    import sys

    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return database_unavailable(request, exception)
    if wants_json(request):
        return error_response(500, "server_error", "Internal server error.")
    from django.views.defaults import server_error

    return server_error(request)


def bad_request_view(request, exception):
    if wants_json(request) and isinstance(exception, RequestDataTooBig):
        return error_response(413, "too_large", "The request body is too large.")
    if wants_json(request):
        return error_response(400, "invalid", "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def permission_denied_view(request, exception):
    if wants_json(request):
        return error_response(403, "permission_denied", str(exception) or "Permission denied.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


handler400 = bad_request_view
handler403 = permission_denied_view
handler404 = not_found
handler500 = server_error_view
