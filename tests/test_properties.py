"""Properties that must hold for any input, checked with hypothesis under a fixed profile
(derandomised, a bounded number of examples: the same cases on every run, in CI time):

- the Markdown renderer never emits script, event handlers or dangerous URL schemes, and
  finishes in bounded time;
- the importer never crashes on arbitrary names, bytes or front matter: errors are per file;
- the search query parser and the search endpoint take any string without a 5xx;
- any sequence of PUT/PATCH/DELETE with current, stale, missing or `*` If-Match neither loses
  nor duplicates a revision.
"""

import contextlib
import html
import io
import re
import tarfile
import time
from html.parser import HTMLParser

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from opsknowledge import markdown
from opsknowledge.search.query import QueryError, parse

# Fixed, bounded: derandomize makes every run try the same examples; each test says how many.
settings.register_profile(
    "opsknowledge",
    derandomize=True,
    deadline=None,  # wall-clock limits are asserted below, generously, where they matter
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
    print_blob=True,
)
settings.load_profile("opsknowledge")

# -- the renderer ---------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))", "[x](&#106;avascript:alert(1))", "<a href=\"vbscript:x\">v</a>",
    "![i](data:text/html;base64,PHNjcmlwdD4=)", "<iframe src=//evil>", "<svg onload=alert(1)>",
    "<style>*{}</style>", "<a href=\" javascript:x\">s</a>", "<form action=/x><input></form>",
    "<math><mi xlink:href=javascript:x>", "[x](java\tscript:x)", "<details open ontoggle=x>",
    "```html\n<script>x</script>\n```", "<object data=x>", "<base href=//evil>",
]  # fmt: skip
MARKDOWN_BITS = [
    "# ", "## ", "- ", "1. ", "> ", "```", "`", "*", "_", "[", "]", "(", ")", "<", ">", "|",
    "---", "\n", "\n\n", "    ", "&amp;", "&#", "![", "- [ ] ", "<div>", "</div>", "\\",
]  # fmt: skip
markdown_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.sampled_from(MARKDOWN_BITS), st.text(max_size=20)),
    max_size=40,
).map("".join)

DANGEROUS_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "base",
                  "meta", "link", "svg", "math", "frame", "frameset"}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")


class Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def offences(rendered: str) -> list[str]:
    parser = Elements()
    parser.feed(rendered)
    found = []
    for tag, attrs in parser.found:
        if tag in DANGEROUS_TAGS and not (tag == "input" and dict(attrs).get("type") == "checkbox"):
            found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"{tag} {name}=")
            if name in URL_ATTRIBUTES and value:
                # What a browser would see: entities decoded, controls and spaces dropped.
                seen = re.sub(r"[\x00-\x20]", "", html.unescape(value)).lower()
                scheme = SCHEME.match(seen)
                if scheme and scheme.group(1) not in markdown.URL_SCHEMES:
                    found.append(f"{tag} {name}={value!r}")
    return found


@settings(max_examples=300)
@given(markdown_text)
def test_the_renderer_never_emits_script_handlers_or_dangerous_urls(text):
    started = time.perf_counter()
    try:
        rendered = markdown.render_within_limits(text)
    except markdown.TooComplex:
        return
    assert time.perf_counter() - started < 5, "rendering took longer than any page may wait"
    assert offences(rendered) == [], (text, rendered)


def test_the_offence_check_itself_sees_what_it_looks_for():
    # Guard against a property that cannot fail: unsanitised HTML offends.
    raw = '<script>x</script><img src=x onerror=y><a href="&#106;avascript:x">a</a>'
    assert len(offences(raw)) == 3
    assert offences(markdown.render(raw)) == []


# -- the search query parser ----------------------------------------------------------------


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_the_query_parser_takes_any_string(text):
    with contextlib.suppress(QueryError):
        parse(text)


@pytest.mark.django_db
@settings(max_examples=80)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=120))
def test_the_search_endpoint_answers_any_query_with_200_or_a_clear_400(client, text):
    response = client.get("/api/v1/search/", {"q": text})
    assert response.status_code in {200, 400}, (text, response.content[:300])
    if response.status_code == 400:
        assert "q" in response.json()["error"].get("fields", {})


# -- the importer ---------------------------------------------------------------------------

names = st.lists(
    st.one_of(
        st.sampled_from(["ceph", "nova", "..", ".", "", "runbooks", "ÜML", "a b", "-x"]),
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    ),
    min_size=1,
    max_size=4,
).map(lambda parts: "/".join(parts) + ".md")
front_matter = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(
            [
                "title",
                "slug",
                "summary",
                "components",
                "tags",
                "alerts",
                "status",
                "visibility",
                "severity",
                "license",
                "last_reviewed",
                "x",
                "1",
            ]
        ),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=2)
            ),
            max_leaves=6,
        ),
        max_size=6,
    ).map(lambda fm: yaml.safe_dump(fm, allow_unicode=True)),
    st.text(max_size=60),  # not YAML at all
)
contents = st.one_of(
    st.tuples(front_matter, markdown_text)
    .map(lambda pair: (f"---\n{pair[0]}---\n" if pair[0] is not None else "") + pair[1])
    .map(str.encode),
    st.binary(max_size=200),
)


def archive_of(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, raw in files:
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


class ImporterProperties(TestCase):
    """Each example in its own transaction (hypothesis' Django TestCase)."""

    def client_for_editor(self):
        from rest_framework.test import APIClient

        from opsknowledge.models import APIToken
        from opsknowledge.tests.factories import OrganisationFactory, member

        organisation = OrganisationFactory(slug="props")
        _, key = APIToken.issue(user=member(organisation, "editor"), organisation=organisation)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    @settings(max_examples=30)
    @given(st.lists(st.tuples(names, contents), min_size=1, max_size=5))
    def test_the_importer_fails_bad_files_one_by_one_and_never_crashes(self, files):
        client = self.client_for_editor()
        response = client.post(
            "/api/v1/import/", archive_of(files), content_type="application/gzip"
        )
        assert response.status_code in {200, 400, 413}, response.content[:500]
        body = response.json()
        if response.status_code != 200:
            assert body["error"]["detail"]
            return
        counted = sum(body[key] for key in ("created", "updated", "unchanged", "skipped", "failed"))
        assert counted == len(body["files"])
        assert {f["outcome"] for f in body["files"]} <= {
            "created",
            "updated",
            "unchanged",
            "skipped",
            "failed",
        }
        assert all(f["note"] for f in body["files"] if f["outcome"] == "failed")


# -- revisions under concurrent-style preconditions -----------------------------------------

PRECONDITIONS = ["current", "stale", "none", "star"]
operations = st.lists(
    st.tuples(
        st.sampled_from(["put", "patch", "delete"]),
        st.sampled_from(PRECONDITIONS),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=10,
)


class RevisionProperties(TestCase):
    URL = "/api/v1/runbooks/props/disk-full/"

    @settings(max_examples=25)
    @given(operations)
    def test_no_sequence_of_writes_loses_or_duplicates_a_revision(self, steps):
        client = ImporterProperties.client_for_editor(self)
        first = {
            "title": "Disk full",
            "summary": "v0",
            "body": "## Steps\n\nv0\n",
            "status": "published",
        }
        assert client.put(self.URL, first, format="json").status_code == 201
        model = {"revision": 1, "summary": "v0", "status": "published"}
        for verb, precondition, variant in steps:
            headers = {}
            if precondition == "current":
                headers["HTTP_IF_MATCH"] = f'"{model["revision"]}"'
            elif precondition == "stale":
                headers["HTTP_IF_MATCH"] = f'"{model["revision"] + 7}"'
            elif precondition == "star":
                headers["HTTP_IF_MATCH"] = "*"
            summary = f"v{variant}"
            if verb == "put":
                body = {**first, "summary": summary, "status": "published"}
                response = client.put(self.URL, body, format="json", **headers)
                proposed = {"summary": summary, "status": "published"}
            elif verb == "patch":
                response = client.patch(self.URL, {"summary": summary}, format="json", **headers)
                proposed = {"summary": summary, "status": model["status"]}
            else:
                response = client.delete(self.URL, **headers)
                proposed = {"summary": model["summary"], "status": "archived"}
            changes = proposed != {"summary": model["summary"], "status": model["status"]}
            if not changes or precondition in {"current", "star"}:
                expected = {200}
            elif precondition == "stale":
                expected = {412}
            else:
                expected = {428}
            assert response.status_code in expected, (verb, precondition, response.content)
            if response.status_code == 200 and changes:
                model.update(proposed, revision=model["revision"] + 1)
            stored = client.get(self.URL).json()
            assert (stored["revision"], stored["summary"], stored["status"]) == (
                model["revision"],
                model["summary"],
                model["status"],
            ), (verb, precondition)
        listed = client.get(self.URL + "revisions/").json()
        numbers = sorted(r["number"] for r in listed.get("results", listed))
        assert numbers == list(range(1, model["revision"] + 1))
