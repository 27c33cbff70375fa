"""The web pages over the demo content, as a reader uses them: what each page shows, where
its links lead, and how it answers bad input. (Visibility: test_visibility_matrix.py;
query counts: test_query_counts.py.)"""

import re

import pytest

from incidents.models import FailureReport
from opsknowledge import services
from opsknowledge.importing import read_markdown
from opsknowledge.models import Organisation
from opsknowledge.tests.factories import member
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db


def html_of(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.content[:500])
    return response.content.decode()


def title_of(html):
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def test_home_links_the_lists_latest_documents_and_current_releases(client, demo):
    html = html_of(client, "/")
    for url in ("/runbooks/", "/practices/", "/incidents/", "/upgrade/", "/components/"):
        assert f'href="{url}"' in html
    for kind in ("runbooks", "incidents", "practices"):
        latest = client.get(f"/api/v1/{kind}/?ordering=-updated&status=published").json()
        item = latest["results"][0]
        assert f'href="/{kind}/{item["organisation"]}/{item["slug"]}/"' in html
    assert 'href="/releases/r7/"' in html and "/upgrade/?from=r6&amp;to=r7" in html
    # the members-only runbook and the report in review are not on a stranger's home page
    assert "ovn-controller-down" not in html and "octavia-amphora" not in html


def test_list_filters_are_the_apis_and_bad_values_are_a_400_naming_them(client, demo):
    html = html_of(client, "/runbooks/?component=openstack&tag=messaging")
    assert 'href="/runbooks/scs/rabbitmq-partition/"' in html
    assert "ceph-osd-nearfull" not in html
    assert '<option value="openstack" selected>' in html
    api = client.get("/api/v1/runbooks/?component=openstack&tag=messaging").json()
    assert [item["slug"] for item in api["results"]] == ["rabbitmq-partition"]
    assert "1 runbook</h2>" in html
    bad = html_of(client, "/runbooks/?component=cepf", status=400)
    assert "unknown component &#x27;cepf&#x27;; did you mean &#x27;ceph&#x27;?" in bad
    assert "is not true or false" in html_of(client, "/incidents/?has_open_actions=maybe", 400)
    alert = html_of(client, "/runbooks/?alert=rabbitmqclusterpartition")
    assert 'href="/runbooks/scs/rabbitmq-partition/"' in alert


def test_lists_page_through_twenty_at_a_time_keeping_the_filters(client, catalogue):
    scs = Organisation.objects.get(slug="scs")
    for n in range(25):
        services.document_create(
            model=Runbook,
            organisation=scs,
            slug=f"rb-{n:02}",
            data={"title": f"Runbook {n}", "status": "published", "visibility": "public"},
            actor=services.Actor.operator(),
        )
    first = html_of(client, "/runbooks/?organisation=scs")
    assert first.count('class="document-item"') == 20
    assert 'href="?organisation=scs&amp;page=2" rel="next"' in first
    second = html_of(client, "/runbooks/?organisation=scs&page=2")
    assert second.count('class="document-item"') == 5
    assert "Page 2 of 2" in second


def test_runbook_page_has_contents_anchors_alert_links_and_reports(client, demo):
    html = html_of(client, "/runbooks/scs/rabbitmq-partition/")
    assert title_of(html).startswith("RabbitMQ cluster partition")
    assert '<a href="#mitigation">Mitigation</a>' in html  # table of contents
    assert '<h2 id="mitigation">Mitigation <a class="heading-anchor" href="#mitigation"' in html
    assert '<div class="markdown">' in html
    # the alert and the URL to paste into the rule's runbook_url
    assert "http://testserver/r/RabbitMQClusterPartition?organisation=scs" in html
    assert client.get("/r/RabbitMQClusterPartition?organisation=scs").status_code == 302
    assert "Critical" in html
    # used in a report, each badge a link
    assert 'href="/incidents/northbridge/rabbitmq-partition-after-r3-upgrade/"' in html
    for link in ('href="/components/rabbitmq/"', 'href="/releases/r3/"', "?tag=messaging"):
        assert link in html
    assert 'href="/organisations/scs/"' in html
    assert "Download as Markdown" in html and "UTC</time>" in html
    assert "Lint" not in html  # members only


def test_runbook_page_shows_lint_to_members_only(client, demo):
    runbook = Runbook.objects.get(organisation__slug="scs", slug="prometheus-target-down")
    services.document_update(
        document=runbook,
        data={"body": "## Meaning\n\nSomething.\n"},
        actor=services.Actor.operator(),
        if_match={runbook.revision},
    )
    assert "page-lint-heading" not in html_of(client, "/runbooks/scs/prometheus-target-down/")
    client.force_login(member(Organisation.objects.get(slug="scs"), "viewer"))
    html = html_of(client, "/runbooks/scs/prometheus-target-down/")
    assert "page-lint-heading" in html and "Mitigation" in html


def test_an_adopted_copy_names_its_original_and_shows_the_upstream_diff(client, demo):
    original = Runbook.objects.get(organisation__slug="scs", slug="ceph-osd-nearfull")
    copy = "/runbooks/alpenwolke/ceph-osd-nearfull/"
    client.force_login(member(Organisation.objects.get(slug="alpenwolke"), "viewer"))
    assert "behind upstream" not in html_of(client, copy)
    services.document_update(
        document=original,
        data={"summary": "A newer summary upstream."},
        actor=services.Actor.operator(),
        if_match={original.revision},
    )
    html = html_of(client, copy)
    assert "Adopted from" in html and "behind upstream" in html
    diff = html_of(client, copy + "upstream-diff/")
    assert "<ins>A newer summary upstream.</ins>" in diff
    api = client.get("/api/v1/runbooks/alpenwolke/ceph-osd-nearfull/upstream-diff/").json()
    assert list(api["changes"]) == ["summary"]


def test_revision_history_compares_any_two_revisions(client, demo):
    runbook = Runbook.objects.get(organisation__slug="scs", slug="galera-cluster-size")
    for summary in ("second summary", "third summary"):
        runbook, _ = services.document_update(
            document=runbook,
            data={"summary": summary},
            actor=services.Actor.operator(),
            if_match={runbook.revision},
        )
    html = html_of(client, runbook.get_absolute_url())
    assert 'name="from" value="1"' in html and 'name="to" value="3"' in html
    diff = html_of(client, runbook.get_absolute_url() + "diff/?from=1&to=3")
    assert "<ins>third summary</ins>" in diff and "second summary" not in diff
    assert title_of(diff).startswith("Changes r1 → r3")
    assert "no revision" in html_of(client, runbook.get_absolute_url() + "diff/?to=9", 400)


def test_failure_report_page_shows_times_timeline_action_items_and_runbooks(client, demo):
    html = html_of(client, "/incidents/northbridge/rabbitmq-partition-after-r3-upgrade/")
    assert "SEV2" in html
    assert "2023-10-05 14:02 UTC" in html  # started
    assert "<dt>Time to detect</dt><dd>19 min</dd>" in html
    assert "<dt>Time to resolve</dt><dd>1 h 38 min</dd>" in html
    assert html.count('class="timeline-entry"') == 8
    assert html.index("page-timeline-heading") < html.index("Root cause")
    # open and past due: overdue; done ones are never overdue
    assert html.count("overdue</strong>") == 2
    assert "Keep cluster_partition_handling in the configuration repository" in html
    assert 'href="/runbooks/scs/rabbitmq-partition/"' in html
    assert "used during the incident" in html
    assert "Contributing factors" in html and "Lessons learned" in html


def test_warnings_of_a_report_in_review_are_for_its_members(client, demo):
    url = "/incidents/alpenwolke/octavia-amphora-failover-storm/"
    assert client.get(url).status_code == 404
    client.force_login(member(Organisation.objects.get(slug="alpenwolke"), "viewer"))
    html = html_of(client, url)
    assert "page-warnings-heading" in html and "“Human error” in root_cause" in html
    assert FailureReport.objects.get(slug="octavia-amphora-failover-storm").warnings


def test_markdown_download_is_what_the_importers_read(client, demo):
    response = client.get("/incidents/northbridge/rabbitmq-partition-after-r3-upgrade/markdown/")
    assert response["Content-Disposition"].startswith("attachment;")
    parsed = read_markdown(response.content.decode())
    assert parsed.front_matter["severity"] == "sev2"
    assert len(parsed.front_matter["timeline"]) == 8
    assert parsed.front_matter["runbooks"][0]["runbook"] == "scs/rabbitmq-partition"
    assert "## Root cause" in parsed.body


def test_component_page_covers_every_organisation_and_the_parts(client, demo):
    html = html_of(client, "/components/openstack/")
    assert 'href="/runbooks/scs/rabbitmq-partition/"' in html  # about a part (RabbitMQ)
    assert 'href="/incidents/scs/federation-login-outage-r3/"' in html
    assert 'href="/components/nova/"' in html
    assert client.get("/components/k8s/")["Location"] == "/components/kubernetes/"
    ceph = html_of(client, "/components/ceph/")
    assert "Also known as</dt><dd>rados, rbd" in ceph
    assert 'href="/releases/r4/#scs-upgrade-ceph-quincy"' in ceph
    assert client.get("/components/nothing/").status_code == 404


def test_release_page_groups_notes_by_kind_and_component(client, demo):
    html = html_of(client, "/releases/r3/")
    assert html.index('id="kind-upgrade"') < html.index('id="kind-known-issue"')
    assert 'id="scs-upgrade-federation-mappings"' in html
    assert 'id="northbridge-known-issue-partition-handling"' in html
    assert "/upgrade/?from=r2&amp;to=r3" in html
    assert 'href="/runbooks/scs/upgrade-r2-to-r3/"' in html  # a document that applies


def test_organisation_page_counts_what_the_reader_can_read(client, demo):
    def counts():
        html = html_of(client, "/organisations/alpenwolke/")
        return {
            kind: int(re.search(rf"{title}: (\d+)</a>", html).group(1))
            for kind, title in (("runbooks", "Runbooks"), ("incidents", "Failure reports"))
        }

    def api_counts():
        return {
            kind: client.get(f"/api/v1/{kind}/?organisation=alpenwolke").json()["count"]
            for kind in ("runbooks", "incidents")
        }

    # anonymous: the public cluster-api runbook and the published report
    assert counts() == api_counts() == {"runbooks": 1, "incidents": 1}
    client.force_login(member(Organisation.objects.get(slug="alpenwolke"), "viewer"))
    # members: + the members-only runbook, the adopted draft, the report in review
    assert counts() == api_counts() == {"runbooks": 4, "incidents": 2}
    assert client.get("/organisations/nobody/").status_code == 404


def test_upgrade_briefing_r2_to_r4_has_two_hops_with_content(client, demo):
    html = html_of(client, "/upgrade/?from=r2&to=r4")
    assert title_of(html).startswith("Upgrade briefing r2 → r4")
    assert html.count('class="briefing-step"') == 2
    assert 'href="/runbooks/scs/upgrade-r2-to-r3/"' in html
    assert 'href="/runbooks/scs/upgrade-r3-to-r4/"' in html
    assert 'href="/incidents/northbridge/rabbitmq-partition-after-r3-upgrade/"' in html
    assert "Migrate federation mappings before restarting Keystone" in html
    assert "This path crosses 2 releases" in html
    assert '<option value="r2" selected>' in html
    markdown = re.search(r'href="([^"]+format=md)"', html).group(1).replace("&amp;", "&")
    assert client.get(markdown)["Content-Type"].startswith("text/markdown")
    json_url = re.search(r'href="([^"]+)">JSON', html).group(1).replace("&amp;", "&")
    assert len(client.get(json_url).json()["steps"]) == 2
    ceph = html_of(client, "/upgrade/?from=r2&to=r4&component=ceph")
    assert "Migrate federation mappings" not in ceph and "Ceph moves to Quincy" in ceph


def test_upgrade_briefing_explains_bad_choices(client, demo):
    assert "choose" in html_of(client, "/upgrade/").lower()
    backwards = html_of(client, "/upgrade/?from=r4&to=r2", status=400)
    assert "briefings go forward" in backwards
    assert "No release &#x27;r99&#x27;" in html_of(client, "/upgrade/?from=r2&to=r99", 404)


def test_runbook_and_report_pages_show_readable_related_documents_of_others(client, catalogue):
    from runbooks.tests.factories import publish

    scs, alpen = (Organisation.objects.get(slug=s) for s in ("scs", "alpenwolke"))
    ours = publish(organisation=scs, slug="osd-full", title="Ceph OSD full", alerts=["CephOSDFull"])
    publish(organisation=alpen, slug="osd-full", title="OSD nearly full", alerts=["CephOSDFull"])
    publish(
        organisation=alpen,
        slug="osd-secret",
        title="Ceph OSD full, our way",
        alerts=["CephOSDFull"],
        visibility="organisation",
    )
    html = html_of(client, ours.get_absolute_url())
    related = html.split('id="page-related-heading"', 1)[1].split("</section>", 1)[0]
    assert 'href="/runbooks/alpenwolke/osd-full/"' in related
    assert "osd-secret" not in related  # not readable by a stranger
    assert 'href="/runbooks/scs/osd-full/"' not in related  # not itself: other organisations

    report = publish(
        FailureReport,
        organisation=alpen,
        slug="osd-outage",
        title="Ceph OSD full stopped writes",
        root_cause="An OSD filled up.",
        summary="Writes stopped.",
        impact="Volumes read-only.",
    )
    publish(
        FailureReport,
        organisation=scs,
        slug="osd-outage",
        title="Ceph OSD full stopped writes too",
        root_cause="An OSD filled up.",
        summary="Writes stopped.",
        impact="Volumes read-only.",
    )
    html = html_of(client, report.get_absolute_url())
    assert 'href="/incidents/scs/osd-outage/"' in html.split('id="page-related-heading"', 1)[1]
