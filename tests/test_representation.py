"""The API's cheap representation paths give exactly what DRF and Django would.

`ReadersMixin` (opsknowledge/api/representation.py) replaces DRF's per-row field loop and
`opsknowledge.paths` replaces `reverse`/`build_absolute_uri` per address; both exist only
for speed, so every response must be byte-for-byte what the general code gives: the same
keys in the same order, the same values.
"""

import json
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from incidents.models import FailureReport
from opsknowledge.api.representation import ReadersMixin
from opsknowledge.models import Organisation
from opsknowledge.paths import absolute_url, document_path
from opsknowledge.tests.factories import member
from runbooks.api.serializers import RunbookSerializer
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/v1/runbooks/?page_size=200",
    "/api/v1/runbooks/?component=ceph",
    "/api/v1/practices/?page_size=200",
    "/api/v1/incidents/?page_size=200",
    "/api/v1/releases/r3/notes/?page_size=200",
    "/api/v1/upgrade-path/?from=r1&to=r4",
]
LISTS = ENDPOINTS[:4]


def ordered(response):
    """The JSON body with every object as a list of (key, value) pairs: order counts."""
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content, object_pairs_hook=list)


def as_drf_would(monkeypatch):
    monkeypatch.setattr(ReadersMixin, "to_representation", serializers.Serializer.to_representation)


def detail_urls(client):
    urls = []
    for listing in LISTS:
        results = client.get(listing).json()["results"]
        assert results, f"the demo content has nothing at {listing}"
        urls += [item["api_url"] for item in results[:5]]
    return urls


@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_lists_and_details_are_what_drfs_own_loop_gives(demo, api, monkeypatch, reader):
    if reader == "member":
        organisation = Organisation.objects.get(slug="alpenwolke")
        api.force_login(member(organisation))  # sees its drafts, lint and internal documents
    urls = ENDPOINTS + detail_urls(api)
    fast = [ordered(api.get(url)) for url in urls]
    as_drf_would(monkeypatch)
    general = [ordered(api.get(url)) for url in urls]
    for url, mine, drfs in zip(urls, fast, general, strict=True):
        assert mine == drfs, url


@pytest.mark.parametrize("reader", ["anonymous", "member"])
def test_details_read_from_page_values_are_what_the_relations_give(demo, api, monkeypatch, reader):
    """A detail loads its relations as a list page's values; without them the serializer
    reads each relation through the model, and must show exactly the same."""
    from opsknowledge.api.documents import DocumentViewSet

    if reader == "member":
        organisation = Organisation.objects.get(slug="alpenwolke")
        api.force_login(member(organisation))
    urls = detail_urls(api)
    fast = [ordered(api.get(url)) for url in urls]
    monkeypatch.setattr(DocumentViewSet, "load_page_values", lambda self, *args: None)
    general = [ordered(api.get(url)) for url in urls]
    for url, mine, through_the_model in zip(urls, fast, general, strict=True):
        assert mine == through_the_model, url


def test_the_briefing_has_runbooks_and_reports_to_compare(demo, api):
    steps = api.get(ENDPOINTS[-1]).json()["steps"]
    assert any(step["runbooks"] for step in steps)
    assert any(step["incidents"] for step in steps)


class RelatedColumns(ReadersMixin, serializers.Serializer):
    organisation = serializers.CharField(source="organisation.slug")
    defaulted = serializers.CharField(source="missing.slug", default="none")
    nullable = serializers.CharField(source="missing.slug", allow_null=True)
    optional = serializers.CharField(source="missing.slug", required=False)
    number = serializers.IntegerField(source="organisation.pk")
    called = serializers.CharField(source="method.slug")


class Row:
    """A row whose relation `missing` is empty, and whose `method` is a callable."""

    def __init__(self, organisation):
        self.organisation = organisation
        self.missing = None

    def method(self):
        return SimpleNamespace(slug="called")


def test_related_columns_follow_drfs_rules_for_missing_rows_and_callables(demo, monkeypatch):
    rows = [Row(organisation) for organisation in Organisation.objects.all()[:3]]
    mapping = {"organisation": {"slug": "from-a-dict", "pk": 7}, "missing": None,
               "method": {"slug": "text"}}  # fmt: skip
    fast = RelatedColumns([*rows, mapping], many=True).data
    as_drf_would(monkeypatch)
    general = RelatedColumns([*rows, mapping], many=True).data
    assert fast == general
    assert fast[0]["defaulted"] == "none" and fast[0]["nullable"] is None
    assert "optional" not in fast[0]
    assert fast[0]["called"] == "called"
    assert fast[-1]["organisation"] == "from-a-dict"


def test_times_are_in_the_requests_time_zone_as_drf_gives_them(demo, monkeypatch):
    request = APIRequestFactory().get("/api/v1/runbooks/")
    request.user = AnonymousUser()
    runbooks = list(Runbook.objects.select_related("organisation")[:5])
    assert runbooks
    with timezone.override("Europe/Berlin"):
        fast = [RunbookSerializer(r, context={"request": request}).data for r in runbooks]
        as_drf_would(monkeypatch)
        general = [RunbookSerializer(r, context={"request": request}).data for r in runbooks]
    assert fast == general
    assert "+01:00" in fast[0]["created"] or "+02:00" in fast[0]["created"]


def test_document_paths_are_what_reverse_gives(demo):
    report = FailureReport.objects.select_related("organisation").first()
    runbook = Runbook.objects.select_related("organisation").first()
    for document in (report, runbook):
        kwargs = {"organisation": document.organisation.slug, "slug": document.slug}
        page = "incident-page" if document is report else "runbook-page"
        assert document.get_absolute_url() == reverse(page, kwargs=kwargs)
        assert document.get_api_url() == reverse(f"api:{document.kind}-detail", kwargs=kwargs)


def test_document_paths_follow_the_script_prefix():
    try:
        set_script_prefix("/kb/")
        path = document_path("runbook-page", "alpenwolke", "osd-down")
        assert path == reverse(
            "runbook-page", kwargs={"organisation": "alpenwolke", "slug": "osd-down"}
        )
        assert path.startswith("/kb/")
    finally:
        set_script_prefix("/")
    assert document_path("runbook-page", "alpenwolke", "osd-down").startswith("/runbooks/")


def test_a_slug_the_url_patterns_refuse_is_refused_as_reverse_refuses_it():
    with pytest.raises(NoReverseMatch):
        document_path("runbook-page", "alpenwolke", "not a slug")


@pytest.mark.parametrize(
    "path", ["/runbooks/a/b/", "/%C3%A4/", "/ä/", "//elsewhere/", "/a/./b/", "relative/"]
)
def test_absolute_urls_are_what_build_absolute_uri_gives(path):
    request = APIRequestFactory().get("/api/v1/runbooks/", HTTP_HOST="testserver:8443")
    assert absolute_url(request, path) == request.build_absolute_uri(path)
    assert absolute_url(None, path) == path
