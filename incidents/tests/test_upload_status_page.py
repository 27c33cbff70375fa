"""`POST /api/v1/import/?kind=status-page`: status-page incidents as a JSON body or an
archive of JSON files, imported by the importer `import_status_page` runs."""

import io
import json
import tarfile

import pytest

from incidents.models import FailureReport, StatusPageIncident
from opsknowledge.tests import shared_data
from opsknowledge.tests.factories import OrganisationFactory, member

from .test_status_page import GITHUB, statuspage_incident

pytestmark = pytest.mark.django_db
URL = "/api/v1/import/?kind=status-page"


@pytest.fixture
def uploader(token_client):
    organisation = OrganisationFactory(slug="github")
    return token_client(member(organisation, "editor", username="pipeline"), organisation)


def post_json(client, data, query=""):
    return client.post(URL + query, json.dumps(data), content_type="application/json")


def test_one_incident_and_a_list_as_json(uploader):
    one = statuspage_incident()
    response = post_json(uploader, one)
    assert response.status_code == 200, response.content
    assert (response.json()["created"], response.json()["failed"]) == (1, 0)
    report = FailureReport.objects.get(slug="examplepage-abc123")
    assert (report.status, report.visibility) == ("draft", "organisation")
    second = {**one["incident"], "id": "def456"}
    listed = post_json(uploader, {"page": one["page"], "incidents": [one["incident"], second]})
    assert (listed.json()["created"], listed.json()["unchanged"]) == (1, 1)
    assert StatusPageIncident.objects.count() == 2


def test_a_json_body_is_a_status_page_export_without_kind(uploader):
    response = uploader.post(
        "/api/v1/import/", json.dumps(statuspage_incident()), content_type="application/json"
    )
    assert (response.json()["kind"], response.json()["created"]) == ("status-page", 1)


def test_an_scs_bundle_needs_its_source(uploader):
    bundle = {
        "components": [],
        "phases": {"generation": 1, "phases": ["Scheduled", "Done"]},
        "incidents": [
            {"id": "0a", "displayName": "Down", "beganAt": "2024-01-01T10:00:00Z",
             "endedAt": "2024-01-01T11:00:00Z", "phase": {"generation": 1, "order": 1},
             "affects": [], "updates": []},
        ],
    }  # fmt: skip
    refused = post_json(uploader, bundle)
    assert refused.status_code == 400
    # The API's own parameter is named, not only the command's option.
    assert (
        "name the page with source (the import API's parameter"
        in (refused.json()["error"]["fields"]["incidents"][0])
    )
    done = post_json(uploader, bundle, "&source=scs-page").json()
    assert done["created"] == 1
    assert FailureReport.objects.filter(slug="scs-page-0a").exists()


def test_a_url_is_never_fetched(uploader):
    # Not an export: refused whole (400), and nothing is fetched or stored.
    response = post_json(uploader, {"url": "http://169.254.169.254/latest/meta-data/"})
    assert response.status_code == 400
    assert "incidents" in response.json()["error"]["fields"]
    assert not StatusPageIncident.objects.exists()


def test_anonymous_callers_cannot_import(api):
    OrganisationFactory(slug="github")
    response = api.post(URL + "&organisation=github", "{}", content_type="application/json")
    assert response.status_code in (401, 403)


def test_an_archive_of_real_incidents_imports_as_the_command_does(uploader):
    data = shared_data.require(GITHUB, "GitHub's status-page incident history")
    files = sorted(data.glob("*.json"))[:40]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in files:
            archive.add(path, arcname=f"incidents/{path.name}")
    response = uploader.post(URL, buffer.getvalue(), content_type="application/gzip")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["files_total"], body["created"], body["failed"]) == (40, 40, 0)
    assert {f["file"] for f in body["files"]} == {f"incidents/{p.name}" for p in files}
    again = uploader.post(URL, buffer.getvalue(), content_type="application/gzip").json()
    assert again["unchanged"] == 40
