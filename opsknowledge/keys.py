"""API token keys: how they look and how they are stored. Django-free, so that the local
development settings (opsknowledge.localenv) can mint demo keys before Django starts."""

import hashlib
import secrets

TOKEN_PREFIX = "okb_"


def new_key() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
