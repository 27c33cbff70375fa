"""Request ids, liveness and Prometheus metrics."""

import io
import logging
import re

import pytest

from opsknowledge.requestid import RequestIdFilter, request_id_for


def test_every_response_carries_a_request_id_and_keeps_a_proxys_own(client):
    first = client.get("/livez")["X-Request-ID"]
    second = client.get("/livez")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert client.get("/livez", HTTP_X_REQUEST_ID="lb-7f3a.01")["X-Request-ID"] == "lb-7f3a.01"


@pytest.mark.parametrize("header", ["", "a b", "x" * 65, "id\nforged log line", "ü"])
def test_a_request_id_header_that_is_not_an_id_is_replaced(header):
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_for(header))


@pytest.mark.django_db
def test_log_lines_written_while_answering_carry_the_request_id(client):
    """Through the console handler settings configure, as a deployment's log shows it."""
    console = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RequestIdFilter) for f in h.filters)
    )
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        # A 404 under /api/ is logged by Django ("Not Found: ...") while answering.
        response = client.get("/api/v1/runbooks/nobody/nothing/", HTTP_X_REQUEST_ID="trace-42")
        logging.getLogger("opsknowledge").warning("outside any request")
    finally:
        console.setStream(previous)
    assert response.status_code == 404
    lines = stream.getvalue().splitlines()
    assert any("[trace-42] Not Found: /api/v1/runbooks/nobody/nothing/" in line for line in lines)
    assert any("[-] outside any request" in line for line in lines)


def test_livez_does_no_io(client):
    # No django_db mark: pytest-django makes any database access here an error.
    response = client.get("/livez")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_status(client):
    client.get("/api/v1/runbooks/")
    client.get("/api/v1/runbooks/nobody/nothing/")
    body = client.get("/metrics").content.decode()
    assert re.search(
        r'opsknowledge_requests_total\{method="GET",route="api/v1/runbooks/",status="200"\} '
        r"[1-9]",
        body,
    )
    assert 'status="404"' in body
    assert "opsknowledge_request_duration_seconds_bucket" in body
    assert "opsknowledge_throttled_requests_total" in body
    # Paths never become labels: a series per document would grow without end.
    assert "nobody/nothing" not in body


@pytest.mark.django_db
def test_metrics_are_only_for_the_allowed_addresses(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16"]
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
