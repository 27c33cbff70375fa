"""Measure the API's hot paths on a throwaway database and print the numbers.

    python manage.py benchmark [--documents 300] [--repeat 30]

It creates a test database (like the test suite: nothing is written to the configured
one), fills it with demo content plus N runbooks and failure reports, then times requests
through Django's test client (no network) and prints medians and ratios against a baseline
measured in the same run (GET /healthz: routing and middleware only).
"""

import io
import statistics
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment, teardown_test_environment

from opsknowledge.progress import progress


def costly_markdown(size: int) -> dict[str, str]:
    """The costliest Markdown we know of, each about `size` bytes and within the other
    limits (nesting, brackets), so that what the services accept is what is measured."""
    from opsknowledge.markdown import MAX_BRACKETS, NESTING_DEPTH

    def fill(unit: str) -> str:
        return unit * max(size // len(unit), 1)

    nested = "> " * (NESTING_DEPTH // 2) + "- " * (NESTING_DEPTH // 2) + "x\n"
    link = "[a](b) "
    return {
        "plain words": fill("word "),
        "emphasis delimiters": fill("_a "),
        "strong/emphasis runs": fill("**a*"),
        "code spans": fill("`a"),
        f"{MAX_BRACKETS} links, rest text": link * MAX_BRACKETS
        + fill("w ")[: max(size - len(link) * MAX_BRACKETS, 0)],
        f"nesting {NESTING_DEPTH} deep, repeated": fill(nested),
        "inline HTML": fill("<b>x</b>"),
        "table cells": "|a|b|\n|-|-|\n" + fill("|x|y|\n"),
        "autolinks": fill("https://a.example/x "),
    }


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--documents", type=int, default=300)
        parser.add_argument("--repeat", type=int, default=30)

    def handle(self, documents, repeat, **options):
        # As in production: DEBUG off (with it on, Django records every query).
        setup_test_environment(debug=False)
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            self.fill(documents)
            self.measure(repeat)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()

    def fill(self, count):
        from opsknowledge.importing import import_document
        from opsknowledge.models import Organisation
        from opsknowledge.services import Actor
        from runbooks.models import Runbook

        call_command("load_demo", stderr=io.StringIO())
        organisation = Organisation.objects.get(slug="scs")
        started = time.perf_counter()
        for n in progress(range(count), self.stderr, "benchmark: writing", unit="runbooks"):
            import_document(
                model=Runbook,
                organisation=organisation,
                slug=f"bench-{n}",
                fields={
                    "title": f"Benchmark runbook {n}",
                    "summary": "Synthetic runbook for the benchmark.",
                    "body": "## Meaning\nx\n\n## Mitigation\n```bash\nceph -s\n```\n" * 5,
                    "components": ["ceph", "nova"],
                    "releases": ["r3", "r4"],
                    "tags": ["bench", f"tag{n % 10}"],
                    "alerts": [f"BenchAlert{n}"],
                    "upgrade_from": "r3",
                    "upgrade_to": "r4",
                    "visibility": "public",
                    "status": "published",
                },
                actor=Actor.operator(),
            )
        per_write = (time.perf_counter() - started) / max(count, 1) * 1000
        self.stdout.write(
            f"database: {connection.vendor}; {count} runbooks written, "
            f"{per_write:.1f} ms per write (validate, render, store, revision)"
        )

    def timed(self, client, url, repeat, **headers):
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url, **headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 302, 304), (url, response.status_code)
        return statistics.median(samples), response

    def render_time(self, repeat):
        """Median ms to render one body of the stored documents (demo and synthetic)."""
        from django.apps import apps

        from opsknowledge.markdown import render

        bodies = [
            body
            for model in apps.get_models()
            if getattr(model, "MARKDOWN_FIELDS", None)
            for body in model._base_manager.values_list("body", flat=True)
        ]
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            for body in bodies:
                render(body)
            samples.append((time.perf_counter() - started) * 1000 / max(len(bodies), 1))
        return statistics.median(samples)

    def worst_render_times(self) -> list[tuple[str, float]]:
        """Median ms (of 3) to render and sanitise the costliest Markdown at the size limit
        of one document, as the write services do (target: under 500 ms each)."""
        from django.conf import settings

        from opsknowledge.markdown import render_within_limits

        rows = []
        limit = settings.DOCUMENT_MARKDOWN_MAX_BYTES
        for label, text in costly_markdown(limit).items():
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                render_within_limits(text)
                samples.append((time.perf_counter() - started) * 1000)
            rows.append((f"render {limit // 1024} KiB: {label}", statistics.median(samples)))
        return rows

    def measure(self, repeat):
        client = Client()
        baseline, _ = self.timed(client, "/healthz", repeat)
        rows = [("GET /healthz (baseline)", baseline)]
        cases = [
            ("GET /api/v1/runbooks/ (50 per page)", "/api/v1/runbooks/"),
            ("GET /api/v1/runbooks/?page_size=200", "/api/v1/runbooks/?page_size=200"),
            ("GET /api/v1/runbooks/?component=openstack", "/api/v1/runbooks/?component=openstack"),
            ("GET /api/v1/runbooks/scs/bench-7/", "/api/v1/runbooks/scs/bench-7/"),
            ("GET /r/BenchAlert7", "/r/BenchAlert7"),
            ("GET /api/v1/upgrade-path/?from=r2&to=r5", "/api/v1/upgrade-path/?from=r2&to=r5"),
            ("GET upgrade-path as Markdown", "/api/v1/upgrade-path/?from=r2&to=r5&format=md"),
        ]
        for label, url in progress(cases, self.stderr, "benchmark: measuring", unit="requests"):
            rows.append((label, self.timed(client, url, repeat)[0]))
        full, response = self.timed(client, "/api/v1/upgrade-path/?from=r2&to=r5", repeat)
        not_modified, _ = self.timed(
            client,
            "/api/v1/upgrade-path/?from=r2&to=r5",
            repeat,
            HTTP_IF_NONE_MATCH=response["ETag"],
        )
        rows.append(("GET upgrade-path with If-None-Match (304)", not_modified))
        rows.append(("render + sanitise one stored Markdown body", self.render_time(repeat)))
        rows += self.worst_render_times()
        width = max(len(label) for label, _ in rows)
        self.stdout.write(f"{'request'.ljust(width)}  median ms  x baseline")
        for label, median in rows:
            self.stdout.write(f"{label.ljust(width)}  {median:9.2f}  {median / baseline:10.1f}")
        self.stdout.write(f"304 / full upgrade-path response: {not_modified / full:.2f}")
