"""Inputs found by fuzzing the API (schemathesis and hand-made requests) that once gave a
5xx, hung a worker or broke the error format. Each answers a clear 4xx now."""

import io
import json
import tarfile
import zipfile

import pytest
from django.test import override_settings

from opsknowledge.tests.factories import OrganisationFactory, member
from runbooks.models import Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/runbooks/alpen/ceph/"


@pytest.fixture
def editor(catalogue, token_client):
    alpen = OrganisationFactory(slug="alpen")
    publish(organisation=alpen, slug="ceph", body="## Meaning\nx\n")
    return token_client(member(alpen, "editor", username="erika"), alpen)


def error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]


@pytest.mark.parametrize("tag", ['"\u00b2"', '"' + "9" * 5000 + '"', '"abc"', 'W/"x", "y"'])
def test_revision_headers_that_are_not_numbers(editor, tag):
    assert editor.get(URL, HTTP_IF_NONE_MATCH=tag).status_code == 200
    patch = editor.patch(URL, {"title": "x"}, format="json", HTTP_IF_MATCH=tag)
    assert error(patch, 412)["current_revision"] == 1


def test_diff_revision_that_is_not_an_ascii_number(editor):
    assert "to" in error(editor.get(URL + "diff/?to=%C2%B2"), 400)["fields"]


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/runbooks/?updated_since=9999-12-31T23:59:59-14:00", "updated_since"),
        ("/api/v1/incidents/?started_after=9999-12-31T23:59:59-14:00", "started_after"),
        ("/api/v1/incidents/?started_before=0001-01-01T00:00:00%2B14:00", "started_before"),
    ],
)
def test_times_out_of_range(editor, url, field):
    assert field in error(editor.get(url), 400)["fields"]


# PostgreSQL refuses a time zone displacement beyond ±15:59 that Python accepts (up to 23:59).
@pytest.mark.parametrize(
    "url, expected",
    [
        ("/api/v1/runbooks/?updated_since=2000-01-01T00:00:00%2B23:59", 1),
        ("/api/v1/runbooks/?updated_since=2999-01-01T00:00:00-16:00", 0),
        ("/api/v1/incidents/?started_after=2024-01-01T00:00:00%2B16:30", 0),
        ("/api/v1/incidents/?started_before=2024-01-01T00:00:00-23:00", 0),
    ],
)
def test_times_with_offsets_beyond_what_postgresql_accepts(editor, api, url, expected):
    response = api.get(url)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == expected


def test_too_many_words(editor, client):
    words = "+".join(["a"] * 21)
    assert "q" in error(editor.get(f"/api/v1/runbooks/?q={words}"), 400)["fields"]
    page = client.get(f"/search/?q={words}")
    assert page.status_code == 200 and "at most 20 words" in page.content.decode()


def test_ordering_with_two_dashes_and_where_there_is_no_ordering(editor):
    assert "ordering" in error(editor.get("/api/v1/runbooks/?ordering=--title"), 400)["fields"]
    notes = error(editor.get("/api/v1/releases/r3/notes/?ordering=kind"), 400)
    assert notes["fields"]["ordering"] == ["This list cannot be reordered."]


# (Django ignores a charset it does not know and reads UTF-8; these it knows, as non-text.)
@pytest.mark.parametrize("charset", ["rot13", "base64", "hex"])
def test_unsupported_charsets(editor, charset):
    response = editor.generic(
        "PATCH",
        URL,
        b'{"title": "x"}',
        content_type=f"application/json; charset={charset}",
        HTTP_IF_MATCH="*",
    )
    assert charset in error(response, 415)["detail"]


def test_body_over_djangos_own_limit_is_413(editor):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000, API_MAX_BODY_BYTES=100_000):
        body = json.dumps({"title": "x", "body": "y" * 5000})
        response = editor.put(URL, body, content_type="application/json", HTTP_IF_MATCH="*")
    assert error(response, 413)["code"] == "too_large"


def test_errors_stay_json_when_markdown_or_text_was_asked_for(editor):
    briefing = editor.get("/api/v1/upgrade-path/?from=r2&to=r99", HTTP_ACCEPT="text/markdown")
    assert "r99" in error(briefing, 404)["detail"]
    diff = editor.get("/api/v1/runbooks/alpen/nope/diff/", HTTP_ACCEPT="text/plain")
    error(diff, 404)


def test_post_to_an_unknown_api_url_with_a_session_is_a_json_404(client, editor):
    client.force_login(member(OrganisationFactory(slug="north"), "editor"))
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/v1/nowhere/", {}, content_type="application/json")
    error(response, 404)
    put = client.put("/api/v1/runbooks/alpen/%C3%A9t%C3%A9/", "{}", content_type="application/json")
    assert put.status_code in (403, 404) and put["Content-Type"] == "application/json"


def test_adopting_under_an_overlong_slug(editor):
    response = editor.post(URL + "adopt/", {"slug": "a" * 500}, format="json")
    assert "slug" in error(response, 400)["fields"]


def test_a_review_alone_is_saved_as_a_revision(editor):
    response = editor.patch(
        URL, {"last_reviewed": "2026-01-02"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200 and response.json()["last_reviewed"] == "2026-01-02"
    assert response["ETag"] == '"2"'


def test_linking_the_same_runbook_twice_is_a_400(editor):
    link = {"runbook": "alpen/ceph", "relation": "used"}
    response = editor.put(
        "/api/v1/incidents/alpen/x/", {"title": "X", "runbooks": [link, link]}, format="json"
    )
    assert "linked twice" in error(response, 400)["fields"]["runbooks"][0]


def test_briefing_if_none_match_star_and_empty_kinds(editor):
    assert (
        editor.get("/api/v1/upgrade-path/?from=r2&to=r4", HTTP_IF_NONE_MATCH="*").status_code == 304
    )
    body = editor.get("/api/v1/upgrade-path/?from=r2&to=r4&kind=,,,").json()
    assert body["kinds"] == ["upgrade", "deprecation", "removal", "security", "known-issue"]


def upload(client, data, content_type="application/gzip"):
    return client.post("/api/v1/import/", data, content_type=content_type)


def tar_of(files: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            raw = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def test_multipart_fields_that_are_not_files(editor):
    def post(data):
        return editor.post("/api/v1/import/", data, format="multipart")

    assert "file" in error(post({"file": "notafile"}), 400)["fields"]
    assert "file" in error(post({"archive": "x"}), 400)["fields"]


def test_a_json_body_that_is_no_status_page_export_is_a_400(editor):
    # A JSON body is a status-page export (API.md "Importing"); one that is not is refused
    # whole, naming what was expected.
    refused = error(editor.post("/api/v1/import/", {"file": "notafile"}), 400)
    assert "incident" in refused["fields"]["incidents"][0]


def broken_zip(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/Alert.md", "# Alert\n" * 50)
    data = bytearray(buffer.getvalue())
    if kind == "corrupt":
        start = 30 + len("a/Alert.md")  # the compressed stream follows the local header
        data[start : start + 8] = b"\xff" * 8
    elif kind == "encrypted":
        data[6] |= 0x01  # the general purpose flag: encrypted
        central = data.index(b"PK\x01\x02")
        data[central + 8] |= 0x01
    elif kind == "method":
        data[8] = 97  # an unsupported compression method
        central = data.index(b"PK\x01\x02")
        data[central + 10] = 97
    return bytes(data)


@pytest.mark.parametrize("kind", ["corrupt", "encrypted", "method"])
def test_zip_members_that_cannot_be_read(editor, kind):
    assert "file" in error(upload(editor, broken_zip(kind), "application/zip"), 400)["fields"]


@pytest.mark.parametrize(
    "front_matter, reason",
    [
        ("1: a\ntitle: x", "front matter keys must be words"),
        ("last_reviewed: 2020-02-30", "invalid front matter"),
        ("summary: 0x" + "f" * 5000, "too large"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\ntags: [*b]",
            "anchors and aliases are not allowed",
        ),
    ],
)
def test_hostile_front_matter_fails_that_file_alone(editor, front_matter, reason):
    archive = tar_of(
        {"ceph/Bad.md": f"---\n{front_matter}\n---\n# Bad\n", "ceph/Good.md": "# Good\n"}
    )
    body = upload(editor, archive).json()
    assert (body["ok"], body["created"], body["failed"]) == (False, 1, 1)
    failed = next(f for f in body["files"] if f["outcome"] == "failed")
    assert failed["file"] == "ceph/Bad.md" and reason in failed["note"]
    assert Runbook.objects.filter(slug="good").exists()


def test_release_list_refuses_reordering(api, catalogue):
    assert "ordering" in error(api.get("/api/v1/releases/?ordering=-slug"), 400)["fields"]


def test_errors_of_the_schema_endpoints_are_json_too(api):
    error(api.post("/api/schema/"), 405)
    error(api.post("/api/docs/"), 405)


LIST_PARAMETERS = {
    "/api/v1/runbooks/": {
        "organisation": "nope", "component": "nope", "release": "nope", "status": "nope",
        "visibility": "nope", "updated_since": "yesterday", "upgrade_from": "nope",
        "upgrade_to": "nope", "page": "x", "page_size": "true", "ordering": "nope",
        "tag": None, "q": None, "alert": None,
    },
    "/api/v1/incidents/": {
        "severity": "sev9", "started_after": "soon", "started_before": "-1",
        "has_open_actions": "maybe", "runbook": "no-slash", "page": "0", "page_size": "-5",
    },
    "/api/v1/components/": {"page_size": "1.5", "page": "²", "parent__slug": None},
    "/api/v1/releases/r3/notes/": {
        "kind": "nope", "component": "nope", "organisation": "nope", "page_size": "x",
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "url, name, invalid",
    [(url, name, bad) for url, names in LIST_PARAMETERS.items() for name, bad in names.items()],
)
def test_an_empty_parameter_is_absent_and_an_invalid_one_is_a_400(editor, url, name, invalid):
    everything = editor.get(url).json()
    empty = editor.get(url, {name: ""})
    assert empty.status_code == 200, empty.content
    assert empty.json()["count"] == everything["count"]
    if invalid is not None:
        assert name in error(editor.get(url, {name: invalid}), 400)["fields"]


def test_a_page_past_the_last_is_still_a_404(editor):
    error(editor.get("/api/v1/runbooks/?page=99"), 404)
    assert editor.get("/api/v1/runbooks/?page=last").status_code == 200


def test_what_the_fuzzer_found_in_the_write_path(demo, token_client):
    """schemathesis (make fuzz) as an editor: a partial runbook link was a 500, and adopt
    took a list or a null organisation for an empty body."""
    from opsknowledge.models import Organisation
    from opsknowledge.tests.factories import member

    alpen = Organisation.objects.get(slug="alpenwolke")
    client = token_client(member(alpen, "editor"), alpen)
    report = client.get("/api/v1/incidents/?organisation=alpenwolke").json()["results"][0]
    url = report["api_url"]
    response = client.patch(
        url, {"runbooks": [{"relation": "used"}]}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"runbooks.0.runbook": ["This field is required."]}
    runbook = client.get("/api/v1/runbooks/?organisation=scs&visibility=public").json()["results"][
        0
    ]
    adopt = runbook["api_url"] + "adopt/"
    assert client.post(adopt, [None, None], format="json").status_code == 400
    response = client.post(adopt, {"organisation": None}, format="json")
    assert response.status_code == 400
    assert "organisation" in response.json()["error"]["fields"]
    for kind in ("runbooks", "practices", "incidents"):
        response = client.post(
            f"/api/v1/{kind}/", {"organisation": None, "slug": "x", "title": "X"}, format="json"
        )
        assert response.status_code == 400
        assert "organisation" in response.json()["error"]["fields"]
