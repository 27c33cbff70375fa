"""A request id on every log line and on every response (`X-Request-ID`).

A proxy that already assigns ids passes its own in `X-Request-ID`; it is kept when it looks
like an id (letters, digits, `.`, `_`, `-`, at most 64), so one id follows a request through
the proxy's logs and ours. Anything else is replaced: a header is client input and must not
be able to write arbitrary text into log lines.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.core.signals import request_finished

_ACCEPTABLE = re.compile(r"[A-Za-z0-9._-]{1,64}")
current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def request_id_for(header: str | None) -> str:
    if header and _ACCEPTABLE.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, "-" outside a request (commands, start-up)."""

    def filter(self, record):
        record.request_id = current_request_id.get()
        return True


def _forget_request_id(**kwargs):
    current_request_id.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="opsknowledge.requestid")
