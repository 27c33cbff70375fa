from django.http import HttpResponseBadRequest

from .api.errors import error_response, wants_json


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
