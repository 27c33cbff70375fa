"""Throttling (opsknowledge.throttling): the limits, who is counted, 429 with Retry-After on
the API and on pages, sign-in back-off, failing open, and exactness across gunicorn workers
on the real Redis."""

import json
import os
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from opsknowledge.addresses import client_address
from opsknowledge.throttling import Rate, consume
from tests.processes import gunicorn, http_get, manage, project_env, scratch_database

REDIS = ("127.0.0.1", 6379)
REQUIRE_REDIS = "OKB_REQUIRE_REDIS"  # CI: a missing Redis fails instead of skipping


def redis_answers() -> bool:
    try:
        socket.create_connection(REDIS, timeout=1).close()
        return True
    except OSError:
        return False


def require_redis():
    if redis_answers():
        return
    if os.environ.get(REQUIRE_REDIS, "").lower() in {"1", "true", "yes", "on"}:
        pytest.fail(f"no Redis answers on {REDIS[0]}:{REDIS[1]} and {REQUIRE_REDIS} is set")
    pytest.skip(f"no Redis on {REDIS[0]}:{REDIS[1]}: the cross-worker throttling test needs one")


LOCAL_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttling-tests",
    }
}


@pytest.fixture
def throttled(settings):
    """Throttling on, with small limits and a cache of this test's own."""
    from django.core.cache import caches

    settings.CACHES = LOCAL_CACHE
    settings.THROTTLE_ENABLED = True
    settings.THROTTLE_ANONYMOUS_RATE = "3/hour"
    settings.THROTTLE_READ_RATE = "5/hour"
    settings.THROTTLE_WRITE_RATE = "2/hour"
    settings.THROTTLE_LOGIN_RATE = "50/hour"
    caches["default"].clear()
    yield settings
    caches["default"].clear()


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("120/min", Rate(120, 60)),
        ("5/s", Rate(5, 1)),
        ("30/10s", Rate(30, 10)),
        ("1000/day", Rate(1000, 86400)),
        (" 7/hour ", Rate(7, 3600)),
    ],
)
def test_rates_are_read_from_their_settings_text(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "ten/min", "5/fortnight", "5"])
def test_a_rate_that_is_not_one_refuses_to_start_naming_the_setting(text):
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_READ_RATE"):
        Rate.parse(text, "THROTTLE_READ_RATE")


def test_a_window_admits_exactly_its_limit_then_says_when_to_come_back(throttled):
    rate = Rate(3, 60)
    now = 6000.0  # 100 windows in: the window ends at 6060
    verdicts = [consume("test", "someone", rate, now=now) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert verdicts[-1].retry_after == 60
    assert consume("test", "someone", rate, now=now + 45).retry_after == 15
    assert consume("test", "someone", rate, now=now + 60).allowed  # the next window
    assert consume("test", "someone else", rate, now=now).allowed


@pytest.mark.django_db
def test_anonymous_api_reads_are_counted_per_address_and_get_429_json(throttled, client):
    statuses = [client.get("/api/v1/runbooks/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get("/api/v1/runbooks/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "throttled"
    # Another address has its own allowance.
    assert client.get("/api/v1/runbooks/", REMOTE_ADDR="192.0.2.7").status_code == 200


@pytest.mark.django_db
def test_a_token_is_counted_as_itself_not_as_its_address(throttled, client, token_client):
    from opsknowledge.tests.factories import OrganisationFactory, member

    organisation = OrganisationFactory()
    api = token_client(member(organisation), organisation)
    for _ in range(3):
        client.get("/api/v1/runbooks/")  # the address's anonymous allowance is used up
    assert client.get("/api/v1/runbooks/").status_code == 429
    statuses = [api.get("/api/v1/runbooks/").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


@pytest.mark.django_db
def test_pages_feeds_and_alert_links_share_the_anonymous_allowance(throttled, client):
    assert client.get("/runbooks/").status_code == 200
    assert client.get("/feeds/runbooks/").status_code in {200, 404}
    assert client.get("/r/NoSuchAlert").status_code in {200, 302, 404}
    page = client.get("/")
    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    assert b"Too many requests" in page.content
    # Probes and static files are never throttled.
    assert client.get("/healthz").status_code == 200
    assert client.get("/livez").status_code == 200


@pytest.mark.django_db
def test_signin_failures_back_off_per_user_name_and_success_forgets_them(throttled, client):
    from django.contrib.auth.models import User

    User.objects.create_user("operator", password="right-password")
    for _ in range(5):  # free attempts
        response = client.post("/accounts/login/", {"username": "operator", "password": "x"})
        assert response.status_code == 200  # the form again, with its error
    refused = client.post("/accounts/login/", {"username": "operator", "password": "x"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 2
    # Another user name is not held back by someone guessing this one.
    User.objects.create_user("other", password="other-password")
    assert (
        client.post(
            "/accounts/login/", {"username": "other", "password": "other-password"}
        ).status_code
        == 302
    )
    time.sleep(2.1)  # the back-off has passed: the member signs in, which clears the count
    client.logout()
    ok = client.post("/accounts/login/", {"username": "operator", "password": "right-password"})
    assert ok.status_code == 302
    client.logout()
    again = client.post("/accounts/login/", {"username": "operator", "password": "x"})
    assert again.status_code == 200


@pytest.mark.django_db
def test_a_cache_that_cannot_be_reached_lets_requests_through_and_healthz_says_so(settings, client):
    from django.core.cache import caches

    # Nothing listens on port 9 of loopback.
    settings.CACHE_URL = "redis://127.0.0.1:9/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.THROTTLE_ENABLED = True
    settings.THROTTLE_ANONYMOUS_RATE = "1/hour"
    assert [client.get("/api/v1/runbooks/").status_code for _ in range(3)] == [200] * 3
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "error", "database": "ok", "cache": "unavailable"}
    caches["default"].close()


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxy trusted: the peer
        (["10.0.0.0/8"], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # peer not trusted
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # The client wrote the left entry itself; the right-most untrusted one is real.
        (["10.0.0.0/8"], "10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(trusted, remote, forwarded, client, rf):
    with override_settings(TRUSTED_PROXIES=trusted):
        request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        assert client_address(request) == client


def test_exactly_the_limit_is_admitted_across_four_workers_on_redis(tmp_path):
    """2× the limit at once, through 4 gunicorn workers sharing Redis: exactly the limit
    passes. (DRF's own throttle reads, appends and writes back, and admits more.)"""
    require_redis()
    limit = 20
    # Minutes away from the hour's end, so the window cannot turn during the burst.
    if 3600 - time.time() % 3600 < 30:
        time.sleep(3600 - time.time() % 3600 + 1)
    with scratch_database(tmp_path) as database_url:
        env = project_env(
            DEBUG="0",
            SECRET_KEY="x" * 60,
            DATABASE_URL=database_url,
            CACHE_URL=f"redis://{REDIS[0]}:{REDIS[1]}/0",
            THROTTLE_ENABLED="1",
            THROTTLE_ANONYMOUS_RATE=f"{limit}/hour",
            TRUSTED_PROXIES="127.0.0.1/32",
        )
        assert manage("migrate", "-v0", env=env, timeout=300).returncode == 0
        # A documentation address of this run's own: no other run shares its counter, and
        # nothing needs flushing afterwards (the key expires with its window).
        address = f"2001:db8::{os.getpid():x}:{random.randrange(1, 0xFFFF):x}"
        with gunicorn(env, workers=4) as base:

            def fetch(_):
                return http_get(f"{base}/api/v1/runbooks/", {"X-Forwarded-For": address})[0]

            with ThreadPoolExecutor(max_workers=2 * limit) as pool:
                statuses = list(pool.map(fetch, range(2 * limit)))
            status, _, body = http_get(f"{base}/healthz")
    assert sorted(statuses) == [200] * limit + [429] * limit
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok", "cache": "ok"})
