"""`/r/<alertname>` (Prometheus `runbook_url`) and the search page it points to."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from opsknowledge.models import Organisation
from opsknowledge.tests.factories import member
from runbooks.models import Runbook

from .factories import practice, publish

pytestmark = pytest.mark.django_db

ALERT = "KubePodCrashLooping"


@pytest.fixture
def orgs(catalogue):
    """The demo organisations: scs, alpenwolke, northbridge."""
    return {org.slug: org for org in Organisation.objects.all()}


def runbook(org, slug, alerts=(ALERT,), **fields):
    return publish(organisation=org, slug=slug, alerts=list(alerts), **fields)


def redirect_target(response):
    assert response.status_code == 302, response.content
    return response["Location"]


def page(org, slug):
    return f"/runbooks/{org}/{slug}/"


def test_anonymous_caller_is_sent_to_the_public_published_runbook(client, orgs):
    runbook(orgs["scs"], "crashloop")
    runbook(orgs["alpenwolke"], "internal-crashloop", visibility="organisation")
    runbook(orgs["alpenwolke"], "community-crashloop", visibility="community")

    response = client.get(f"/r/{ALERT}")

    assert redirect_target(response) == page("scs", "crashloop")
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_alert_name_matches_case_insensitively(client, orgs):
    runbook(orgs["scs"], "crashloop")

    assert redirect_target(client.get("/r/kubepodcrashlooping")) == page("scs", "crashloop")


def test_a_member_gets_their_own_organisations_runbook_first(client, orgs):
    runbook(orgs["scs"], "crashloop")
    runbook(orgs["alpenwolke"], "our-crashloop", visibility="organisation")
    client.force_login(member(orgs["alpenwolke"], "viewer"))

    assert redirect_target(client.get(f"/r/{ALERT}")) == page("alpenwolke", "our-crashloop")


def test_the_organisation_parameter_is_a_filter(client, orgs):
    runbook(orgs["scs"], "crashloop")
    runbook(orgs["northbridge"], "crashloop")

    response = client.get(f"/r/{ALERT}?organisation=northbridge")

    assert redirect_target(response) == page("northbridge", "crashloop")
    # ... even for a member of another organisation that has one: the link says whose.
    client.force_login(member(orgs["scs"]))
    response = client.get(f"/r/{ALERT}?organisation=northbridge")
    assert redirect_target(response) == page("northbridge", "crashloop")
    assert client.get(f"/r/{ALERT}?organisation=alpenwolke").status_code == 404


def test_several_organisations_answering_get_a_chooser_page(client, orgs):
    runbook(orgs["scs"], "crashloop", title="SCS crash loops")
    runbook(orgs["northbridge"], "pods-restarting", title="Northbridge crash loops")
    runbook(orgs["northbridge"], "also-restarting", alerts=[ALERT, "KubePodNotReady"])

    response = client.get(f"/r/{ALERT}")

    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    html = response.content.decode()
    assert page("scs", "crashloop") in html
    assert page("northbridge", "pods-restarting") in html  # the more specific one
    assert page("northbridge", "also-restarting") not in html
    assert f"/r/{ALERT}?organisation=northbridge" in html


def test_another_organisation_cannot_take_over_an_alert_link(client, orgs):
    """A provider's runbook_url carries ?organisation=: a runbook someone else publishes
    for the same alert changes nothing for it."""
    runbook(orgs["scs"], "crashloop")
    url = f"/r/{ALERT}?organisation=scs"
    assert redirect_target(client.get(url)) == page("scs", "crashloop")
    runbook(orgs["northbridge"], "hijack", alerts=[ALERT])
    assert redirect_target(client.get(url)) == page("scs", "crashloop")


def test_component_narrows_the_candidates_including_child_components(client, orgs):
    runbook(orgs["scs"], "generic", alerts=[ALERT])
    runbook(orgs["alpenwolke"], "nova-crashloop", components=["nova"])
    runbook(orgs["northbridge"], "ceph-crashloop", components=["ceph"])

    assert redirect_target(client.get(f"/r/{ALERT}?component=openstack")) == page(
        "alpenwolke", "nova-crashloop"
    )
    # An alias names the component as well as its slug does.
    assert redirect_target(client.get(f"/r/{ALERT}?component=rados")) == page(
        "northbridge", "ceph-crashloop"
    )


def test_release_narrows_the_candidates(client, orgs):
    runbook(orgs["scs"], "crashloop-r6", releases=["r6"])
    runbook(orgs["alpenwolke"], "crashloop-r7", releases=["r7"])

    assert redirect_target(client.get(f"/r/{ALERT}?release=r7")) == page(
        "alpenwolke", "crashloop-r7"
    )


def test_narrowing_to_nothing_says_the_alert_has_runbooks_elsewhere(client, orgs):
    runbook(orgs["scs"], "crashloop", components=["ceph"])

    response = client.get(f"/r/{ALERT}?component=nova&release=r5")

    assert response.status_code == 404
    assert "outside that component or release" in response.content.decode()


def test_ties_go_to_the_most_specific_then_most_recently_updated_runbook(client, orgs):
    runbook(orgs["scs"], "broad", alerts=[ALERT, "KubePodNotReady"])
    runbook(orgs["scs"], "older", alerts=[ALERT])
    runbook(orgs["scs"], "newer", alerts=[ALERT])
    Runbook.objects.filter(slug="older").update(updated=timezone.now() - timedelta(days=3))

    assert redirect_target(client.get(f"/r/{ALERT}")) == page("scs", "newer")

    Runbook.objects.filter(slug="newer").update(updated=timezone.now() - timedelta(days=9))
    assert redirect_target(client.get(f"/r/{ALERT}")) == page("scs", "older")


def test_equal_runbooks_are_ordered_by_slug(client, orgs):
    runbook(orgs["scs"], "b-crashloop")
    runbook(orgs["scs"], "a-crashloop")
    Runbook.objects.update(updated=timezone.now())

    assert redirect_target(client.get(f"/r/{ALERT}")) == page("scs", "a-crashloop")


@pytest.mark.parametrize(
    "hidden",
    [
        {"status": "draft"},
        {"status": "archived"},
        {"visibility": "organisation"},
        {"visibility": "community"},
    ],
    ids=["draft", "archived", "organisation-only", "community-for-anonymous"],
)
def test_unreadable_or_unpublished_runbooks_never_win_nor_leak_their_alerts(client, orgs, hidden):
    runbook(orgs["alpenwolke"], "hidden", alerts=[ALERT, "KubePodCrashLoopingSecret"], **hidden)

    response = client.get(f"/r/{ALERT}")

    assert response.status_code == 404
    assert "KubePodCrashLoopingSecret" not in response.content.decode()
    response = client.get("/r/KubePodCrashLoop")
    assert response.status_code == 404
    assert response.context["near_matches"] == []
    assert f'href="/r/{ALERT}"' not in response.content.decode()


def test_a_members_own_draft_is_not_an_answer(client, orgs):
    runbook(orgs["scs"], "crashloop")
    runbook(orgs["alpenwolke"], "draft-crashloop", status="draft", visibility="organisation")
    client.force_login(member(orgs["alpenwolke"]))

    assert redirect_target(client.get(f"/r/{ALERT}")) == page("scs", "crashloop")


def test_no_match_is_a_404_page_with_near_matches_and_a_search_link(client, orgs):
    runbook(orgs["scs"], "crashloop", alerts=[ALERT, "KubeletDown"])
    runbook(orgs["scs"], "node", alerts=["NodeFilesystemAlmostOutOfSpace"])

    response = client.get("/r/KubePodCrashLoop")

    assert response.status_code == 404
    assert "runbooks/alert_not_found.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "No runbook answers" in html
    assert response.context["near_matches"] == [ALERT]
    assert f'href="/r/{ALERT}"' in html
    assert 'href="/search/?q=KubePodCrashLoop"' in html
    assert 'value="KubePodCrashLoop"' in html


def test_near_matches_include_names_contained_in_the_request(client, orgs):
    runbook(orgs["scs"], "ceph", alerts=["CephOSDFull"])

    response = client.get("/r/cephosdfullsince2days")

    assert response.context["near_matches"] == ["CephOSDFull"]


def test_an_unknown_component_is_a_404_page_naming_it(client, orgs):
    runbook(orgs["scs"], "crashloop")

    response = client.get(f"/r/{ALERT}?component=novva")

    assert response.status_code == 404
    html = response.content.decode()
    assert "unknown component &#x27;novva&#x27;" in html
    assert "did you mean &#x27;nova&#x27;" in html


@pytest.mark.parametrize("parameter", ["organisation", "release"])
def test_an_unknown_organisation_or_release_is_a_404_page_naming_it(client, orgs, parameter):
    response = client.get(f"/r/{ALERT}?{parameter}=nope")

    assert response.status_code == 404
    assert f"unknown {parameter} &#x27;nope&#x27;" in response.content.decode()


@pytest.mark.parametrize(
    "alertname", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']
)
def test_the_alert_name_is_escaped_on_the_404_page(client, orgs, alertname):
    # Alert names cannot hold "/" (one path segment), so the closing tag loses its slash.
    alertname = alertname.replace("/", "")

    response = client.get("/r/" + quote(alertname, safe=""))

    assert response.status_code == 404
    html = response.content.decode()
    # The page has its own <script src> and logo <img>: look for the name's markup only.
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;" in html


def test_an_overlong_alert_name_is_a_plain_404(client, orgs):
    response = client.get("/r/" + "A" * 5000)

    assert response.status_code == 404


@pytest.mark.parametrize("candidates", [1, 30])
def test_the_resolver_uses_a_constant_number_of_queries(
    client, orgs, candidates, django_assert_max_num_queries
):
    for number in range(candidates):
        runbook(orgs["northbridge"], f"crashloop-{number}", components=["nova"], releases=["r7"])
    client.force_login(member(orgs["alpenwolke"]))

    # session, user, memberships, organisation, component lookup and tree, release, choice
    with django_assert_max_num_queries(8):
        response = client.get(f"/r/{ALERT}?organisation=northbridge&component=openstack&release=r7")
    assert response.status_code == 302


def test_search_finds_readable_documents_by_all_their_words(client, orgs):
    runbook(orgs["scs"], "crashloop", summary="Pods restart in a loop.")
    runbook(
        orgs["alpenwolke"], "secret-loop", summary="Pods restart in a loop.", visibility="community"
    )
    runbook(orgs["scs"], "draft-loop", summary="Pods restart in a loop.", status="draft")
    practice(organisation=orgs["scs"], slug="probes", summary="Liveness probes restart pods.")

    html = client.get("/search/?q=restart+pods").content.decode()

    assert 'href="/runbooks/scs/crashloop/"' in html
    assert 'href="/practices/scs/probes/"' in html
    assert "secret-loop" not in html and "draft-loop" not in html
    # No document has both words: those with some of them, said so.
    partial = client.get("/search/?q=restart+nothing").content.decode()
    assert "No document has all of these words" in partial


def test_search_without_words_shows_the_form_only(client, orgs):
    runbook(orgs["scs"], "crashloop")

    response = client.get("/search/")

    assert response.status_code == 200
    assert response.context["results"] is None
    assert 'name="q"' in response.content.decode()
