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
from prometheus_client.core import GaugeMetricFamily

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


class DatabasePoolCollector:
    """The connection pools of this process (DATABASE_POOL_MAX_SIZE), read at scrape time:
    connections in use and idle, the pool's maximum, and requests waiting for one, per
    database alias. A pool lives in its worker process, so each worker reports its own
    (label `pid`); in multiprocess mode a scrape sees the worker that answers it."""

    def collect(self):
        from django.db.backends.postgresql.base import DatabaseWrapper

        connections = GaugeMetricFamily(
            "opsknowledge_database_pool_connections",
            "Pooled database connections of this worker, by alias and state (in_use, idle).",
            labels=["alias", "pid", "state"],
        )
        maximum = GaugeMetricFamily(
            "opsknowledge_database_pool_max_connections",
            "The most connections this worker's pool may open, by alias.",
            labels=["alias", "pid"],
        )
        waiting = GaugeMetricFamily(
            "opsknowledge_database_pool_requests_waiting",
            "Requests of this worker waiting for a pooled connection, by alias.",
            labels=["alias", "pid"],
        )
        pid = str(os.getpid())
        for alias, pool in sorted(DatabaseWrapper._connection_pools.items()):
            stats = pool.get_stats()
            size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
            connections.add_metric([alias, pid, "in_use"], size - idle)
            connections.add_metric([alias, pid, "idle"], idle)
            maximum.add_metric([alias, pid], stats.get("pool_max", 0))
            waiting.add_metric([alias, pid], stats.get("requests_waiting", 0))
        yield from (connections, maximum, waiting)


class ReplicaCollector:
    """Per read replica (DATABASE_REPLICA_URLS), as this worker last saw it when choosing
    where a safe request reads: its lag behind the primary in bytes of WAL, and whether it
    is in use (0 while the worker leaves it alone after a failure). Read from memory: a
    scrape costs no query."""

    def collect(self):
        import time

        from django.conf import settings

        from .replicas import health

        aliases = getattr(settings, "DATABASE_REPLICAS", [])
        if not aliases:
            return
        lag = GaugeMetricFamily(
            "opsknowledge_database_replica_lag_bytes",
            "How far the replica's replay was behind the primary's WAL position, in bytes, "
            "when this worker last looked.",
            labels=["alias", "pid"],
        )
        up = GaugeMetricFamily(
            "opsknowledge_database_replica_up",
            "1 while this worker may read from the replica, 0 while it leaves it alone after "
            "a failure.",
            labels=["alias", "pid"],
        )
        pid, now = str(os.getpid()), time.monotonic()
        for alias in aliases:
            if alias in health.lag_bytes:
                lag.add_metric([alias, pid], health.lag_bytes[alias])
            up.add_metric([alias, pid], 0 if health.is_down(alias, now) else 1)
        yield from (lag, up)


POOLS = DatabasePoolCollector()
REPLICAS = ReplicaCollector()
PROCESS_REGISTRY.register(POOLS)
PROCESS_REGISTRY.register(REPLICAS)


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(POOLS)  # read live, not from the shared files
        registry.register(REPLICAS)
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
