"""Reads from PostgreSQL streaming replicas, with read-your-writes.

Settings add an alias per DATABASE_REPLICA_URLS entry (replica1, replica2, ...) and, only
then, the router and the middleware below. Inside a safe request (GET, HEAD, OPTIONS
without If-None-Match or If-Match) reads may go to a replica; everything else goes to the
primary ("default"): writes, migrations, commands (no request), conditional requests, and
the rows whose staleness would be a security or sign-in hole (sessions, users, tokens,
memberships).

Read-your-writes: after a write (an unsafe request answered below 400) the primary's WAL
position is stored in the shared cache for the caller (a digest of their token, or of their
session key). A later safe request of the same caller uses a replica only once its replayed
position has reached that one. A replica whose lag behind the primary exceeds
DATABASE_REPLICA_MAX_LAG_BYTES, that does not answer, or that is not in recovery, is
skipped; with none left the primary answers.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

from .keys import digest

logger = logging.getLogger(__name__)

PRIMARY = "default"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Always from the primary: a token created a moment ago must not answer 401, a new sign-in
# must not look signed out, and a removed member must lose access at once, not after the lag.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions"})
PRIMARY_ONLY_MODELS = frozenset(
    {"opsknowledge.apitoken", "opsknowledge.membership", "opsknowledge.passwordchangerequired"}
)
# How long a caller's last write position is kept: far longer than any lag we accept.
WRITE_POSITION_SECONDS = 300
# A replica that failed to answer is not tried again for this long, so a dead one costs one
# failed connection per process every few seconds rather than one per request.
DOWN_SECONDS = 5.0
# The primary's current position is read at most this often per process: lag is judged
# against a position at most this old (it only understates the lag by what the primary
# wrote meanwhile), and most requests need no query on the primary for it.
PRIMARY_POSITION_MAX_AGE = 1.0


def parse_lsn(text: str) -> int:
    """PostgreSQL's "16/B374D848" as a byte position (what pg_wal_lsn_diff subtracts)."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class ReadScope:
    """One safe request: who asks, and the database its reads use once chosen."""

    caller: str | None
    alias: str | None = None


_scope: ContextVar[ReadScope | None] = ContextVar("replica_read_scope", default=None)


class _Health:
    """What this process knows about its databases (shared by its threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until: dict[str, float] = {}
        self.primary_position = 0
        self.primary_read_at = float("-inf")
        # alias -> bytes behind the primary when last looked at (for /metrics)
        self.lag_bytes: dict[str, int] = {}

    def is_down(self, alias: str, now: float) -> bool:
        return self.down_until.get(alias, 0.0) > now

    def mark_down(self, alias: str, now: float):
        self.down_until[alias] = now + DOWN_SECONDS

    def forget(self):
        with self.lock:
            self.down_until.clear()
            self.lag_bytes.clear()
            self.primary_read_at = float("-inf")


health = _Health()


def _position(alias: str, function: str) -> int | None:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {function}()")
        value = cursor.fetchone()[0]
    return None if value is None else parse_lsn(str(value))


def primary_position(now: float) -> int:
    if now - health.primary_read_at > PRIMARY_POSITION_MAX_AGE:
        position = _position(PRIMARY, "pg_current_wal_lsn")
        with health.lock:
            health.primary_position = max(health.primary_position, position)
            health.primary_read_at = now
    return health.primary_position


def choose(caller: str | None) -> str:
    """A replica that has replayed the caller's last write and lags no more than allowed,
    or the primary."""
    needed = None
    if caller is not None:
        try:
            needed = cache.get(caller)
        except Exception:  # noqa: BLE001 - nobody can tell what the caller wrote: primary
            logger.warning("replica reads are off: the cache cannot be reached", exc_info=True)
            return PRIMARY
    aliases = settings.DATABASE_REPLICAS
    start = random.randrange(len(aliases))
    for alias in aliases[start:] + aliases[:start]:
        now = time.monotonic()
        if health.is_down(alias, now):
            continue
        try:
            replayed = _position(alias, "pg_last_wal_replay_lsn")
        except DatabaseError:
            logger.warning("replica %s does not answer; reading elsewhere", alias, exc_info=True)
            health.mark_down(alias, now)
            with contextlib.suppress(DatabaseError):
                connections[alias].close()
            continue
        if replayed is None:  # not in recovery: promoted, or not a replica at all
            logger.warning("%s is not in recovery: not reading from it", alias)
            health.mark_down(alias, now)
            continue
        lag = max(0, primary_position(now) - replayed)
        health.lag_bytes[alias] = lag
        if needed is not None and replayed < needed:
            continue
        if lag > settings.DATABASE_REPLICA_MAX_LAG_BYTES:
            continue
        return alias
    return PRIMARY


def caller_of(request) -> str | None:
    """The cache key of the caller's write position: their token, else their session (after
    the response, the session's current key: a sign-in gives a new one)."""
    scheme, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "token" and key.strip():
        return "replica-position:token:" + digest(key.strip())
    session = getattr(request, "session", None)
    if session is not None:
        session_key = session.session_key
    else:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return "replica-position:session:" + digest(session_key) if session_key else None


def record_write_position(caller: str):
    try:
        position = _position(PRIMARY, "pg_current_wal_lsn")
        cache.set(caller, position, WRITE_POSITION_SECONDS)
    except Exception:  # noqa: BLE001 - the write is done; say that its reader may see lag
        logger.warning("a write's WAL position could not be stored", exc_info=True)


def may_use_replica(request) -> bool:
    meta = request.META
    return (
        request.method in SAFE_METHODS
        and "HTTP_IF_NONE_MATCH" not in meta
        and "HTTP_IF_MATCH" not in meta
    )


class ReplicaReadsMiddleware:
    """Opens the scope in which the router may use a replica (before sessions and
    authentication, so that they run inside it and the router can keep them on the
    primary), and records the caller's write position after a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if may_use_replica(request):
            token = _scope.set(ReadScope(caller=caller_of(request)))
            try:
                return self.get_response(request)
            finally:
                _scope.reset(token)
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400:
            caller = caller_of(request)
            if caller is not None:
                record_write_position(caller)
        return response


@contextlib.contextmanager
def primary_reads():
    """Reads in this block use the primary, whatever the request could use: for what is
    computed once and then served to many (opsknowledge.hotcache), which must not store
    what a lagging replica still shows under a generation its write has already bumped."""
    token = _scope.set(None)
    try:
        yield
    finally:
        _scope.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        scope = _scope.get()
        if scope is None:
            return PRIMARY
        meta = model._meta
        if meta.app_label in PRIMARY_ONLY_APPS or meta.label_lower in PRIMARY_ONLY_MODELS:
            return PRIMARY
        if scope.alias is None:
            scope.alias = choose(scope.caller)
        return scope.alias

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every alias holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
