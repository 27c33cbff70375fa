"""The per-request cost of read-your-writes routing (opsknowledge.replicas).

    python manage.py benchmark_replicas [--requests 2000]

With DATABASE_REPLICA_URLS set, times --requests runs of what a request adds: on the first
read of a safe request the router's choice, for an anonymous reader (the replica's
replayed position, and the primary's at most once a second) and for a caller with a stored
write position (a cache lookup as well); after a write, reading the primary's position and
storing it. A `SELECT 1` on the primary is timed beside them as a yardstick. Prints
median, p95 and mean in microseconds, and where the choices went. Nothing is written to
the databases; one cache entry of its own is set and deleted.

Throughput with and without replicas: `manage.py loadtest --mix read` against two servers.
"""

import secrets
import statistics
import time
from collections import Counter

from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from opsknowledge import replicas


def select_one():
    with connections[replicas.PRIMARY].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=2000, help="runs of each case")

    def handle(self, requests, **options):
        if not settings.DATABASE_REPLICAS:
            raise CommandError("DATABASE_REPLICA_URLS is not set: there is no replica to choose")
        caller = f"replica-position:benchmark:{secrets.token_hex(8)}"
        replicas.record_write_position(caller)
        cases = [
            ("SELECT 1 on the primary (yardstick)", select_one),
            ("choice for an anonymous reader", lambda: replicas.choose(None)),
            ("choice for a caller who wrote", lambda: replicas.choose(caller)),
            ("after a write: store its position", lambda: replicas.record_write_position(caller)),
        ]
        self.stdout.write(
            f"{requests} runs each, replicas {', '.join(settings.DATABASE_REPLICAS)}; "
            f"microseconds per request:"
        )
        self.stdout.write(f"  {'':<38} {'median':>8} {'p95':>8} {'mean':>8}  chosen")
        try:
            for name, run in cases:
                for _ in range(min(50, requests)):  # connections open, caches warm
                    run()
                timings, chosen = [], Counter()
                for _ in range(requests):
                    started = time.perf_counter()
                    outcome = run()
                    timings.append((time.perf_counter() - started) * 1e6)
                    if isinstance(outcome, str):
                        chosen[outcome] += 1
                timings.sort()
                p95 = timings[min(int(len(timings) * 0.95), len(timings) - 1)]
                where = " ".join(f"{alias}x{count}" for alias, count in sorted(chosen.items()))
                self.stdout.write(
                    f"  {name:<38} {statistics.median(timings):8.0f} {p95:8.0f} "
                    f"{statistics.fmean(timings):8.0f}  {where}"
                )
        finally:
            cache.delete(caller)
