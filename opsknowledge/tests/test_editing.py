"""Writing in the web UI over real HTTP requests (Django's test client, session sign-in):
forms write through the services with the API's rules and texts, no edit is lost, publishing
needs the acknowledgement, and only the owning organisation's editors write."""

import pytest
from django.test import Client

from incidents.models import FailureReport
from opsknowledge import services
from opsknowledge.models import Component, Organisation, Revision
from opsknowledge.tests.factories import OrganisationFactory, UserFactory, member
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db
OPERATOR = services.Actor.operator()


@pytest.fixture
def world():
    north, south = OrganisationFactory(slug="north"), OrganisationFactory(slug="south")
    Component.objects.create(slug="ceph", name="Ceph")
    users = {
        "editor": member(north, "editor", username="edna"),
        "viewer": member(north, "viewer", username="vic"),
        "outsider": UserFactory(username="otto"),
        "south_editor": member(south, "editor", username="sam"),
    }
    return {"north": north, "south": south, **users}


def client_for(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def runbook(organisation, slug="disk-full", **data):
    return services.document_create(
        model=Runbook,
        organisation=organisation,
        slug=slug,
        data={"title": "Disk full", "body": "1. look\n", **data},
        actor=OPERATOR,
    )


def form_data(**overrides):
    data = {
        "organisation": "north",
        "title": "Restart a stuck OSD",
        "slug": "",
        "summary": "When an OSD hangs.",
        "body": "## Steps\n\n```sh\nsystemctl restart ceph-osd@1\n```\n",
        "components": "ceph",
        "releases": "",
        "tags": "Storage, ceph",
        "alerts": "CephOSDDown",
        "severity": "critical",
        "upgrade_from": "",
        "upgrade_to": "",
        "visibility": "public",
        "status": "published",
        "license": "CC-BY-SA-4.0",
        "language": "en",
        "last_reviewed": "",
        "message": "",
    }
    data.update(overrides)
    return data


def edit_data(document, **overrides):
    data = form_data(title=document.title, body=document.body, summary=document.summary)
    data.pop("organisation")
    data.pop("slug")
    data["base_revision"] = str(document.revision)
    data.update(overrides)
    return data


def test_an_editor_creates_a_runbook_as_revision_1_via_session(world):
    client = client_for(world["editor"])
    response = client.post("/runbooks/new/", form_data())
    assert response.status_code == 302
    assert response["Location"] == "/runbooks/north/restart-a-stuck-osd/"  # slug from the title
    document = Runbook.objects.get(slug="restart-a-stuck-osd")
    assert document.revision == 1
    assert sorted(a.name for a in document.alerts.all()) == ["CephOSDDown"]
    assert sorted(t.name for t in document.tags.all()) == ["ceph", "storage"]
    assert "<pre>" in document.body_html
    revision = Revision.objects.get(object_id=document.pk, number=1)
    assert (revision.via, revision.author) == (Revision.Via.SESSION, world["editor"])
    page = client.get(response["Location"]).content.decode()
    assert "Saved as revision 1." in page


def test_the_form_and_the_api_refuse_an_unknown_component_with_the_same_words(world, api):
    api.force_authenticate(world["editor"])
    from_api = api.post(
        "/api/v1/runbooks/",
        {"organisation": "north", "slug": "x", "title": "X", "components": ["cepf"]},
        format="json",
    )
    assert from_api.status_code == 400
    api_messages = from_api.json()["error"]["fields"]["components"]
    assert api_messages == ["unknown component 'cepf'; did you mean 'ceph'?"]
    response = client_for(world["editor"]).post("/runbooks/new/", form_data(components="cepf"))
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["components"] == api_messages
    html = response.content.decode()
    assert "did you mean &#x27;ceph&#x27;?" in html
    assert 'class="error-summary"' in html and 'href="#id_components"' in html
    assert not Runbook.objects.exists()


def test_what_the_api_refuses_the_form_refuses(world, api):
    """An upgrade runbook names both releases: a rule of the model, refused on both paths."""
    from opsknowledge.models import Release

    Release.objects.create(slug="r1", name="R1")
    api.force_authenticate(world["editor"])
    from_api = api.post(
        "/api/v1/runbooks/",
        {"organisation": "north", "slug": "up", "title": "Up", "upgrade_from": "r1"},
        format="json",
    )
    response = client_for(world["editor"]).post("/runbooks/new/", form_data(upgrade_from="r1"))
    assert from_api.status_code == response.status_code == 400
    assert (
        response.context["form"].errors["upgrade_to"]
        == from_api.json()["error"]["fields"]["upgrade_to"]
    )
    assert not Runbook.objects.exists()


def test_a_stale_save_shows_the_conflict_page_with_the_text_intact(world):
    document = runbook(world["north"])
    client = client_for(world["editor"])
    opened = edit_data(document, body="my version\n")
    services.document_update(
        document=document, data={"body": "their version\n"}, actor=OPERATOR, if_match={1}
    )
    response = client.post("/runbooks/north/disk-full/edit/", opened)
    assert response.status_code == 409
    html = response.content.decode()
    assert "revision 1 → 2" in html
    assert "<del>1. look</del>" in html and "<ins>their version</ins>" in html
    assert "my version" in html  # the editor's text, in the form
    assert "Save mine over current (revision 2)" in html
    form = response.context["form"]
    assert form["base_revision"].value() == "2"
    assert Runbook.objects.get(pk=document.pk).revision == 2
    # "Save mine over current": the form as the conflict page holds it.
    mine = client.post("/runbooks/north/disk-full/edit/", {**opened, "base_revision": "2"})
    assert mine.status_code == 302
    stored = Runbook.objects.get(pk=document.pk)
    assert (stored.revision, stored.body) == (3, "my version\n")
    # The same again is no change: no revision, no conflict page, whatever the base.
    again = client.post("/runbooks/north/disk-full/edit/", {**opened, "base_revision": "1"})
    assert again.status_code == 302
    assert Runbook.objects.get(pk=document.pk).revision == 3


def test_a_resubmit_with_crlf_lines_is_no_change(world):
    document = runbook(world["north"], body="line one\nline two\n")
    data = edit_data(document, body="line one\r\nline two\r\n")
    data.update(components="", tags="", alerts="", severity="", visibility="organisation")
    data.update(status="draft")
    response = client_for(world["editor"]).post("/runbooks/north/disk-full/edit/", data)
    assert response.status_code == 302
    assert Runbook.objects.get(pk=document.pk).revision == 1


def report_data(**overrides):
    data = {
        "title": "Storage outage",
        "slug": "storage-outage",
        "organisation": "north",
        "summary": "Volumes hung.",
        "body": "",
        "components": "",
        "releases": "",
        "tags": "",
        "severity": "sev2",
        "time_zone": "Europe/Berlin",
        "started_at": "2026-03-02T10:00",
        "detected_at": "",
        "resolved_at": "",
        "attendees": "",
        "impact": "Volumes hung for an hour.",
        "trigger": "",
        "root_cause": "Human error: the cluster was filled.",
        "resolution": "",
        "contributing_factors": "",
        "lessons_learned": "",
        "visibility": "public",
        "status": "published",
        "license": "CC-BY-SA-4.0",
        "language": "en",
        "last_reviewed": "",
        "message": "",
    }
    for prefix in ("timeline", "action_items"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "2",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(
        {
            "timeline-0-at": "2026-03-02T10:05",
            "timeline-0-text": "Alert fired",
            "timeline-0-ORDER": "2",
            "timeline-1-at": "2026-03-02T10:01",
            "timeline-1-text": "Disk filled",
            "timeline-1-ORDER": "1",
            "action_items-0-title": "Alert at 80 %",
            "action_items-0-status": "open",
            "action_items-1-status": "open",  # a blank row
        }
    )
    data.update(overrides)
    return data


def test_publishing_with_warnings_needs_the_acknowledgement(world):
    client = client_for(world["editor"])
    response = client.post("/incidents/new/", report_data())
    assert response.status_code == 400
    html = response.content.decode()
    assert "<mark>Human error</mark>" in html
    assert "I have read the warnings and publish anyway" in html
    assert "acknowledge_warnings&quot;: true" in html  # the API's own words
    assert not FailureReport.objects.exists()
    response = client.post("/incidents/new/", report_data(acknowledge_warnings="on"))
    assert response.status_code == 302, response.content.decode()[:3000]
    report = FailureReport.objects.get()
    assert report.status == "published"
    # Times typed in Berlin (UTC+1 in March), stored in UTC; rows in the order asked.
    assert report.started_at.isoformat() == "2026-03-02T09:00:00+00:00"
    assert [e.text for e in report.timeline.all()] == ["Disk filled", "Alert fired"]
    assert [i.title for i in report.action_items.all()] == ["Alert at 80 %"]
    revision = Revision.objects.get(object_id=report.pk, number=1)
    assert revision.via == Revision.Via.SESSION


@pytest.mark.parametrize(
    "typed,words",
    [
        ("2026-03-29T02:30", "does not exist in Europe/Berlin"),  # clocks skip 02:00-03:00
        ("2026-10-25T02:30", "happens twice in Europe/Berlin"),  # clocks go back at 03:00
    ],
)
def test_times_that_daylight_saving_skips_or_repeats_are_field_errors(world, typed, words):
    response = client_for(world["editor"]).post(
        "/incidents/new/", report_data(started_at=typed, **{"timeline-0-at": typed})
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert words in form.errors["started_at"][0]
    assert words in form.timeline.forms[0].errors["at"][0]
    assert not FailureReport.objects.exists()


def test_service_errors_of_a_row_appear_beside_the_row(world):
    response = client_for(world["editor"]).post(
        "/incidents/new/",
        report_data(status="draft", **{"action_items-0-url": "not a url"}),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.action_items.forms[0].errors["url"] == ["Enter a valid URL."]


def test_only_editors_of_the_owner_see_edit_controls_and_write(world):
    document = runbook(world["north"], visibility="public", status="published")
    organisation_only = runbook(world["north"], slug="secret", visibility="organisation")
    editor_page = client_for(world["editor"]).get("/runbooks/north/disk-full/").content.decode()
    assert 'href="/runbooks/north/disk-full/edit/"' in editor_page
    for name in ("viewer", "outsider", "south_editor"):
        client = client_for(world[name])
        page = client.get("/runbooks/north/disk-full/").content.decode()
        assert "/edit/" not in page and "/archive/" not in page, name
        forged = edit_data(document, body="forged\n")
        assert client.get("/runbooks/north/disk-full/edit/").status_code == 403, name
        assert client.post("/runbooks/north/disk-full/edit/", forged).status_code == 403
        assert (
            client.post("/runbooks/north/disk-full/archive/", {"base_revision": "1"}).status_code
            == 403
        )
        # Who cannot read it gets 404, exactly as for a document that does not exist.
        expected = 403 if name == "viewer" else 404
        assert client.post("/runbooks/north/secret/edit/", forged).status_code == expected
        assert client.post("/runbooks/north/nothing/edit/", forged).status_code == 404
        create = client.post("/runbooks/new/", form_data(slug=f"by-{name}"))
        assert create.status_code == 403, name
    assert Runbook.objects.get(pk=document.pk).revision == 1
    assert Runbook.objects.get(pk=organisation_only.pk).revision == 1
    assert Runbook.objects.count() == 2
    anonymous = Client().post("/runbooks/north/disk-full/edit/", edit_data(document))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_forms_refuse_a_post_without_the_csrf_token(world):
    document = runbook(world["north"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["editor"])
    response = client.post("/runbooks/north/disk-full/edit/", edit_data(document, body="x\n"))
    assert response.status_code == 403
    assert Runbook.objects.get(pk=document.pk).revision == 1


def test_archive_and_restore_keep_the_history(world):
    document = runbook(world["north"], status="published", visibility="public")
    client = client_for(world["editor"])
    assert (
        client.post("/runbooks/north/disk-full/archive/", {"base_revision": "1"}).status_code == 302
    )
    assert Runbook.objects.get(pk=document.pk).status == "archived"
    assert (
        client.post("/runbooks/north/disk-full/restore/", {"base_revision": "2"}).status_code == 302
    )
    restored = Runbook.objects.get(pk=document.pk)
    assert (restored.status, restored.revision) == ("published", 3)
    vias = set(
        Revision.objects.filter(object_id=document.pk, number__gt=1).values_list("via", flat=True)
    )
    assert vias == {Revision.Via.SESSION}


def test_adopt_button_and_refusal_reason(world):
    runbook(world["north"], status="published", visibility="public")
    runbook(
        world["north"],
        slug="closed",
        status="published",
        visibility="public",
        license="CC-BY-ND-4.0",
    )
    client = client_for(world["south_editor"])
    page = client.get("/runbooks/north/disk-full/").content.decode()
    assert "Adopt into" in page
    refused = client.get("/runbooks/north/closed/").content.decode()
    assert "does not allow derivatives" in refused
    response = client.post("/runbooks/north/disk-full/adopt/", {"organisation": "south"})
    assert response.status_code == 302
    copy = Runbook.objects.get(organisation__slug="south", slug="disk-full")
    assert copy.upstream_organisation == "north"
    assert Revision.objects.get(object_id=copy.pk, number=1).via == Revision.Via.SESSION
    # Into an organisation the caller cannot write: 403, as in the API.
    assert (
        client.post(
            "/runbooks/north/disk-full/adopt/", {"organisation": "north", "slug": "x"}
        ).status_code
        == 403
    )


def test_update_from_upstream_applies_the_originals_changes(world, api):
    original = runbook(world["north"], status="published", visibility="public", summary="old")
    copy = services.document_adopt(
        source=original,
        organisation=world["south"],
        slug="disk-full",
        actor=services.Actor.operator(),
    )
    copy, _ = services.document_update(
        document=copy, data={"title": "Our disk full"}, actor=OPERATOR, if_match={1}
    )
    services.document_update(
        document=original, data={"body": "1. look\n2. free space\n"}, actor=OPERATOR, if_match={1}
    )
    client = client_for(world["south_editor"])
    page = client.get("/runbooks/south/disk-full/update-from-upstream/")
    assert page.status_code == 200
    assert "<ins>2. free space</ins>" in page.content.decode()
    response = client.post(
        "/runbooks/south/disk-full/update-from-upstream/", {"base_revision": "2"}
    )
    assert response.status_code == 302
    copy = Runbook.objects.get(pk=copy.pk)
    assert copy.revision == 3 and copy.upstream_revision == 2
    assert copy.body == "1. look\n2. free space\n"
    assert copy.title == "Our disk full"  # only the copy changed it: kept
    assert Revision.objects.get(object_id=copy.pk, number=3).via == Revision.Via.SESSION
    # The API: If-Match required; 409 once the original forbids derivatives.
    api.force_authenticate(world["south_editor"])
    url = "/api/v1/runbooks/south/disk-full/update-from-upstream/"
    services.document_update(
        document=Runbook.objects.get(pk=original.pk),
        data={"summary": "new", "license": "CC-BY-ND-4.0"},
        actor=OPERATOR,
        if_match={2},
    )
    refused = api.post(url, HTTP_IF_MATCH='"3"')
    assert refused.status_code == 409
    assert "does not allow derivatives" in refused.json()["error"]["detail"]
    services.document_update(
        document=Runbook.objects.get(pk=original.pk),
        data={"license": "CC-BY-4.0"},
        actor=OPERATOR,
        if_match={3},
    )
    assert api.post(url).status_code == 428
    assert api.post(url, HTTP_IF_MATCH='"1"').status_code == 412
    applied = api.post(url, HTTP_IF_MATCH='"3"')
    assert applied.status_code == 200, applied.content
    assert applied.json()["summary"] == "new" and applied.json()["revision"] == 4
    assert applied.json()["upstream"]["revision"] == 4
    viewer = api.post("/api/v1/runbooks/north/disk-full/update-from-upstream/", HTTP_IF_MATCH='"3"')
    assert viewer.status_code == 403  # south's editor on north's runbook


def test_tag_suggestions_come_only_from_readable_documents(world):
    runbook(world["south"], slug="hidden", tags=["south-secret"])
    runbook(world["north"], slug="open", tags=["visible-tag"])
    response = client_for(world["editor"]).get("/runbooks/new/")
    html = response.content.decode()
    assert '<option value="visible-tag">' in html
    assert "south-secret" not in html


def test_the_preview_renders_with_the_one_renderer(world):
    client = client_for(world["editor"])
    response = client.post("/editing/preview/", {"text": "```sh\necho hi\n```\n<script>x</script>"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<pre>" in html and "echo hi" in html and "<script>" not in html
    assert client_for(world["viewer"]).post("/editing/preview/", {"text": "x"}).status_code == 403
    # Without JavaScript: the form's Preview button renders the same, saving nothing.
    shown = client.post("/runbooks/new/", form_data(preview="1"))
    assert shown.status_code == 200 and "<pre>" in shown.content.decode()
    assert not Runbook.objects.exists()


def test_practices_have_forms_too(world):
    response = client_for(world["editor"]).post(
        "/practices/new/", form_data(slug="run-ceph", alerts="", severity="")
    )
    assert response.status_code == 302
    assert Practice.objects.get(slug="run-ceph").revision == 1
    assert Organisation.objects.get(slug="north").practices.count() == 1


def test_lists_offer_a_new_document_to_writers_only(world):
    assert 'href="/runbooks/new/"' in client_for(world["editor"]).get("/runbooks/").content.decode()
    for client in (client_for(world["viewer"]), Client()):
        assert "/runbooks/new/" not in client.get("/runbooks/").content.decode()
    assert client_for(world["viewer"]).get("/incidents/new/").status_code == 403


def test_an_unchanged_report_with_seconds_and_rows_saves_without_a_revision(world):
    """The edit form shows the stored report (times with seconds, rows in order) so that
    saving it unchanged is no change."""
    report = services.document_create(
        model=FailureReport,
        organisation=world["north"],
        slug="outage",
        data={
            "title": "Outage",
            "started_at": "2026-03-02T09:00:30Z",
            "timeline": [{"at": "2026-03-02T09:01:00Z", "text": "first"}, {"text": "second"}],
            "action_items": [{"title": "Fix it", "due": "2026-04-01"}],
        },
        actor=OPERATOR,
    )
    client = client_for(world["editor"])
    page = client.get("/incidents/north/outage/edit/?tz=Europe/Berlin")
    form = page.context["form"]
    data = {}
    for bound in [form] + [row for fs in form.formsets().values() for row in fs.forms]:
        for field in bound:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else str(value)
    for formset in form.formsets().values():
        management = formset.management_form
        for field in management:
            data[field.html_name] = str(field.value())
    assert data["started_at"] == "2026-03-02T10:00:30"  # shown in Berlin
    response = client.post("/incidents/north/outage/edit/", data)
    assert response.status_code == 302, response.context["form"].error_summary()
    assert FailureReport.objects.get(pk=report.pk).revision == 1
