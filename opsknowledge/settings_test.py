"""Test settings: the real settings, with a fixed key and a fast password hasher.

The database comes from DATABASE_URL like everywhere else; `make test` runs the suite once
on SQLite and, when TEST_DATABASE_URL is set, again with DATABASE_URL pointing there.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-django-checks")

from opsknowledge.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Plain storage: tests render pages without running collectstatic first
# (tests/test_site_shell.py collects once into a temporary folder to prove the manifest).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Throttling is off except in the throttling tests (they switch it on): browser tests and
# README's examples all come from 127.0.0.1 and would share one anonymous allowance.
THROTTLE_ENABLED = False
# The hot cache is off except in its own tests (tests/test_hot_cache.py switch it on): tests
# that share one cache and roll their database back would meet each other's answers.
HOT_CACHE = False
# Tests that use a shared Redis write under a prefix of their own run and never flush it.
if CACHE_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"okb-test-{os.getpid()}"  # noqa: F405
