"""Relevance on real documents (../shared/data): the 108 prometheus runbooks, the DFDS
postmortems and the SCS release notes, imported as an operator would import them."""

import io

import pytest
from django.core.management import call_command

from opsknowledge.models import Organisation, SearchEntry
from opsknowledge.search.service import search
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory

from .test_search import publish

pytestmark = pytest.mark.django_db

RUNBOOKS = shared_data.path("prometheus-runbooks", "content", "runbooks")
POSTMORTEMS = shared_data.path("postmortems", "dfds__postmortems")
RELEASE_NOTES = shared_data.path("scs-release-notes")


def run(*args):
    call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def corpus(catalogue):
    runbooks = shared_data.require(RUNBOOKS, "the prometheus runbooks")
    postmortems = shared_data.require(POSTMORTEMS, "the DFDS postmortems")
    notes = shared_data.require(RELEASE_NOTES / "README.md", "the SCS release notes").parent
    OrganisationFactory(slug="prometheus")
    OrganisationFactory(slug="dfds")
    run("import_runbooks", str(runbooks), "--organisation", "prometheus", "--visibility", "public")
    run("import_incidents", str(postmortems), "--organisation", "dfds", "--visibility", "public")
    run("import_release_notes", str(notes), "--organisation", "scs", "--visibility", "public")
    return {org.slug: org for org in Organisation.objects.all()}


def slugs(q, **filters):
    return [hit.slug for hit in search(None, q=q, page_size=50, **filters).hits]


def entry_of(hit):
    return SearchEntry.objects.get(
        kind=hit.kind, slug=hit.slug, organisation__slug=hit.organisation
    )


def test_relevance_on_the_real_documents(corpus):
    """One test, as importing the corpus costs most of its time."""
    kinds = set(SearchEntry.objects.values_list("kind", flat=True))
    assert {"runbook", "incident", "release-note"} <= kinds
    assert SearchEntry.objects.filter(kind="runbook").count() >= 100

    # Operators' words find the runbook of the alert.
    assert slugs("pod crash looping")[0] == "kubepodcrashlooping"
    assert "nodefilesystemspacefillingup" in slugs("disk space filling up")[:3]
    assert slugs("etcd no leader")[0] == "etcdnoleader"
    assert slugs("KubeAPIDown")[0] == "kubeapidown"

    # Exclusion: no hit mentions Kubernetes anywhere.
    certificates = search(None, q='"certificate" -kubernetes', page_size=50)
    assert certificates.count > 0
    for hit in certificates.hits:
        entry = entry_of(hit)
        text = " ".join([entry.text_a, entry.text_b, entry.text_c]).lower()
        assert "kubernetes" not in text, hit.title
    assert search(None, q="certificate").count > certificates.count

    # A release filter keeps what applies to that release only.
    ceph_r3 = search(None, q="ceph", release="r3", page_size=50)
    assert ceph_r3.count > 0
    assert all("r3" in entry_of(hit).releases for hit in ceph_r3.hits)
    assert search(None, q="ceph").count > ceph_r3.count

    # Misspellings are corrected from the words of readable documents.
    assert search(None, q="kuberentes").suggestion == "kubernetes"
    assert search(None, q="cepf").suggestion == "ceph"

    # A planted document whose title is the query ranks first.
    publish(organisation=corpus["scs"], slug="planted", title="Pod crash looping", body="x")
    assert slugs("pod crash looping")[:2] == ["planted", "kubepodcrashlooping"]
