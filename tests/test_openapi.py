"""The OpenAPI schema agrees with the contract (API.md): its URLs, parameters and status
codes, and it generates without a warning."""

import io
import json

import pytest
from django.core.management import call_command

DOCUMENT_KINDS = {
    "runbooks": ["alert", "upgrade_from", "upgrade_to"],
    "practices": [],
    "incidents": ["severity", "started_after", "started_before", "has_open_actions"],
}
COMMON_FILTERS = [
    "organisation", "component", "release", "tag", "status", "visibility", "updated_since", "q",
    "page", "page_size", "ordering",
]  # fmt: skip


@pytest.fixture(scope="module")
def schema():
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    return json.loads(out.getvalue())


def operation(schema, path, method):
    assert path in schema["paths"], f"{path} missing from the schema"
    return schema["paths"][path][method]


def test_catalogue_paths(schema):
    for path in ("organisations", "components", "releases"):
        assert "get" in schema["paths"][f"/api/v1/{path}/"]
        assert "get" in schema["paths"][f"/api/v1/{path}/{{slug}}/"]
    assert "post" in schema["paths"]["/api/v1/components/"]
    assert "post" in schema["paths"]["/api/v1/releases/"]
    assert "get" in schema["paths"]["/api/v1/me/"]


@pytest.mark.parametrize("kind", list(DOCUMENT_KINDS))
def test_document_paths_and_status_codes(schema, kind):
    base = f"/api/v1/{kind}/"
    detail = base + "{organisation}/{slug}/"
    listing = operation(schema, base, "get")
    names = {p["name"] for p in listing["parameters"]}
    assert set(COMMON_FILTERS + DOCUMENT_KINDS[kind]) <= names
    assert {"201", "400", "401", "403", "409"} <= set(operation(schema, base, "post")["responses"])
    assert set(operation(schema, detail, "put")["responses"]) >= {
        "200",
        "201",
        "400",
        "401",
        "403",
        "404",
        "412",
        "413",
        "428",
    }
    assert {"200", "412", "428"} <= set(operation(schema, detail, "patch")["responses"])
    delete = operation(schema, detail, "delete")["responses"]
    assert "200" in delete and "204" not in delete  # DELETE archives and answers 200
    for suffix in ("revisions/", "revisions/{number}/", "diff/"):
        assert "404" in operation(schema, detail + suffix, "get")["responses"]
    adoptable = kind != "incidents"
    assert (detail + "adopt/" in schema["paths"]) is adoptable
    assert (detail + "upstream-diff/" in schema["paths"]) is adoptable
    assert (detail + "update-from-upstream/" in schema["paths"]) is adoptable
    if adoptable:
        update = operation(schema, detail + "update-from-upstream/", "post")
        assert {"200", "403", "404", "409", "412", "428"} <= set(update["responses"])
        assert "If-Match" in {p["name"] for p in update["parameters"] if p["in"] == "header"}


def test_errors_are_described(schema):
    error = schema["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"status", "code", "detail", "fields", "current_revision", "warnings"} <= set(error)
    put = operation(schema, "/api/v1/runbooks/{organisation}/{slug}/", "put")["responses"]
    assert put["412"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_token_authentication_is_described(schema):
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": scheme["description"],
    }


def test_document_fields_match_the_contract(schema):
    runbook = schema["components"]["schemas"]["Runbook"]["properties"]
    for field in (
        "organisation",
        "slug",
        "title",
        "summary",
        "body",
        "body_html",
        "components",
        "releases",
        "tags",
        "visibility",
        "status",
        "license",
        "revision",
        "created",
        "updated",
        "url",
        "api_url",
        "alerts",
        "severity",
        "upgrade_from",
        "upgrade_to",
        "upstream",
    ):
        assert field in runbook, field
    report = schema["components"]["schemas"]["FailureReport"]["properties"]
    for field in (
        "severity",
        "started_at",
        "detected_at",
        "resolved_at",
        "time_to_detect",
        "time_to_resolve",
        "impact",
        "trigger",
        "root_cause",
        "resolution",
        "contributing_factors",
        "lessons_learned",
        "timeline",
        "action_items",
        "runbooks",
        "warnings",
    ):
        assert field in report, field


def test_release_upgrade_and_import_paths(schema):
    notes = operation(schema, "/api/v1/releases/{slug}/notes/", "get")
    assert {"kind", "component", "organisation"} <= {p["name"] for p in notes["parameters"]}
    briefing = operation(schema, "/api/v1/upgrade-path/", "get")
    assert {"from", "to", "component", "kind", "format"} <= {
        p["name"] for p in briefing["parameters"]
    }
    assert "text/markdown" in briefing["responses"]["200"]["content"]
    upload = operation(schema, "/api/v1/import/", "post")
    assert {"multipart/form-data", "application/gzip", "application/zip"} <= set(
        upload["requestBody"]["content"]
    )
    assert {"200", "400", "401", "403", "413"} <= set(upload["responses"])


def test_reads_are_open_to_anonymous_callers_and_writes_are_not(schema):
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            anonymous = {} in op.get("security", [])
            if path == "/api/v1/import/" or method not in ("get", "head"):
                assert not anonymous, (path, method)
            else:
                assert anonymous, (path, method)
            assert "401" in op["responses"], (path, method)  # a bad token, anywhere


@pytest.mark.parametrize("kind", list(DOCUMENT_KINDS))
def test_preconditions_are_described(schema, kind):
    detail = f"/api/v1/{kind}/{{organisation}}/{{slug}}/"
    read = operation(schema, detail, "get")
    assert "If-None-Match" in {p["name"] for p in read["parameters"] if p["in"] == "header"}
    assert "304" in read["responses"]
    for method in ("put", "patch", "delete"):
        write = operation(schema, detail, method)
        assert "If-Match" in {p["name"] for p in write["parameters"] if p["in"] == "header"}
        assert {"412", "428"} <= set(write["responses"])
    briefing = operation(schema, "/api/v1/upgrade-path/", "get")
    assert "If-None-Match" in {p["name"] for p in briefing["parameters"]}


def test_ordering_and_status_name_their_values(schema):
    def parameter(path, name):
        found = [p for p in operation(schema, path, "get")["parameters"] if p["name"] == name]
        return found[0]["schema"] if found else None

    ordering = parameter("/api/v1/incidents/", "ordering")["enum"]
    assert {"title", "-updated", "started_at", "-severity"} <= set(ordering)
    assert parameter("/api/v1/runbooks/", "status")["enum"] == ["draft", "published", "archived"]
    assert "in_review" in parameter("/api/v1/incidents/", "status")["enum"]
    assert parameter("/api/v1/releases/", "ordering") is None  # the chain is the order


def test_list_parameters_may_be_empty_and_revisions_take_no_list_filters(schema):
    listing = operation(schema, "/api/v1/runbooks/", "get")["parameters"]
    assert all(p.get("allowEmptyValue") for p in listing if p["in"] == "query")
    revisions = operation(schema, "/api/v1/runbooks/{organisation}/{slug}/revisions/", "get")
    assert {p["name"] for p in revisions["parameters"] if p["in"] == "query"} == {
        "page",
        "page_size",
    }


def test_search_is_described(schema):
    search = operation(schema, "/api/v1/search/", "get")
    parameters = {p["name"]: p for p in search["parameters"]}
    assert {
        "q", "kind", "organisation", "component", "release", "tag", "status", "ordering", "page",
        "page_size",
    } <= set(parameters)  # fmt: skip
    assert parameters["q"]["required"] is True
    assert set(parameters["ordering"]["schema"]["enum"]) == {"relevance", "-updated"}
    assert {"200", "400", "401"} <= set(search["responses"])
    body = search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    results = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert {"count", "results", "facets", "suggestion", "count_exact"} <= set(results)
    facets = schema["components"]["schemas"]["Facets"]["properties"]
    assert set(facets) == {"kind", "organisation", "component", "release", "tag"}


def test_an_action_items_status_change_is_described(schema):
    path = "/api/v1/incidents/{organisation}/{slug}/action-items/{item_id}/"
    change = operation(schema, path, "patch")
    assert "If-Match" in {p["name"] for p in change["parameters"] if p["in"] == "header"}
    assert {"200", "400", "401", "403", "404", "412", "428"} <= set(change["responses"])
    assert set(schema["paths"][path]) - {"parameters"} == {"patch"}
    item = schema["components"]["schemas"]["ActionItem"]["properties"]
    assert {"id", "created", "closed_at", "original_due"} <= set(item)
    assert all(item[name].get("readOnly") for name in ("created", "closed_at", "original_due"))


def test_transparency_is_described(schema):
    figures = operation(schema, "/api/v1/organisations/{organisation}/transparency/", "get")
    assert {"organisation", "days", "from", "to"} <= {p["name"] for p in figures["parameters"]}
    days = next(p for p in figures["parameters"] if p["name"] == "days")
    assert sorted(days["schema"]["enum"]) == [90, 365]
    assert {"200", "400", "404"} <= set(figures["responses"])
