"""The errors of the domain: what services raise when a write cannot happen.

They know nothing of HTTP. The API's exception handler maps them to the contract's error
body (../API.md "Conventions"), forms map them to field errors, importers to a failed file:

- Django's `ValidationError` (content breaks a rule; with a field → messages dict) → 400,
- Django's `PermissionDenied` (the caller may not write there) → 403,
- `NotFound` → 404, `Conflict` → 409, `PreconditionFailed` → 412,
  `PreconditionRequired` → 428.
"""

from django.core.exceptions import PermissionDenied, ValidationError

__all__ = [
    "Conflict",
    "DomainError",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "PreconditionRequired",
    "UnacknowledgedWarnings",
    "ValidationError",
]


class DomainError(Exception):
    """A write refused for a reason other than its content; `message` says why."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotFound(DomainError):
    """What the write refers to does not exist (or the caller may not know it does)."""


class Conflict(DomainError):
    """The write conflicts with the stored state (a taken slug, a licence, a reference)."""


class PreconditionFailed(DomainError):
    """If-Match names a revision that is not the current one (or the document is missing)."""

    def __init__(self, current_revision: int | None, message: str | None = None):
        self.current_revision = current_revision
        super().__init__(
            message
            or f"If-Match does not match the current revision {current_revision}: "
            f'fetch it, reapply your change and send If-Match: "{current_revision}".'
        )


class PreconditionRequired(DomainError):
    """A change to an existing document without saying which revision it is based on."""

    def __init__(self, current_revision: int):
        self.current_revision = current_revision
        super().__init__(
            f"This change needs If-Match with the revision it is based on; the current "
            f'revision is {current_revision} (If-Match: "{current_revision}", or "*" to '
            "replace whatever is current)."
        )


class UnacknowledgedWarnings(ValidationError):
    """Publishing a document whose warnings (blameless language, redaction) nobody has
    acknowledged. Carries the warnings, so every caller can show them."""

    def __init__(self, warnings: list[dict]):
        self.warnings = warnings
        super().__init__(
            {
                "acknowledge_warnings": [
                    f"This document has {len(warnings)} warning(s); publishing it needs "
                    '"acknowledge_warnings": true in the same request.'
                ]
            }
        )
