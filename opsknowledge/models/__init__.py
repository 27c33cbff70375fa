from .accounts import PasswordChangeRequired
from .audit import AuditEvent
from .catalogue import Component, Membership, Organisation, Release, Role
from .documents import Document, Language, License, Status, Visibility
from .revisions import Revision
from .search import SearchEntry, SearchWord
from .stamps import BriefingStamp
from .tokens import APIToken

__all__ = [
    "APIToken",
    "AuditEvent",
    "BriefingStamp",
    "Component",
    "Document",
    "Language",
    "License",
    "Membership",
    "Organisation",
    "PasswordChangeRequired",
    "Release",
    "Revision",
    "Role",
    "SearchEntry",
    "SearchWord",
    "Status",
    "Visibility",
]
