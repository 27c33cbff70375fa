"""The /search/ page: box, facets as links with counts, highlighted snippets, the suggestion
as a link, kind badges, pagination."""

import re

import pytest

from opsknowledge.models import Organisation

from .test_search import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs(catalogue):
    return {org.slug: org for org in Organisation.objects.all()}


def test_the_page_shows_ranked_hits_with_badges_snippets_and_facets(client, orgs):
    from incidents.models import FailureReport

    publish(
        organisation=orgs["scs"],
        slug="osd",
        title="Ceph OSD full",
        components=["ceph"],
        body="When the <b>ceph</b> cluster is full",
    )
    publish(
        FailureReport,
        organisation=orgs["alpenwolke"],
        slug="outage",
        title="Storage outage",
        summary="The ceph cluster filled up.",
        impact="Volumes read-only.",
        root_cause="No alert on ceph capacity.",
        severity="sev2",
    )
    html = client.get("/search/?q=ceph").content.decode()

    assert html.index('href="/runbooks/scs/osd/"') < html.index(
        'href="/incidents/alpenwolke/outage/"'
    )
    assert '<span class="kind-badge kind-runbook">Runbook</span>' in html
    assert '<span class="kind-badge kind-incident">Failure report</span>' in html
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', html, re.S)
    assert snippets and all("<mark>" in s for s in snippets)
    assert all(set(re.findall(r"</?(\w+)", s)) <= {"mark"} for s in snippets)
    assert 'class="facets"' in html
    assert 'href="?q=ceph&amp;organisation=scs"' in html
    assert 'href="?q=ceph&amp;kind=incident"' in html

    narrowed = client.get("/search/?q=ceph&kind=incident").content.decode()
    assert "/runbooks/scs/osd/" not in narrowed and "/incidents/alpenwolke/outage/" in narrowed
    assert 'aria-current="true"' in narrowed and 'href="?q=ceph"' in narrowed


def test_the_suggestion_is_a_link(client, orgs):
    publish(organisation=orgs["scs"], slug="osd", title="Ceph OSD full", components=["ceph"])
    html = client.get("/search/?q=cepf").content.decode()
    assert re.search(r'class="suggestion">Did you mean <a href="\?q=ceph">ceph</a>', html)


def test_pagination_links(client, orgs):
    for n in range(25):
        publish(organisation=orgs["scs"], slug=f"doc-{n}", body="ceph")
    html = client.get("/search/?q=ceph").content.decode()
    assert 'class="pagination"' in html and 'href="?q=ceph&amp;page=2"' in html
    second = client.get("/search/?q=ceph&page=2").content.decode()
    assert 'href="?q=ceph&amp;page=1"' in second and "page=3" not in second
    assert second.count('class="kind-badge') == 5


def test_errors_are_shown_on_the_page(client, orgs):
    html = client.get("/search/?q=-kubernetes").content.decode()
    assert 'role="alert"' in html and "at least one word" in html
    assert 'role="alert"' in client.get("/search/?q=ceph&component=cepf").content.decode()


def test_no_inline_script_or_style(client, orgs):
    publish(organisation=orgs["scs"], slug="osd", body="ceph")
    html = client.get("/search/?q=ceph").content.decode()
    content = html.split("<main", 1)[1]
    assert "<script" not in content and "style=" not in content
    assert not re.search(r"\son\w+=", content)
