"""Stored HTML is rendered again by `render_markdown --all` without an edit, and the
document page does not show a body's title heading under its own."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from opsknowledge.models import Organisation, Revision
from releases.models import ReleaseNote
from runbooks.models import Runbook
from runbooks.tests.factories import publish

pytestmark = pytest.mark.django_db


def mitigation_lists(runbook) -> list[str]:
    mitigation = runbook.body_html.split('id="mitigation"', 1)[1].split("<h2", 1)[0]
    return re.findall(r"<(ol|ul)>", mitigation)


def test_render_markdown_rewrites_stale_html_without_an_edit(demo):
    stale = "<p>rendered by the old renderer</p>"
    Runbook.objects.update(body_html=stale)
    ReleaseNote.objects.update(body_html=stale)
    before = {r.pk: (r.revision, r.updated) for r in Runbook.objects.all()}
    revisions = Revision.objects.count()
    err = io.StringIO()

    call_command("render_markdown", "--all", stdout=io.StringIO(), stderr=err)

    assert not Runbook.objects.filter(body_html=stale).exists()
    assert not ReleaseNote.objects.filter(body_html=stale).exists()
    assert {r.pk: (r.revision, r.updated) for r in Runbook.objects.all()} == before
    assert Revision.objects.count() == revisions
    assert "runbooks.Runbook:" in err.getvalue()
    ceph = Runbook.objects.get(organisation__slug="scs", slug="ceph-osd-nearfull")
    assert mitigation_lists(ceph) == ["ol"]  # one ordered list of five steps
    steps = ceph.body_html.split('id="mitigation"', 1)[1].split("</ol>", 1)[0]
    assert len(re.findall(r"^<li>", steps, re.M)) == 5


def test_render_markdown_twice_writes_nothing_the_second_time(demo, django_assert_max_num_queries):
    call_command("render_markdown", "--all", stdout=io.StringIO(), stderr=io.StringIO())
    html = dict(Runbook.objects.values_list("pk", "body_html"))
    with django_assert_max_num_queries(40) as captured:
        call_command("render_markdown", "--all", stdout=io.StringIO(), stderr=io.StringIO())
    assert not [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert dict(Runbook.objects.values_list("pk", "body_html")) == html


def test_render_markdown_wants_all():
    with pytest.raises(CommandError, match="--all"):
        call_command("render_markdown", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_page_leaves_out_a_body_heading_that_repeats_the_title(client, catalogue):
    scs = Organisation.objects.get(slug="scs")
    body = "# Ceph OSD — nearly full!\n\n## Meaning\n\nThe OSD is full.\n"
    runbook = publish(organisation=scs, slug="osd-full", title="Ceph OSD nearly full", body=body)
    page = client.get(runbook.get_absolute_url()).content.decode()
    assert page.count("<h1") == 1
    # The page adds a link to each heading's own anchor (templatetags.documents).
    assert '<h2 id="meaning">Meaning <a class="heading-anchor" href="#meaning"' in page
    runbook.refresh_from_db()
    assert runbook.body.startswith("# Ceph OSD — nearly full!")
    assert runbook.body_html.startswith('<h1 id="ceph-osd--nearly-full">')


def test_the_page_keeps_a_leading_heading_that_says_something_else(client, catalogue):
    scs = Organisation.objects.get(slug="scs")
    runbook = publish(
        organisation=scs,
        slug="osd-full",
        title="Ceph OSD nearly full",
        body="# Before you start\n\nRead this.\n",
    )
    page = client.get(runbook.get_absolute_url()).content.decode()
    assert page.count("<h1") == 2
    assert '<h1 id="before-you-start">Before you start <a class="heading-anchor"' in page
