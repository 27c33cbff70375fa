"""Every error under /api/ is JSON in the contract's shape, and nothing a client sends is a
500."""

import json

import pytest
from django.test import override_settings

from opsknowledge.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(api):
    api.force_authenticate(UserFactory(username="operator", is_staff=True))
    return api


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert error["detail"]
    return error


def test_unknown_url_under_api_is_a_json_404(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error(api.get("/api/elsewhere"), 404, "not_found")


def test_missing_trailing_slash_is_pointed_out(api):
    error = assert_error(api.get("/api/v1/releases"), 404, "not_found")
    assert "/api/v1/releases/" in error["detail"]


def test_unknown_object_is_a_json_404(api):
    assert_error(api.get("/api/v1/releases/r99/"), 404, "not_found")


def test_wrong_method_is_a_json_405(api):
    assert_error(api.delete("/api/v1/organisations/"), 405, "method_not_allowed")


def test_malformed_json_is_a_400(staff):
    response = staff.post("/api/v1/components/", "{bad", content_type="application/json")
    assert "JSON parse error" in assert_error(response, 400, "invalid")["detail"]


def test_empty_body_is_a_400(staff):
    response = staff.post("/api/v1/components/", "", content_type="application/json")
    assert_error(response, 400, "invalid")


def test_deeply_nested_json_is_a_400_not_a_500(staff):
    payload = "[" * 100_000 + "]" * 100_000
    response = staff.post("/api/v1/components/", payload, content_type="application/json")
    assert "nested too deeply" in assert_error(response, 400, "invalid")["detail"]


def test_nan_is_not_json(staff):
    response = staff.post("/api/v1/components/", '{"slug": NaN}', content_type="application/json")
    assert_error(response, 400, "invalid")


def test_nul_byte_in_json_is_a_400_naming_the_field(staff):
    body = json.dumps({"slug": "nul", "name": "bad\u0000name"})
    response = staff.post("/api/v1/components/", body, content_type="application/json")
    assert "'name'" in assert_error(response, 400, "invalid")["detail"]


def test_nul_byte_in_query_string_is_a_400(api):
    error = assert_error(api.get("/api/v1/components/?parent__slug=%00"), 400, "invalid")
    assert "parent__slug" in error["fields"]


def test_unsupported_media_type_is_a_415(staff):
    response = staff.post("/api/v1/components/", "slug=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@override_settings(API_MAX_BODY_BYTES=1000)
def test_body_over_the_limit_is_a_413(staff):
    body = json.dumps({"slug": "big", "name": "x", "description": "y" * 2000})
    response = staff.post("/api/v1/components/", body, content_type="application/json")
    assert_error(response, 413, "too_large")


def test_validation_error_names_every_bad_field(staff):
    response = staff.post("/api/v1/components/", {"slug": "Not A Slug"}, format="json")
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"slug", "name"}
    assert "'slug'" in error["detail"]


def test_api_errors_for_html_pages_stay_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
