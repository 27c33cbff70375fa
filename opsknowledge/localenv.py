"""var/.env: the local development settings `make run` writes, so that every command in
README works in a new shell without exports.

Settings come from the environment only (opsknowledge/settings.py). The one exception is
this file, and only `manage.py` reads it (never wsgi, gunicorn or pytest), only when DEBUG
is absent from the environment, and it never overrides a variable that is set. A
deployment sets DEBUG (or runs gunicorn) and never sees it, so production still refuses to
start without a real SECRET_KEY.

Django-free: manage.py loads it before Django reads its settings.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from .keys import new_key

# Demo API tokens for the local instance: load_demo --local-instance issues them, so they
# stay the same from one `make run` to the next.
DEMO_TOKENS = {"viewer": "OKB_DEMO_VIEWER_TOKEN", "editor": "OKB_DEMO_EDITOR_TOKEN"}
# Passwords of the demo accounts (the same users) for signing in to the local web UI.
DEMO_PASSWORDS = {"viewer": "OKB_DEMO_VIEWER_PASSWORD", "editor": "OKB_DEMO_EDITOR_PASSWORD"}

HEADER = """\
# Local development settings, written by `make run`; git-ignored. Read by manage.py only,
# and only when DEBUG is not set in the environment; a variable that is set always wins.
# Never used by gunicorn, wsgi or the tests. Delete it to get a new key and new tokens.
"""


def read(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


def load(path: Path, environ=os.environ) -> bool:
    """Fill in what the environment leaves unset from `path`; True when it was read."""
    if "DEBUG" in environ or not path.is_file():
        return False
    for name, value in read(path).items():
        environ.setdefault(name, value)
    return True


def ensure(path: Path, **extra: str) -> dict[str, str]:
    """Write `path` unless it exists, adding any value it lacks; returns its values."""
    values = read(path) if path.is_file() else {}
    wanted = {
        "DEBUG": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        **{variable: new_key() for variable in DEMO_TOKENS.values()},
        **{variable: secrets.token_urlsafe(12) for variable in DEMO_PASSWORDS.values()},
        **extra,
    }
    missing = {name: value for name, value in wanted.items() if name not in values}
    if missing or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
        text += "".join(f"{name}={value}\n" for name, value in missing.items())
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)  # it holds a secret key and API tokens
    return {**values, **missing}


if __name__ == "__main__":  # `make run`: python -m opsknowledge.localenv var/.env
    ensure(Path(sys.argv[1]))
