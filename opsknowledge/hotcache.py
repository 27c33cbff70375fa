"""A shared cache of the answers anonymous readers fetch most: the upgrade briefing (page and
API), `/r/<alert>`, the Atom feeds and the public transparency figures.

Only anonymous readers are served from it (no session user, no Authorization header), so
what one reader may see never reaches another. It is on when `CACHE_URL` names a Redis
(settings.HOT_CACHE): a process-local cache would keep serving a page in the other workers
after a write, as the write could only invalidate its own process's copy.

An entry's key carries the content generation, an integer in the cache that every write
bumps once it has committed (`content_changed`, called by the audit log, which every write
service records in): after a 200 to a writer, no reader gets the page as it was before. The
generation is read before the answer is computed, so an answer computed while a write
commits is stored under the old generation, which nobody looks up any more.

Conditional requests (If-None-Match, If-Match, ...) are answered by the view as without the
cache: it computes the ETag and the 304. A cached answer keeps the ETag it was computed with,
which is right as long as the generation has not moved.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.core.cache import caches
from django.db import transaction
from django.http import HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import timezone

from .replicas import primary_reads

logger = logging.getLogger(__name__)

GENERATION_KEY = "hotcache:generation"
# Writes invalidate at once; the lifetime only bounds what depends on the clock (the
# transparency figures' "last 365 days", runbook freshness) and the memory entries take.
ENTRY_SECONDS = 300
# Errors are not cached; redirects are (`/r/<alert>` answers most with a 302).
CACHEABLE_STATUSES = frozenset({200, 301, 302, 307, 308})
CONDITIONAL_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)
# The only reader class cached; part of every key, so that caching answers for other readers
# later cannot meet these.
ANONYMOUS = "anonymous"


def _cache():
    return caches["default"]


def generation() -> int:
    cache = _cache()
    current = cache.get(GENERATION_KEY)
    if current is None:
        # Started from the clock, not 0: should the key be evicted, the generation never comes
        # back to a number that older entries were stored under.
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        current = cache.get(GENERATION_KEY)
    return current


def _bump() -> None:
    cache = _cache()
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # no generation yet (or evicted): any new one is past the old
            cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
    except Exception:  # noqa: BLE001 - a write must not fail on the cache; entries expire
        logger.warning("hot cache not invalidated: the cache cannot be reached", exc_info=True)


def content_changed() -> None:
    """A write is happening: once it commits, every cached answer is out of date. Rolled
    back, nothing changed and nothing is invalidated."""
    if settings.HOT_CACHE:
        transaction.on_commit(_bump)


def _anonymous(request) -> bool:
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    user = getattr(request, "user", None)
    return user is not None and not user.is_authenticated


def _has_messages(request) -> bool:
    """Messages waiting for this reader (a cookie, or the session they fell back to) are
    rendered into the page: that page is theirs alone."""
    if CookieStorage.cookie_name in request.COOKIES:
        return True
    session = getattr(request, "session", None)
    # Loaded already by the anonymity check when there is a cookie; no query without one.
    return session is not None and bool(session.get(SessionStorage.session_key))


def _cacheable_request(request) -> bool:
    return (
        settings.HOT_CACHE
        and request.method == "GET"
        and not any(name in request.META for name in CONDITIONAL_HEADERS)
        and _anonymous(request)
        and not _has_messages(request)
    )


def entry_key(request, content_generation: int) -> str:
    """Generation, address (scheme and host: bodies hold absolute links), path, the query
    sorted, the representation asked for (Accept; `?format=` is in the query), the reader
    class and the day (periods end today)."""
    query = urlencode(sorted((k, v) for k, values in request.GET.lists() for v in values))
    parts = (
        request.scheme,
        request.get_host(),
        request.path,
        query,
        request.META.get("HTTP_ACCEPT", ""),
        ANONYMOUS,
        timezone.localdate().isoformat(),
    )
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"hotcache:{content_generation}:{digest}"


def _storable(request, response) -> bool:
    return (
        response.status_code in CACHEABLE_STATUSES
        and not response.streaming
        and not response.cookies
        # The page used the reader's CSRF token (a form): another reader's would not match.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def _entry(response) -> tuple:
    return (response.status_code, response.content, list(response.items()))


def _response(entry) -> HttpResponse:
    status, content, headers = entry
    return HttpResponse(content, status=status, headers=dict(headers))


def _fill(view, request, *args, **kwargs):
    """Compute the answer an entry is made of. The one place an entry's content is read
    from the database: with read replicas, it must come from the primary (or a replica that
    has replayed the invalidating write), or a stale answer would be stored under the new
    generation. A page is rendered here too: its template may still run queries (a lazy
    queryset, a related object), and rendered later they would read wherever the request
    reads. A DRF answer is rendered by its view's dispatch; its data is computed by now."""
    with primary_reads():
        response = view(request, *args, **kwargs)
        # A DRF answer has no template (its renderer is chosen by dispatch, after this).
        if isinstance(response, SimpleTemplateResponse) and response.template_name is not None:
            response.render()
        return response


def hot_cached(view):
    """Serve `view`'s answers to anonymous GETs from the shared cache. For a DRF view,
    decorate its handler (`get`): authentication, content negotiation and throttling run
    before it, hit or miss."""

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        if not _cacheable_request(request):
            return view(request, *args, **kwargs)
        try:
            key = entry_key(request, generation())
            found = _cache().get(key)
        except Exception:  # noqa: BLE001 - without the cache, answer as without it
            logger.warning("hot cache skipped: the cache cannot be reached", exc_info=True)
            return view(request, *args, **kwargs)
        if found is not None:
            return _response(found)
        response = _fill(view, request, *args, **kwargs)

        def store(rendered):
            if not _storable(request, rendered):
                return
            try:
                _cache().set(key, _entry(rendered), ENTRY_SECONDS)
            except Exception:  # noqa: BLE001
                logger.warning("hot cache not filled: the cache cannot be reached", exc_info=True)

        if getattr(response, "is_rendered", True):
            store(response)
        else:  # a template (or DRF) response: stored once rendered, as it will be sent
            response.add_post_render_callback(store)
        return response

    return cached_view
