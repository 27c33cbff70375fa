"""The shared cache of anonymous readers' hottest answers (opsknowledge.hotcache): a hit costs
no query, any write invalidates it once committed, ETags and representations stay right,
and nobody but an anonymous reader is ever served from it."""

import http.client
import http.cookies
import json
import re
import statistics
import time
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from opsknowledge import services
from opsknowledge.models import Role
from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Runbook
from runbooks.tests.factories import publish
from tests.processes import gunicorn, manage, project_env, scratch_database
from tests.test_throttling import REDIS, require_redis

pytestmark = pytest.mark.django_db

BRIEFING_API = "/api/v1/upgrade-path/?from=r2&to=r4"
BRIEFING_PAGE = "/upgrade/?from=r2&to=r4"
HOT_URLS = [
    BRIEFING_API,
    BRIEFING_API + "&format=md",
    BRIEFING_PAGE,
    "/r/CephOSDFull",
    "/feeds/runbooks.atom",
    "/feeds/releases.atom",
    "/organisations/alpen/transparency/",
    "/api/v1/organisations/alpen/transparency/",
]


@pytest.fixture
def hot(settings):
    """The hot cache on, in a process-local cache of this test's own (one process: a write
    reaches the only copy there is)."""
    settings.HOT_CACHE = True
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "hot-cache-tests",
        }
    }
    local = caches["default"]
    local.clear()
    yield settings
    local.clear()


@pytest.fixture
def alpen(catalogue, hot):
    alpen = OrganisationFactory(slug="alpen")
    publish(organisation=alpen, slug="ceph", alerts=["CephOSDFull"])
    publish(organisation=alpen, slug="upgrade-r2-to-r3", upgrade_from="r2", upgrade_to="r3")
    return alpen


def queries_of(client, url, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    return response, len(queries)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Runs a write as a request does: its on_commit callbacks run once it is done (the
    test's own transaction never commits)."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run


@pytest.mark.parametrize("url", HOT_URLS)
def test_an_anonymous_hit_costs_no_query_and_is_the_same_answer(client, alpen, url):
    first, filling = queries_of(client, url)
    assert first.status_code in (200, 302), (first.status_code, first.content[:300])
    assert filling > 0
    again, hitting = queries_of(client, url)
    assert hitting == 0
    assert again.status_code == first.status_code
    assert again.content == first.content
    for header in ("Content-Type", "ETag", "Last-Modified", "Location"):
        assert again.get(header) == first.get(header), header
    # The headers the middleware adds to every answer are there on a hit too.
    assert "script-src 'self'" in again["Content-Security-Policy"]
    assert {"Authorization", "Cookie"} <= {v.strip() for v in again["Vary"].split(",")}


def test_with_a_session_cookie_a_hit_costs_the_session_lookup_only(client, alpen):
    client.get(BRIEFING_API)
    client.cookies["sessionid"] = "no-such-session"
    response, count = queries_of(client, BRIEFING_API)
    assert response.status_code == 200 and count == 1


def test_an_api_write_is_seen_by_the_next_anonymous_read(client, token_client, alpen, committed):
    """No stale answer after a 200 to the writer: cached briefing → editor PATCH through
    the API → the anonymous briefing shows the change."""
    before = client.get(BRIEFING_API)
    assert client.get(BRIEFING_API).content == before.content  # served from the cache
    editor = token_client(member(alpen, Role.EDITOR), alpen)
    written = committed(
        editor.patch,
        "/api/v1/runbooks/alpen/upgrade-r2-to-r3/",
        {"title": "Upgrading from R2 to R3, rewritten"},
        format="json",
        HTTP_IF_MATCH="*",
    )
    assert written.status_code == 200, written.content
    after = client.get(BRIEFING_API)
    assert b"rewritten" in after.content and b"rewritten" not in before.content
    assert after["ETag"] != before["ETag"]


def test_a_write_from_any_channel_invalidates_feeds_and_the_resolver(client, alpen, committed):
    feed = client.get("/feeds/runbooks.atom").content
    assert client.get("/r/CephNew").status_code == 404  # errors are not cached
    committed(publish, organisation=alpen, slug="ceph-new", alerts=["CephNew"])
    assert b"ceph-new" in client.get("/feeds/runbooks.atom").content != feed
    assert client.get("/r/CephNew")["Location"] == "/runbooks/alpen/ceph-new/"


def test_a_rolled_back_write_invalidates_nothing(client, alpen, django_capture_on_commit_callbacks):
    client.get(BRIEFING_API)
    runbook = Runbook.objects.get(slug="upgrade-r2-to-r3")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.document_archive(document=runbook, actor=services.Actor.operator(), if_match="*")
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert queries_of(client, BRIEFING_API)[1] == 0


def test_etags_stay_right_and_conditional_requests_are_the_views(client, alpen, committed):
    cached = client.get(BRIEFING_API)
    client.get(BRIEFING_API)
    etag = cached["ETag"]
    assert client.get(BRIEFING_API, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(BRIEFING_API, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    runbook = Runbook.objects.get(slug="upgrade-r2-to-r3")
    committed(
        services.document_archive, document=runbook, actor=services.Actor.operator(), if_match="*"
    )
    changed = client.get(BRIEFING_API)
    assert changed["ETag"] != etag
    assert client.get(BRIEFING_API, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_representations_do_not_mix(client, alpen):
    json_first = client.get(BRIEFING_API)
    markdown = client.get(BRIEFING_API, HTTP_ACCEPT="text/markdown")
    assert json_first["Content-Type"].startswith("application/json")
    assert markdown["Content-Type"].startswith("text/markdown")
    assert markdown["ETag"] != json_first["ETag"]
    assert client.get(BRIEFING_API + "&format=md")["Content-Type"].startswith("text/markdown")
    assert client.get(BRIEFING_API)["Content-Type"].startswith("application/json")


def test_signed_in_readers_and_tokens_are_never_served_from_it(client, token_client, alpen):
    publish(
        organisation=alpen,
        slug="internal-r2-to-r3",
        upgrade_from="r2",
        upgrade_to="r3",
        visibility="organisation",
    )
    anonymous = client.get(BRIEFING_API)
    assert b"internal-r2-to-r3" not in anonymous.content
    viewer = member(alpen, Role.VIEWER)
    assert b"internal-r2-to-r3" in token_client(viewer, alpen).get(BRIEFING_API).content
    client.force_login(viewer)
    assert b"internal-r2-to-r3" in client.get(BRIEFING_API).content
    assert b"internal-r2-to-r3" in client.get(BRIEFING_PAGE).content
    client.logout()
    # And what they were answered never reached the anonymous entries.
    assert b"internal-r2-to-r3" not in client.get(BRIEFING_API).content
    assert b"internal-r2-to-r3" not in client.get(BRIEFING_PAGE).content


def test_off_without_a_shared_cache(client, alpen, settings):
    settings.HOT_CACHE = False
    client.get(BRIEFING_API)
    assert queries_of(client, BRIEFING_API)[1] > 0


def test_a_cache_that_does_not_answer_leaves_the_view_to_answer(client, alpen, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on port 9
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    assert client.get(BRIEFING_API).status_code == 200
    assert client.get(BRIEFING_API).status_code == 200


def median_ms(client, url, runs=30) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def test_a_hit_is_much_faster_than_computing_the_briefing(client, alpen, hot, capsys):
    hot.HOT_CACHE = False
    uncached = median_ms(client, BRIEFING_API)
    hot.HOT_CACHE = True
    client.get(BRIEFING_API)
    cached = median_ms(client, BRIEFING_API)
    with capsys.disabled():
        print(
            f"\nanonymous briefing GET, median: uncached {uncached:.2f} ms, cached {cached:.2f} ms"
        )
    assert cached < uncached


# -- two servers, one database, one Redis: what a load balancer in front of them needs ------


def cookies_of(headers) -> dict:
    jar = http.cookies.SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    return {name: morsel.value for name, morsel in jar.items()}


def request(base, method, path, *, body=None, headers=None):
    """One request, redirects not followed; (status, header list, body)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def sign_in(base, username, password) -> str:
    """The session cookie of a sign-in through the page, as a browser does it."""
    _, headers, page = request(base, "GET", "/accounts/login/")
    csrf = cookies_of(headers)["csrftoken"]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    status, headers, _ = request(
        base,
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
        },
    )
    assert status == 302, status
    return cookies_of(headers)["sessionid"]


def test_two_servers_share_sessions_and_invalidate_each_others_cache(tmp_path):
    """Signed in on one server, the other knows you; an anonymous feed cached by one is
    fresh on it right after a write answered 200 by the other."""
    require_redis()
    password = "pass-" + "x" * 20
    with scratch_database(tmp_path) as database_url:
        env = project_env(
            DEBUG="1",  # pages without collectstatic; nothing here depends on it
            SECRET_KEY="s" * 60,
            DATABASE_URL=database_url,
            CACHE_URL=f"redis://{REDIS[0]}:{REDIS[1]}/0",
            OKB_DEMO_EDITOR_PASSWORD=password,
            OKB_DEMO_VIEWER_PASSWORD=password,
        )
        assert manage("migrate", "-v0", env=env, timeout=300).returncode == 0
        loaded = manage("load_demo", "--with-demo-accounts", env=env, timeout=300)
        assert loaded.returncode == 0, loaded.stderr
        issued = manage("create_token", "demo-editor", "--organisation", "alpenwolke", env=env)
        assert issued.returncode == 0, issued.stderr
        key = issued.stdout.strip()
        log = (tmp_path / "servers.log").open("w")
        with gunicorn(env, log=log) as one, gunicorn(env, log=log) as two:
            session = sign_in(one, "demo-editor", password)
            _, _, home = request(two, "GET", "/", headers={"Cookie": f"sessionid={session}"})
            assert b"Signed in as <strong>demo-editor</strong>" in home

            feed = "/feeds/runbooks.atom"
            before = request(two, "GET", feed)[2]
            assert request(two, "GET", feed)[2] == before  # filled, then a hit
            status, _, body = request(
                one,
                "PATCH",
                "/api/v1/runbooks/alpenwolke/cluster-api-machine-stuck/",
                body=json.dumps({"title": "Machine stuck, as rewritten on server one"}),
                headers={
                    "Authorization": f"Token {key}",
                    "Content-Type": "application/json",
                    "If-Match": "*",
                },
            )
            assert status == 200, body
            after = request(two, "GET", feed)[2]
    assert b"as rewritten on server one" in after and b"rewritten" not in before
