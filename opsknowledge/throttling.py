"""Request throttling: one set of counters for the API, the pages, the feeds, `/r/` and sign-in.

DRF's own throttles only see DRF views and count with a read-modify-write of a list in the
cache, which admits more than the limit when workers race. Here every limit is a fixed window
counted with an atomic increment in the shared cache (Redis `INCR` when `CACHE_URL` is set,
the process-local cache otherwise), so 2× the limit sent concurrently through several
gunicorn workers admits exactly the limit.

Who is counted:
- an API token or a signed-in session, per user: `THROTTLE_READ_RATE` / `THROTTLE_WRITE_RATE`;
- an anonymous reader, per address: `THROTTLE_ANONYMOUS_RATE`;
- sign-in attempts, per address (`THROTTLE_LOGIN_RATE`) and, for failed attempts, per user
  name with a growing back-off rather than a lock-out (an attacker must not be able to lock
  a member out by guessing wrong on purpose).

When the cache cannot be reached the request is let through (fail open) and the failure is
logged; `/healthz` reports the cache as down.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from .addresses import client_address

logger = logging.getLogger(__name__)

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str, setting: str = "rate") -> Rate:
        """ "120/min", "5/s", "10000/hour", "30/10s"."""
        try:
            count, _, period = text.strip().partition("/")
            digits = "".join(ch for ch in period if ch.isdigit())
            unit = period[len(digits) :].strip().lower()
            return cls(int(count), int(digits or 1) * _UNITS[unit])
        except (KeyError, ValueError):
            raise ImproperlyConfigured(
                f"{setting}={text!r} is not a rate; write it as <count>/<unit>, "
                "unit one of s, min, hour, day (e.g. 120/min)"
            ) from None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


ALLOWED = Verdict(True)


def _cache():
    return caches[settings.THROTTLE_CACHE]


def consume(scope: str, identity: str, rate: Rate, now: float | None = None) -> Verdict:
    """Count one request of `identity` in `scope`; refused once the window holds `rate.limit`."""
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    key = f"throttle:{scope}:{identity}:{window}"
    retry_after = max(1, math.ceil((window + 1) * rate.seconds - now))
    cache = _cache()
    try:
        # add() is SET NX with an expiry, incr() is INCR: atomic across workers. Should the
        # key expire between the two, incr() finds it gone; start the window again.
        cache.add(key, 0, timeout=rate.seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:
            cache.add(key, 0, timeout=rate.seconds + 1)
            count = cache.incr(key)
    except Exception:  # noqa: BLE001 - any cache failure: fail open, say so
        logger.warning("throttling is off: the cache cannot be reached", exc_info=True)
        return ALLOWED
    if count > rate.limit:
        from .metrics import THROTTLED

        THROTTLED.labels(scope=scope).inc()
        return Verdict(False, retry_after)
    return ALLOWED


def rate_setting(name: str) -> Rate:
    return Rate.parse(getattr(settings, name), name)


def request_verdict(request, user=None, token=None) -> Verdict:
    """The verdict for an ordinary request (not sign-in): by token or user when there is one,
    by address otherwise; writes are counted on their own, stricter rate as well."""
    if not settings.THROTTLE_ENABLED:
        return ALLOWED
    user = user if user is not None else getattr(request, "user", None)
    if token is not None:
        identity = f"token:{token.pk}"
    elif user is not None and user.is_authenticated:
        identity = f"user:{user.pk}"
    else:
        identity = None
    if request.method not in SAFE_METHODS:
        verdict = consume(
            "write",
            identity or f"addr:{client_address(request)}",
            rate_setting("THROTTLE_WRITE_RATE"),
        )
        if not verdict.allowed:
            return verdict
    if identity is None:
        return consume(
            "anonymous", f"addr:{client_address(request)}", rate_setting("THROTTLE_ANONYMOUS_RATE")
        )
    return consume("read", identity, rate_setting("THROTTLE_READ_RATE"))


# --- sign-in -------------------------------------------------------------------------------

LOGIN_FREE_FAILURES = 5
LOGIN_MAX_BACKOFF_SECONDS = 15 * 60


def _failure_key(username: str) -> str:
    return f"throttle:login-failures:{username.strip().lower()[:150]}"


def login_verdict(request, username: str) -> Verdict:
    """Before a sign-in attempt: the per-address rate, then the back-off for this user name."""
    if not settings.THROTTLE_ENABLED:
        return ALLOWED
    verdict = consume(
        "login", f"addr:{client_address(request)}", rate_setting("THROTTLE_LOGIN_RATE")
    )
    if not verdict.allowed or not username:
        return verdict
    try:
        state = _cache().get(_failure_key(username))
    except Exception:  # noqa: BLE001
        logger.warning("sign-in back-off is off: the cache cannot be reached", exc_info=True)
        return ALLOWED
    if not state:
        return ALLOWED
    failures, last_failure = state
    wait = _backoff(failures) - (time.time() - last_failure)
    return Verdict(False, math.ceil(wait)) if wait > 0 else ALLOWED


def _backoff(failures: int) -> float:
    """Free attempts first, then 2, 4, 8 … seconds between attempts, at most 15 minutes."""
    if failures < LOGIN_FREE_FAILURES:
        return 0
    return min(2 ** (failures - LOGIN_FREE_FAILURES + 1), LOGIN_MAX_BACKOFF_SECONDS)


def record_login_failure(username: str) -> None:
    if not settings.THROTTLE_ENABLED or not username:
        return
    key = _failure_key(username)
    try:
        failures, _ = _cache().get(key) or (0, 0)
        # Forgotten a while after the longest back-off: a member is never locked out for good.
        _cache().set(key, (failures + 1, time.time()), timeout=2 * LOGIN_MAX_BACKOFF_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("sign-in back-off is off: the cache cannot be reached", exc_info=True)


def record_login_success(username: str) -> None:
    if not settings.THROTTLE_ENABLED or not username:
        return
    try:
        _cache().delete(_failure_key(username))
    except Exception:  # noqa: BLE001
        logger.warning("sign-in back-off is off: the cache cannot be reached", exc_info=True)
