"""Prometheus metrics, served at /metrics to the addresses in METRICS_ALLOWED_IPS.

Each gunicorn worker counts in its own memory unless PROMETHEUS_MULTIPROC_DIR names a folder
the workers share (prometheus_client's multiprocess mode); then /metrics adds them up, so a
scrape sees the whole server whichever worker answers it.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as PROCESS_REGISTRY

REQUESTS = Counter(
    "opsknowledge_requests_total",
    "Requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "opsknowledge_request_duration_seconds",
    "Time to answer a request, by route pattern.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
)
THROTTLED = Counter(
    "opsknowledge_throttled_requests_total",
    "Requests refused with 429, by throttle scope.",
    ["scope"],
)
IMPORT_RESULTS = Counter(
    "opsknowledge_import_files_total",
    "Files seen by importers, by document kind and outcome (created, updated, unchanged, "
    "skipped, failed).",
    ["kind", "outcome"],
)


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = PROCESS_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


def route_of(request) -> str:
    """The URL pattern that answered ("api/v1/runbooks/<slug:organisation>/<slug:slug>/"),
    never the path itself: paths carry slugs and would make a series per document."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.route or match.view_name or "unmatched"
