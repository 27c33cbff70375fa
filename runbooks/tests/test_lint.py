"""Runbook lint, on our own examples and on the real prometheus-operator runbooks."""

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from opsknowledge.models import Release
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory
from runbooks.lint import lint
from runbooks.models import Runbook, RunbookPolicy

from .factories import publish

pytestmark = pytest.mark.django_db

COMPLETE = "# X\n\n## Meaning\nm\n\n## Impact\ni\n\n## Diagnosis\nd\n\n## Mitigation\nfix\n"
RUNBOOKS = shared_data.path("prometheus-runbooks")


@pytest.fixture
def alpen(catalogue):
    return OrganisationFactory(slug="alpen")


def checks(runbook):
    return [(f["check"], f["message"], f["line"]) for f in lint(runbook)]


def test_a_complete_runbook_has_no_findings(alpen):
    runbook = publish(
        organisation=alpen, slug="ok", body=COMPLETE, last_reviewed=date.today().isoformat()
    )
    assert checks(runbook) == []


def test_missing_sections_and_the_organisations_own_set(alpen):
    runbook = publish(
        organisation=alpen, slug="thin", body="# X\n\n## Meaning\nm\n```\n# no\n```\n"
    )
    assert [c[1] for c in checks(runbook) if c[0] == "missing_section"] == [
        "No 'Impact' section.",
        "No 'Diagnosis' section.",
        "No 'Mitigation' section.",
    ]
    RunbookPolicy.objects.create(organisation=alpen, sections=["Meaning", "Escalation"])
    runbook.refresh_from_db()
    assert [c[1] for c in checks(runbook) if c[0] == "missing_section"] == [
        "No 'Escalation' section."
    ]


def test_empty_code_blocks_and_dead_links(alpen):
    publish(organisation=alpen, slug="nodeclockskewdetected", body=COMPLETE)
    body = COMPLETE + (
        "\n```bash\n\n```\n"
        'See [skew]({{< ref "./NodeClockSkewDetected.md" >}}) and [gone](./NodeGone.md),\n'
        "[site](/runbooks/alpen/nodeclockskewdetected/), [lost](/runbooks/alpen/lost/),\n"
        "[up](#meaning), [nowhere](#nowhere) and [web](https://example.org/x.md).\n"
    )
    runbook = publish(
        organisation=alpen, slug="links", body=body, last_reviewed=date.today().isoformat()
    )
    assert checks(runbook) == [
        ("empty_code_block", "An empty code block.", 15),
        ("dead_link", "'./NodeGone.md' links to no document here.", 18),
        ("dead_link", "'/runbooks/alpen/lost/' links to no document here.", 19),
        ("dead_link", "No heading for the anchor '#nowhere'.", 20),
    ]


def test_overdue_review_and_unmaintained_releases(alpen):
    Release.objects.filter(slug__in=["r1", "r2"]).update(end_of_maintenance="2023-01-01")
    runbook = publish(
        organisation=alpen,
        slug="old",
        body=COMPLETE,
        releases=["r1", "r2"],
        last_reviewed=(date.today() - timedelta(days=400)).isoformat(),
    )
    found = {c[0]: c[1] for c in checks(runbook)}
    assert found["review_overdue"].startswith("Last reviewed on ")
    assert found["releases_unmaintained"] == (
        "Applies only to releases past their end of maintenance (r1, r2)."
    )
    Runbook.objects.filter(pk=runbook.pk).update(
        last_reviewed=None, created=timezone.now() - timedelta(days=500)
    )
    runbook.refresh_from_db()
    assert (
        "Never reviewed since it was created"
        in {c[0]: c[1] for c in checks(runbook)}["review_overdue"]
    )


def test_lint_is_in_the_detail_for_members_but_not_in_lists(alpen, api):
    from opsknowledge.tests.factories import member

    publish(organisation=alpen, slug="thin", body="# X\n[hidden](/runbooks/other/secret/)\n")
    assert api.get("/api/v1/runbooks/alpen/thin/").json()["lint"] is None  # anonymous
    api.force_authenticate(member(alpen, "viewer"))
    detail = api.get("/api/v1/runbooks/alpen/thin/").json()
    assert {f["check"] for f in detail["lint"]} == {"missing_section", "dead_link"}
    assert "lint" not in api.get("/api/v1/runbooks/").json()["results"][0]


def test_dead_links_answer_for_what_the_reader_may_read(alpen, api):
    """A member is not told that another organisation's hidden document exists."""
    from opsknowledge.tests.factories import member

    other = OrganisationFactory(slug="other")
    publish(organisation=other, slug="secret", visibility="organisation")
    publish(organisation=other, slug="open")
    publish(
        organisation=alpen,
        slug="links",
        body=COMPLETE + "[a](/runbooks/other/secret/) [b](/runbooks/other/open/)\n",
    )
    api.force_authenticate(member(alpen, "viewer"))
    dead = [f["message"] for f in api.get("/api/v1/runbooks/alpen/links/").json()["lint"]]
    assert "'/runbooks/other/secret/' links to no document here." in dead
    assert not any("/other/open/" in message for message in dead)


def test_lint_parses_the_body_once_per_revision_not_per_read(alpen, api):
    from opsknowledge.tests.factories import member

    runbook = publish(organisation=alpen, slug="thin", body="# X\n```\n```\n")
    assert runbook.lint_facts["empty_code_blocks"] == [2]
    # Stored facts are what a read uses: changing them shows without touching the body.
    Runbook.objects.filter(pk=runbook.pk).update(
        lint_facts={**runbook.lint_facts, "empty_code_blocks": [9]}
    )
    api.force_authenticate(member(alpen, "viewer"))
    lines = [f["line"] for f in api.get("/api/v1/runbooks/alpen/thin/").json()["lint"]]
    assert 9 in lines


def test_lint_never_blocks_publishing(alpen, token_client):
    from opsknowledge.tests.factories import member

    client = token_client(member(alpen, "editor"), alpen)
    response = client.put(
        "/api/v1/runbooks/alpen/bare/",
        {"title": "Bare", "status": "published", "visibility": "public"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["lint"]  # the editor is a member


def test_the_command_on_the_real_runbooks(catalogue):
    shared_data.require(RUNBOOKS, "the prometheus-operator runbooks")
    OrganisationFactory(slug="prom")
    call_command(
        "import_runbooks",
        str(RUNBOOKS / "content" / "runbooks"),
        "--organisation",
        "prom",
        "--create-components",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    Runbook.objects.update(last_reviewed=date.today())
    out = io.StringIO()
    call_command("lint_runbooks", "--organisation", "prom", stdout=out)
    text = out.getvalue()
    # The data's README: 4 files lack Meaning or Mitigation, 3 are stubs linking elsewhere.
    assert "prom/kubeapierrorbudgetburn:\n  missing_section: No 'Meaning' section." in text
    assert "prom/prometheusoperatornodelookuperrors:\n  missing_section: No 'Mitigation'" in text
    assert "dead_link" not in text  # every ref shortcode points at an imported runbook
    assert text.strip().endswith("108 runbooks, 5 with findings, 16 findings.")
