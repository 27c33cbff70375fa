"""GET /api/v1/{kind}/{org}/{slug}/related/: documents of other organisations about the same
thing, shared alerts first, then components, then title words; readable ones only."""

import pytest

from opsknowledge.models import Organisation
from opsknowledge.search.related import related_documents
from opsknowledge.tests.factories import member

from .test_search import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs(catalogue):
    return {org.slug: org for org in Organisation.objects.all()}


def test_other_providers_runbooks_for_the_same_alert_come_first(orgs, api):
    mine = publish(
        organisation=orgs["scs"],
        slug="crash",
        title="Pods crash looping",
        alerts=["KubePodCrashLooping"],
        components=["kubernetes"],
    )
    publish(
        organisation=orgs["scs"],
        slug="own-other",
        title="Pods crash looping again",
        alerts=["KubePodCrashLooping"],
    )
    publish(
        organisation=orgs["alpenwolke"],
        slug="same-alert",
        title="Restart loops",
        alerts=["KubePodCrashLooping"],
    )
    publish(
        organisation=orgs["northbridge"],
        slug="same-component",
        title="Cluster upgrades",
        components=["kubernetes"],
    )
    publish(organisation=orgs["northbridge"], slug="same-words", title="Looping pods")
    publish(organisation=orgs["northbridge"], slug="unrelated", title="Ceph OSD full")
    publish(
        organisation=orgs["northbridge"],
        slug="private",
        title="Pods crash looping",
        alerts=["KubePodCrashLooping"],
        visibility="organisation",
    )

    hits = related_documents(mine, None)
    assert [h.slug for h in hits] == ["same-alert", "same-component", "same-words"]

    response = api.get("/api/v1/runbooks/scs/crash/related/")
    assert response.status_code == 200
    assert [h["slug"] for h in response.json()["results"]] == [h.slug for h in hits]
    api.force_login(member(orgs["northbridge"]))
    slugs = [h["slug"] for h in api.get("/api/v1/runbooks/scs/crash/related/").json()["results"]]
    assert slugs[0] in ("private", "same-alert") and "private" in slugs


def test_related_of_an_unreadable_document_is_a_404(orgs, api):
    publish(organisation=orgs["scs"], slug="hidden", visibility="organisation")
    assert api.get("/api/v1/runbooks/scs/hidden/related/").status_code == 404


def test_related_costs_a_constant_number_of_queries(orgs, api, django_assert_max_num_queries):
    publish(
        organisation=orgs["scs"], slug="crash", title="Pods crash", alerts=["KubePodCrashLooping"]
    )
    for n in range(12):
        publish(
            organisation=orgs["alpenwolke"],
            slug=f"r{n}",
            title="Pods crash",
            alerts=["KubePodCrashLooping"],
            components=["kubernetes"],
        )
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/runbooks/scs/crash/related/")
    assert len(response.json()["results"]) == 10


def test_text_similarity_is_title_to_title_and_more_shared_words_rank_higher(orgs):
    """A word of the title found only in another document's body does not make it related
    (testing and ranking every body with a common word was the cost at scale); among
    titles, the one sharing more of the words ranks first."""
    mine = publish(organisation=orgs["scs"], slug="mine", title="Keystone token expiry storm")
    publish(
        organisation=orgs["alpenwolke"],
        slug="body-only",
        title="Quarterly review",
        body="The keystone token expiry storm was discussed.",
    )
    publish(organisation=orgs["northbridge"], slug="one-word", title="Token budgets")
    publish(organisation=orgs["northbridge"], slug="two-words", title="Keystone token rotation")
    assert [h.slug for h in related_documents(mine, None)] == ["two-words", "one-word"]
