from .catalogue import Component, Membership, Organisation, Release, Role
from .documents import Document, License, Status, Visibility
from .release_notes import BRIEFING_KINDS, NoteKind, ReleaseNote
from .revisions import Revision
from .tokens import APIToken

__all__ = [
    "APIToken",
    "Component",
    "Document",
    "License",
    "BRIEFING_KINDS",
    "Membership",
    "NoteKind",
    "Organisation",
    "Release",
    "ReleaseNote",
    "Revision",
    "Role",
    "Status",
    "Visibility",
]
