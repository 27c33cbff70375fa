import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from .errors import TooLarge


def _find_nul(value, path=""):
    """The dotted path of the first string (key or value) holding a NUL byte, or None."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _find_nul(item, here)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, made total: a body over the size limit is 413, deeply nested JSON
    (RecursionError, which DRF does not catch) and NUL bytes (which PostgreSQL refuses)
    are 400 naming the problem."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise TooLarge(f"The request body exceeds {limit} bytes.")
        if not raw.strip():
            raise ParseError("The request body is empty; send a JSON object.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except RecursionError:
            raise ParseError("JSON parse error: nested too deeply.") from None
        except LookupError:  # an unknown charset, or a codec that is not text (base64)
            raise UnsupportedMediaType(
                media_type, f"Unsupported charset '{encoding}': send JSON as UTF-8."
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
        where = _find_nul(data)
        if where:
            raise ParseError(f"JSON parse error: '{where}' contains a NUL character.")
        return data


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")
