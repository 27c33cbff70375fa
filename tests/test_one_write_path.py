"""The content rules live with the kinds and run on every write, whoever calls: the services
called directly refuse exactly what the API refuses, with the same field and message."""

import pytest
from django.core.exceptions import ValidationError

from incidents.models import FailureReport
from opsknowledge import services
from opsknowledge.exceptions import Conflict, PreconditionFailed, UnacknowledgedWarnings
from opsknowledge.models import Organisation, Release
from opsknowledge.tests.factories import member
from runbooks.models import Practice, Runbook

pytestmark = pytest.mark.django_db

OPERATOR = services.Actor.operator()
REPORT = {
    "title": "Volumes hung",
    "summary": "Volumes hung for an hour.",
    "impact": "Writes stalled.",
    "root_cause": "The cluster was full.",
    "status": "published",
    "visibility": "public",
}

# (kind, data, field, message): each a write the API refuses with 400.
INVALID = [
    pytest.param(
        "incidents",
        {**REPORT, "impact": "", "root_cause": ""},
        "impact",
        "A published report needs a summary, an impact and a root cause.",
        id="published-report-without-impact",
    ),
    pytest.param(
        "incidents",
        {**REPORT, "started_at": "2024-05-01T10:00:00Z", "resolved_at": "2024-05-01T09:00:00Z"},
        "resolved_at",
        "must not be before started_at (2024-05-01T10:00:00+00:00).",
        id="resolved-before-started",
    ),
    pytest.param(
        "runbooks",
        {"title": "Back", "upgrade_from": "r4", "upgrade_to": "r2"},
        "upgrade_to",
        "'r2' does not come after 'r4' in the upgrade chain.",
        id="upgrade-runbook-going-backwards",
    ),
    pytest.param(
        "runbooks",
        {"title": "Half", "upgrade_from": "r3"},
        "upgrade_to",
        "An upgrade runbook names both the release it starts from and the one it reaches.",
        id="upgrade-runbook-without-target",
    ),
    pytest.param(
        "runbooks",
        {"title": "Tagged", "tags": ["Not A Tag!"]},
        "tags",
        "invalid tag 'not a tag!': use lower-case letters, digits and . _ + - (no spaces or "
        "commas), at most 100 characters",
        id="tag-with-spaces",
    ),
    pytest.param(
        "runbooks",
        {"title": "Alerted", "alerts": ["kube pod crash"]},
        "alerts",
        "invalid alert name 'kube pod crash': use the alertname label, e.g. 'KubePodCrashLooping'",
        id="alert-name-with-spaces",
    ),
    pytest.param(
        "runbooks",
        {"title": "Reviewing", "status": "in_review"},
        "status",
        "'in_review' is not a valid choice of status for a runbook; use draft, published, "
        "archived.",
        id="runbook-in-review",
    ),
    pytest.param(
        "practices",
        {"title": "Unknown component", "components": ["cepf"]},
        "components",
        "unknown component 'cepf'; did you mean 'ceph'?",
        id="unknown-component",
    ),
    pytest.param(
        "practices",
        {"title": "Odd licence", "license": "WTFPL"},
        "license",
        None,
        id="unknown-licence",
    ),
]
MODELS = {"runbooks": Runbook, "practices": Practice, "incidents": FailureReport}


def refusal_of_the_api(token_client, organisation, kind, slug, data):
    client = token_client(member(organisation, "editor"), organisation)
    response = client.put(f"/api/v1/{kind}/{organisation.slug}/{slug}/", data, format="json")
    assert response.status_code == 400, response.json()
    return response.json()["error"]["fields"]


@pytest.mark.parametrize(("kind", "data", "field", "message"), INVALID)
def test_the_services_refuse_what_the_api_refuses(
    catalogue, token_client, kind, data, field, message
):
    organisation = Organisation.objects.get(slug="scs")
    fields = refusal_of_the_api(token_client, organisation, kind, "refused", data)
    with pytest.raises(ValidationError) as refused:
        services.document_create(
            model=MODELS[kind],
            organisation=organisation,
            slug="refused",
            data=data,
            actor=OPERATOR,
        )
    assert refused.value.message_dict[field] == fields[field]
    if message is not None:
        assert fields[field] == [message]
    assert not MODELS[kind].objects.filter(slug="refused").exists()  # all or nothing


def test_a_rule_holds_on_update_too(catalogue):
    organisation = Organisation.objects.get(slug="scs")
    report = services.document_create(
        model=FailureReport, organisation=organisation, slug="r", data=REPORT, actor=OPERATOR
    )
    with pytest.raises(ValidationError) as refused:
        services.document_update(
            document=report, data={"root_cause": ""}, actor=OPERATOR, if_match={1}
        )
    assert "root_cause" in refused.value.message_dict
    report.refresh_from_db()
    assert (report.revision, report.root_cause) == (1, "The cluster was full.")


@pytest.mark.parametrize("slug", ["zz-public-nl\n", " x", "x ", "a\tb", "a\u00a0b", "A", "a--b"])
def test_a_slug_that_cannot_be_addressed_is_refused_everywhere(catalogue, token_client, slug):
    organisation = Organisation.objects.get(slug="scs")
    client = token_client(member(organisation, "editor"), organisation)
    response = client.post(
        "/api/v1/runbooks/", {"organisation": "scs", "slug": slug, "title": "T"}, format="json"
    )
    assert response.status_code == 400
    assert "slug" in response.json()["error"]["fields"]
    with pytest.raises(ValidationError) as refused:
        services.document_create(
            model=Runbook, organisation=organisation, slug=slug, data={"title": "T"}, actor=OPERATOR
        )
    assert "slug" in refused.value.message_dict
    assert not Runbook.objects.exists()


def test_the_address_cannot_change(catalogue):
    organisation = Organisation.objects.get(slug="scs")
    runbook = services.document_create(
        model=Runbook, organisation=organisation, slug="a", data={"title": "A"}, actor=OPERATOR
    )
    with pytest.raises(ValidationError) as refused:
        services.document_update(
            document=runbook, data={"slug": "b", "title": "B"}, actor=OPERATOR, if_match={1}
        )
    assert refused.value.message_dict["slug"] == [
        "cannot be changed (is 'a'); adopt the document instead."
    ]


def test_tags_and_alerts_are_stored_in_one_spelling(catalogue):
    runbook = services.document_create(
        model=Runbook,
        organisation=Organisation.objects.get(slug="scs"),
        slug="a",
        data={"title": " A ", "tags": ["Storage ", "storage", "ceph"], "alerts": [" CephFull "]},
        actor=OPERATOR,
    )
    runbook.refresh_from_db()
    assert runbook.title == "A"
    assert sorted(runbook.tags.names()) == ["ceph", "storage"]
    assert list(runbook.alerts.values_list("name", flat=True)) == ["CephFull"]


def test_unacknowledged_warnings_carry_the_warnings(catalogue):
    with pytest.raises(UnacknowledgedWarnings) as refused:
        services.document_create(
            model=FailureReport,
            organisation=Organisation.objects.get(slug="scs"),
            slug="blame",
            data={**REPORT, "root_cause": "Bob should have checked the disk."},
            actor=OPERATOR,
        )
    assert refused.value.warnings
    assert "acknowledge_warnings" in refused.value.message_dict


class TestDocumentPut:
    def put(self, data, if_match=None, slug="doc"):
        return services.document_put(
            model=Runbook,
            organisation=Organisation.objects.get(slug="scs"),
            slug=slug,
            data=data,
            actor=OPERATOR,
            if_match=if_match,
        )

    def test_create_replace_and_unchanged(self, catalogue):
        assert self.put({"title": "One", "summary": "s"})[0] == "created"
        assert self.put({"title": "One", "summary": "s"})[0] == "unchanged"
        outcome, runbook = self.put({"title": "Two"}, if_match={1})
        assert outcome == "updated"
        assert (runbook.revision, runbook.summary) == (2, "")  # left out: reset

    def test_if_match_on_a_missing_document_fails(self, catalogue):
        with pytest.raises(PreconditionFailed):
            self.put({"title": "One"}, if_match={1})
        with pytest.raises(PreconditionFailed):
            self.put({"title": "One"}, if_match="*")

    def test_a_put_keeps_status_visibility_and_licence_it_leaves_out(self, catalogue):
        self.put({"title": "One", "status": "published", "visibility": "public"})
        _outcome, runbook = self.put(
            {"title": "One", "license": "proprietary"}, if_match={1}, slug="doc"
        )
        _outcome, runbook = self.put({"title": "Two"}, if_match={2})
        assert (runbook.status, runbook.visibility, runbook.license) == (
            "published",
            "public",
            "proprietary",
        )

    def test_a_put_that_loses_the_race_to_create_replaces_the_winner(self, catalogue):
        """The document did not exist when the PUT looked (`existing=None`) but does when it
        inserts: the taken slug is rolled back alone and the PUT replaces the winner's
        document in the same transaction, as any later PUT would."""
        assert self.put({"title": "Winner"})[0] == "created"
        organisation = Organisation.objects.get(slug="scs")

        def put_after_looking(data):
            return services.document_put(
                model=Runbook,
                organisation=organisation,
                slug="doc",
                data=data,
                actor=OPERATOR,
                if_match=services.OWNED,
                existing=None,
            )

        outcome, runbook = put_after_looking({"title": "Winner"})
        assert (outcome, runbook.revision) == ("unchanged", 1)
        outcome, runbook = put_after_looking({"title": "Loser"})
        assert (outcome, runbook.revision) == ("updated", 2)
        assert list(Runbook.objects.values_list("title", flat=True)) == ["Loser"]


class TestAdoption:
    def source(self, **data):
        return services.document_create(
            model=Practice,
            organisation=Organisation.objects.get(slug="scs"),
            slug="original",
            data={"title": "Original", "status": "published", "visibility": "public", **data},
            actor=OPERATOR,
        )

    def adopt(self, source):
        return services.document_adopt(
            source=source,
            organisation=Organisation.objects.exclude(slug="scs").first(),
            slug=None,
            actor=OPERATOR,
        )

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            ({"status": "draft"}, "not published"),
            ({"visibility": "organisation"}, "visible to its organisation only"),
            ({"license": "CC-BY-ND-4.0"}, "does not allow derivatives"),
        ],
    )
    def test_only_published_open_documents_with_derivatives_allowed(self, catalogue, data, reason):
        with pytest.raises(Conflict) as refused:
            self.adopt(self.source(**data))
        assert reason in refused.value.message

    def test_a_share_alike_copy_keeps_its_licence(self, catalogue):
        copy = self.adopt(self.source(license="CC-BY-SA-4.0"))
        with pytest.raises(ValidationError) as refused:
            services.document_update(
                document=copy, data={"license": "proprietary"}, actor=OPERATOR, if_match={1}
            )
        assert "ShareAlike" in refused.value.message_dict["license"][0]

    def test_a_permissive_copy_may_be_relicensed(self, catalogue):
        copy = self.adopt(self.source(license="CC-BY-4.0"))
        copy, changed = services.document_update(
            document=copy, data={"license": "proprietary"}, actor=OPERATOR, if_match={1}
        )
        assert changed and copy.license == "proprietary"


def test_catalogue_rules_hold_in_the_service(catalogue):
    r2 = Release.objects.get(slug="r2")
    fork = Release(slug="r3b", name="R3b", previous=r2)
    with pytest.raises(ValidationError) as refused:
        services.catalogue_save(entry=fork, actor=OPERATOR)
    assert refused.value.message_dict["previous"] == [
        "That release already has a successor; the upgrade chain cannot fork."
    ]


def test_history_does_not_leak_what_publishing_hid(catalogue, api):
    """A report drafted with secrets, cleaned, then published: outsiders see only the
    revisions made while it was readable to them (API.md "revisions")."""
    organisation = Organisation.objects.get(slug="scs")
    editor = member(organisation, "editor", username="drafter")
    secret = "password=hunter2 on db01.internal 10.1.2.3"
    report = services.document_create(
        model=FailureReport,
        organisation=organisation,
        slug="leaky",
        data={**REPORT, "status": "draft", "visibility": "organisation", "root_cause": secret},
        actor=OPERATOR,
    )
    report, _ = services.document_update(
        document=report, data={"root_cause": "A full disk."}, actor=OPERATOR, if_match={1}
    )
    report, _ = services.document_update(
        document=report,
        data={"status": "published", "visibility": "public"},
        actor=OPERATOR,
        if_match={2},
    )
    url = "/api/v1/incidents/scs/leaky/"
    listed = api.get(f"{url}revisions/").json()["results"]
    assert [r["number"] for r in listed] == [3]
    assert listed[0]["author"] is None and listed[0]["via"] is None
    for path in ("revisions/1/", "revisions/2/", "diff/?from=1&to=3", "diff/?to=2"):
        response = api.get(url + path)
        assert response.status_code == 404, path
        assert secret not in response.content.decode()
    plain = api.get(url + "diff/?from=1&to=3", HTTP_ACCEPT="text/plain")
    assert plain.status_code == 404 and "hunter2" not in plain.content.decode()
    assert api.get(url + "revisions/3/").status_code == 200

    api.force_authenticate(editor)
    assert [r["number"] for r in api.get(f"{url}revisions/").json()["results"]] == [3, 2, 1]
    assert "hunter2" in api.get(url + "diff/?from=1&to=3").json()["changes"]["root_cause"]
    assert api.get(f"{url}revisions/").json()["results"][0]["via"] == "import"


@pytest.mark.parametrize(
    ("kind", "field", "items"),
    [
        ("runbooks", "tags", [f"t{n}" for n in range(20_000)]),
        ("runbooks", "alerts", [f"Alert{n}" for n in range(101)]),
        ("incidents", "attendees", [f"Person {n}" for n in range(4_000)]),
        ("incidents", "timeline", [{"text": "x"}] * 501),
        ("incidents", "action_items", [{"title": "x"}] * 201),
    ],
)
def test_lists_are_capped_before_any_work(catalogue, token_client, kind, field, items):
    organisation = Organisation.objects.get(slug="scs")
    data = {"title": "Long", field: items}
    fields = refusal_of_the_api(token_client, organisation, kind, "long", data)
    limit = MODELS[kind].LIST_LIMITS[field]
    assert fields[field] == [f"Give at most {limit} items (got {len(items)})."]
    from taggit.models import Tag

    assert not Tag.objects.filter(name__startswith="t1").exists()


def test_the_markdown_of_a_document_is_capped(catalogue, token_client, settings):
    settings.DOCUMENT_MARKDOWN_MAX_BYTES = 10 * 1024
    organisation = Organisation.objects.get(slug="scs")
    half = "word " * 1100  # 5.5 KB: each field alone is within the limit
    fields = refusal_of_the_api(
        token_client,
        organisation,
        "incidents",
        "big",
        {"title": "Big", "body": half, "impact": half},
    )
    assert "at most 10 KiB in all" in next(iter(fields.values()))[0]
    report = services.document_create(
        model=FailureReport,
        organisation=organisation,
        slug="big",
        data={"title": "Big", "body": half},
        actor=OPERATOR,
    )
    with pytest.raises(ValidationError) as refused:
        services.document_update(
            document=report, data={"impact": half}, actor=OPERATOR, if_match={1}
        )
    assert "impact" in refused.value.message_dict


def test_stored_slugs_that_cannot_be_addressed_are_repaired(demo):
    from django.apps import apps

    from opsknowledge.slug_repair import repair_slugs

    runbook = Runbook.objects.filter(organisation__slug="scs").first()
    # As stored before slugs were validated to their end (QuerySet.update skips the rules).
    Runbook.objects.filter(pk=runbook.pk).update(slug="zz-public-nl\n")
    services.document_create(
        model=Runbook,
        organisation=runbook.organisation,
        slug="zz-public-nl",
        data={"title": "Taken"},
        actor=OPERATOR,
    )
    before = Runbook.objects.get(pk=runbook.pk).revision

    assert repair_slugs(apps, "runbooks", "Runbook") == [("zz-public-nl\n", "zz-public-nl-2")]
    runbook.refresh_from_db()
    assert (runbook.slug, runbook.revision) == ("zz-public-nl-2", before + 1)
    assert repair_slugs(apps, "runbooks", "Runbook") == []  # idempotent
    for model in (Runbook, Practice, FailureReport):
        for document in model.objects.select_related("organisation"):
            assert document.get_absolute_url() and document.get_api_url()


@pytest.mark.parametrize(
    ("markdown", "says"),
    [
        ("- " * 1000 + "x", "may nest at most 32 levels"),
        ("> " * 33 + "x", "may nest at most 32 levels"),
        ("<ul><li>" * 3000, "may nest at most 32 levels"),
        ("> " * 20 + "<div>" * 13 + "x", "may nest at most 32 levels"),
        ("[" * 20000, "at most 5000 '['"),
    ],
    ids=["nested-bullets", "nested-quotes", "raw-html", "quotes-and-html", "brackets"],
)
def test_markdown_too_costly_to_render_is_refused_naming_the_field(
    catalogue, token_client, markdown, says
):
    organisation = Organisation.objects.get(slug="scs")
    fields = refusal_of_the_api(
        token_client, organisation, "incidents", "deep", {"title": "Deep", "trigger": markdown}
    )
    assert says in fields["trigger"][0]


def test_markdown_at_the_limits_renders_in_bounded_time():
    """A guard against hangs only (the benchmark command measures: target 500 ms each)."""
    import time

    from django.conf import settings

    from opsknowledge.management.commands.benchmark import costly_markdown
    from opsknowledge.markdown import render_within_limits

    for label, text in costly_markdown(settings.DOCUMENT_MARKDOWN_MAX_BYTES).items():
        started = time.perf_counter()
        render_within_limits(text)
        assert time.perf_counter() - started < 10, label


def test_reimporting_a_tree_keeps_what_was_published_since(catalogue, tmp_path):
    """Option defaults apply to documents an import creates; an existing document keeps a
    field its file does not set, unless the option is given explicitly (API.md)."""
    import io

    from django.core.management import call_command

    (tmp_path / "a.md").write_text("---\ntitle: A\n---\n# A\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\ntitle: B\nvisibility: community\n---\n# B\n")

    def run(*options):
        call_command(
            "import_runbooks", str(tmp_path), "--organisation", "scs", *options,
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip

    def visibility(slug):
        return Runbook.objects.get(slug=slug).visibility

    run()
    assert (visibility("a"), visibility("b")) == ("organisation", "community")
    runbook = Runbook.objects.get(slug="a")
    services.document_update(
        document=runbook, data={"visibility": "public"}, actor=OPERATOR, if_match={1}
    )
    run()
    assert visibility("a") == "public"
    run("--visibility", "organisation")
    assert (visibility("a"), visibility("b")) == ("organisation", "community")  # file wins
