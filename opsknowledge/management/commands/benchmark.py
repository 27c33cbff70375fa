"""Measure the hot paths at two data sizes on a throwaway database and print the numbers.

    python manage.py benchmark [--docs 2000] [--small 200] [--repeat 30]

It creates a test database (like the test suite: nothing is written to the configured one),
fills it through the real write path (the importers' `import_document`, the release note
service) with a seeded data set drawn from the real documents in ../shared/data
(20 organisations, mixed visibility and status, runbooks with alerts and upgrade runbooks
along the release chain, practices, failure reports with timelines and action items, release
notes), first `--small` documents, then up to `--docs`. At each size it serves the app over
HTTP from a thread in this process and reports, per endpoint, median and p95 ms, the ratio
to GET /healthz measured in the same run, the hand-written raw SQL that returns the same
page (psycopg or sqlite3 in this process; "x raw" is (median - healthz) / raw median),
and the queries per request; then the growth from the small to the large size.
Write throughput (documents/s through the services) is printed while filling.

    python manage.py benchmark --reuse benchmark_small [benchmark_large]

measures databases that earlier `--keep` runs left (names as printed; SQLite: file paths)
as they are, without writing to them, with the growth between two: a change can be
measured against the code before it on the very same data.
"""

import io
import json
import random
import re
import socket
import statistics
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import (
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)

from opsknowledge.importing import FILES_PER_TRANSACTION
from opsknowledge.progress import progress

ORGANISATIONS = 20
PAGE_SIZE = settings.REST_FRAMEWORK["PAGE_SIZE"]  # the lists' default
VISIBILITIES = ["public"] * 6 + ["community"] * 2 + ["organisation"] * 2
SEVERITIES = ["critical", "warning", "warning", "info", ""]
REPORT_SEVERITIES = ["sev1", "sev2", "sev2", "sev3", "sev3", "sev4", ""]


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


class Vocabulary:
    """Bodies, titles and words of the real runbooks and postmortems (seeded choices)."""

    def __init__(self, root: Path, rng: random.Random):
        self.rng = rng
        self.runbooks, self.reports = [], []
        for folder in ("prometheus-runbooks", "openshift-runbooks"):
            for path in sorted((root / folder).rglob("*.md")):
                text = path.read_text(errors="replace")
                if 2000 <= len(text.encode()) <= 6000:
                    self.runbooks.append(text)
        for path in sorted((root / "postmortems").rglob("*.md")):
            text = path.read_text(errors="replace")
            if len(text.encode()) <= 60000:
                self.reports.append(text)
        if not self.runbooks or not self.reports:
            raise SystemExit(f"No real documents under {root}: see ../shared/data/README.md")
        words = re.findall(r"[a-z]{4,12}", " ".join(self.runbooks[:200]).lower())
        self.words = sorted(set(words))

    def title(self) -> str:
        return " ".join(self.rng.choice(self.words) for _ in range(4)).capitalize()

    def runbook_body(self) -> str:
        return self.rng.choice(self.runbooks)

    def report_body(self) -> str:
        return self.rng.choice(self.reports)


class Server:
    """The WSGI app over HTTP from a thread of this process (Django's threaded server)."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
        self.httpd.set_app(WSGIHandler())
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def get(self, url: str, headers: dict | None = None) -> tuple[int, dict, float]:
        started = time.perf_counter()
        client = HTTPConnection("127.0.0.1", self.port, timeout=60)
        client.request("GET", url, headers={"Host": "localhost", **(headers or {})})
        response = client.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        client.close()
        return response.status, dict(response.getheaders()), elapsed

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--docs", "--documents", dest="docs", type=int, default=2000, help="large size"
        )
        parser.add_argument("--small", type=int, default=None, help="small size (docs/10)")
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--seed", type=int, default=14)
        parser.add_argument("--data", default=str(settings.BASE_DIR.parent / "shared" / "data"))
        parser.add_argument("--no-render", action="store_true", help="skip Markdown timings")
        parser.add_argument(
            "--keep",
            action="store_true",
            help="keep the database it built (its URL is printed) to serve it, e.g. to loadtest",
        )
        parser.add_argument(
            "--manifest",
            help="write what loadtest requests (documents, alerts, writers and their tokens) "
            "to this JSON file; implies --keep",
        )
        parser.add_argument(
            "--no-measure", action="store_true", help="build only (with --keep or --manifest)"
        )
        parser.add_argument(
            "--reuse",
            nargs="+",
            metavar="DATABASE",
            help="measure one or two (small, large) databases kept by earlier runs, as they are",
        )
        parser.add_argument(
            "--explain",
            action="store_true",
            help="print EXPLAIN ANALYZE of the runbook list's count and page (PostgreSQL)",
        )

    def handle(self, docs, small, repeat, seed, data, no_render, explain, **options):
        small = small if small is not None else max(docs // 10, 50)
        keep = options["keep"] or bool(options["manifest"])
        measure = not options["no_measure"]
        # As in production: DEBUG off (with it on, Django records every query).
        setup_test_environment(debug=False)
        # It measures what each request costs, hundreds of times from one address: the
        # anonymous allowance would answer most of them 429 (loadtest's target servers are
        # started with THROTTLE_ENABLED=0 for the same reason).
        settings.THROTTLE_ENABLED = False
        if options["reuse"]:
            self.reuse(options["reuse"], repeat, explain)
            teardown_test_environment()
            return
        old_name = connection.settings_dict["NAME"]
        if connection.vendor == "sqlite":  # a file, so that the server thread shares it
            # Beside the configured database (var/ by default), never the file itself.
            folder = Path(old_name).parent if old_name not in ("", ":memory:") else None
            connection.settings_dict.setdefault("TEST", {})["NAME"] = str(
                (folder or settings.BASE_DIR / "var") / "benchmark.sqlite3"
            )
        else:  # not the test suite's test_<name>, which a test run would drop
            connection.settings_dict.setdefault("TEST", {})["NAME"] = f"benchmark_{old_name}"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        socket.setdefaulttimeout(60)
        server = None
        try:
            self.rng = random.Random(seed)
            self.vocabulary = Vocabulary(Path(data), self.rng)
            self.setup_catalogue()
            server = Server()
            results = {}
            for size in (small, docs) if measure else (docs,):
                self.fill_to(size)
                self.analyse()
                if not measure:
                    continue
                results[size] = self.measure(server, repeat)
                self.print_table(size, results[size])
                if explain and connection.vendor == "postgresql":
                    self.explain(["/api/v1/runbooks/", "/api/v1/runbooks/?component=openstack"])
            if measure:
                self.print_growth(small, docs, results[small], results[docs])
            if options["manifest"]:
                self.write_manifest(Path(options["manifest"]))
            if measure and not no_render:
                self.print_render(repeat)
        finally:
            if server is not None:
                server.stop()
            kept = connection.settings_dict["NAME"]
            connection.close()
            if keep:
                self.stdout.write(f"\nkept the database: {self.database_url(kept)}")
            else:
                connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()

    def reuse(self, names: list[str], repeat: int, explain: bool):
        from incidents.models import FailureReport
        from runbooks.models import Practice, Runbook

        if len(names) > 2:
            raise CommandError("--reuse takes one database, or two: the small, then the large")
        measured = []  # (size, rows) per database: the same one twice is allowed
        for name in names:
            connection.close()
            # The server's threads open their own connections from settings.DATABASES.
            settings.DATABASES[connection.alias]["NAME"] = name
            connection.settings_dict["NAME"] = name
            size = sum(model.objects.count() for model in (Runbook, Practice, FailureReport))
            self.analyse()
            server = Server()
            try:
                measured.append((size, self.measure(server, repeat)))
            finally:
                server.stop()
            self.print_table(*measured[-1])
            if explain and connection.vendor == "postgresql":
                self.explain(["/api/v1/runbooks/", "/api/v1/runbooks/?component=openstack"])
        if len(measured) == 2:
            (small, small_rows), (large, large_rows) = measured
            self.print_growth(small, large, small_rows, large_rows)
        connection.close()

    # -- the data set ----------------------------------------------------------------------

    def setup_catalogue(self):
        from opsknowledge.models import Organisation, Release

        call_command("load_demo", "--catalogue-only", stderr=io.StringIO())
        for n in range(ORGANISATIONS - Organisation.objects.count()):
            call_command(
                "create_organisation",
                f"provider-{n:02d}",
                name=f"Provider {n:02d}",
                stdout=io.StringIO(),
            )
        self.organisations = list(Organisation.objects.order_by("slug"))
        self.chain = Release.objects.in_upgrade_order()
        self.written = {"runbook": 0, "practice": 0, "incident": 0, "note": 0}
        self.alerts = []

    def fill_to(self, size: int):
        from opsknowledge.models import Component

        self.components = list(Component.objects.values_list("slug", flat=True))
        have = sum(v for k, v in self.written.items() if k != "note")
        wanted = max(size - have, 0)
        started, cpu, server_cpu = time.perf_counter(), time.process_time(), self.server_cpu()
        bar = progress(range(wanted), self.stderr, "benchmark: writing", unit="documents")
        for n in bar:
            if n % FILES_PER_TRANSACTION == 0:
                batch = transaction.atomic()
                batch.__enter__()
            # As an importer writes: a savepoint per document in a transaction per batch.
            with transaction.atomic():
                roll = self.rng.random()
                if roll < 0.7:
                    self.write_runbook()
                elif roll < 0.8:
                    self.write_practice()
                else:
                    self.write_report()
                if n % 50 == 0:
                    self.write_note()
            if n % FILES_PER_TRANSACTION == FILES_PER_TRANSACTION - 1 or n == wanted - 1:
                batch.__exit__(None, None, None)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        per_document = cpu * 1000 / max(wanted, 1)
        line = (
            f"\n{connection.vendor}: {wanted} documents written through the services in "
            f"{seconds:.1f} s ({wanted / max(seconds, 1e-9):.0f} documents/s, "
            f"{FILES_PER_TRANSACTION} per transaction); CPU per document: this process "
            f"{per_document:.1f} ms"
        )
        if server_cpu is not None and wanted:
            # On a shared machine the wall-clock rate measures the neighbours; the CPU both
            # sides spend per document is what an idle machine's rate is bounded by.
            server = (self.server_cpu() - server_cpu) * 1000 / wanted
            bound = 1000 / max(per_document + server, 1e-9)
            line += f", its database backend {server:.1f} ms (at most {bound:.0f} documents/s)"
        self.stdout.write(line)

    def common(self, kind: str) -> tuple:
        rng = self.rng
        organisation = rng.choice(self.organisations)
        number = self.written[kind]
        self.written[kind] += 1
        status = rng.choices(["published", "draft", "archived"], [85, 10, 5])[0]
        fields = {
            "title": self.vocabulary.title(),
            "summary": " ".join(rng.choice(self.vocabulary.words) for _ in range(12)),
            "components": rng.sample(self.components, rng.randint(1, 3)),
            "releases": [r.slug for r in rng.sample(self.chain, rng.randint(1, 2))],
            "tags": sorted(
                {rng.choice(self.vocabulary.words[:300]) for _ in range(rng.randint(1, 5))}
            ),
            "visibility": rng.choice(VISIBILITIES),
            "status": status,
        }
        return organisation, f"{kind}-{number}", fields

    def write_runbook(self):
        from opsknowledge.importing import import_document
        from opsknowledge.services import Actor
        from runbooks.models import Runbook

        organisation, slug, fields = self.common("runbook")
        fields["body"] = self.vocabulary.runbook_body()
        fields["severity"] = self.rng.choice(SEVERITIES)
        alert = f"Bench{self.written['runbook']}Alert"
        fields["alerts"] = [alert]
        self.alerts.append(alert)
        if self.rng.random() < 0.3:  # an upgrade runbook along the chain
            at = self.rng.randrange(1, len(self.chain))
            fields["upgrade_from"], fields["upgrade_to"] = (
                self.chain[at - 1].slug,
                self.chain[at].slug,
            )
        import_document(
            model=Runbook,
            organisation=organisation,
            slug=slug,
            fields=fields,
            actor=Actor.operator(),
        )

    def write_practice(self):
        from opsknowledge.importing import import_document
        from opsknowledge.services import Actor
        from runbooks.models import Practice

        organisation, slug, fields = self.common("practice")
        fields["body"] = self.vocabulary.runbook_body()
        import_document(
            model=Practice,
            organisation=organisation,
            slug=slug,
            fields=fields,
            actor=Actor.operator(),
        )

    def write_report(self):
        import datetime

        from incidents.models import FailureReport
        from opsknowledge.importing import import_document
        from opsknowledge.services import Actor

        rng = self.rng
        organisation, slug, fields = self.common("incident")
        started = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
            minutes=rng.randrange(0, 60 * 24 * 365)
        )
        fields.update(
            body=self.vocabulary.report_body(),
            severity=rng.choice(REPORT_SEVERITIES),
            started_at=started.isoformat(),
            detected_at=(started + datetime.timedelta(minutes=rng.randint(1, 60))).isoformat(),
            resolved_at=(started + datetime.timedelta(minutes=rng.randint(61, 600))).isoformat(),
            impact=self.vocabulary.title(),
            root_cause=self.vocabulary.title(),
            timeline=[
                {
                    "at": (started + datetime.timedelta(minutes=5 * n)).isoformat(),
                    "text": self.vocabulary.title(),
                }
                for n in range(rng.randint(3, 8))
            ],
            action_items=[
                {"title": self.vocabulary.title(), "status": rng.choice(["open", "done"])}
                for _ in range(rng.randint(1, 3))
            ],
            acknowledge_warnings=True,
        )
        if fields["status"] == "archived":
            fields["status"] = "published"
        import_document(
            model=FailureReport,
            organisation=organisation,
            slug=slug,
            fields=fields,
            actor=Actor.operator(),
        )

    def write_note(self):
        from opsknowledge.models import Component
        from opsknowledge.services import Actor
        from releases.services import release_note_upsert

        rng = self.rng
        number = self.written["note"]
        self.written["note"] += 1
        release_note_upsert(
            organisation=rng.choice(self.organisations),
            release=rng.choice(self.chain[1:]),
            slug=f"note-{number}",
            fields={
                "kind": rng.choice(["upgrade", "deprecation", "known-issue", "feature", "fix"]),
                "title": self.vocabulary.title(),
                "body": self.vocabulary.title(),
                "order": number,
                "visibility": rng.choice(VISIBILITIES),
                "component": Component.objects.get(slug=rng.choice(self.components)),
            },
            actor=Actor.operator(),
        )

    def server_cpu(self) -> float | None:
        """CPU seconds this connection's PostgreSQL backend has used, when the server runs
        on this machine (Linux /proc); else None."""
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        import os

        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def database_url(self, name: str) -> str:
        db = connection.settings_dict
        if connection.vendor == "sqlite":
            return f"sqlite:///{name}"
        user = db["USER"] or ""
        return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{name}"

    def write_manifest(self, path: Path, writers: int = 20, documents_each: int = 10):
        """What loadtest requests: public documents and alerts (anonymous reads), the
        upgrade briefing's releases, and `writers` editors of distinct organisations, each
        with a token and its own runbooks to edit."""
        from django.contrib.auth import get_user_model

        from incidents.models import FailureReport
        from opsknowledge.models import Membership, Role
        from opsknowledge.models.tokens import APIToken
        from runbooks.models import Runbook, RunbookAlert

        def public(model):
            rows = model.objects.filter(visibility="public", status="published")
            return [
                d.get_api_url() for d in rows.select_related("organisation").order_by("pk")[:500]
            ]

        alerts = RunbookAlert.objects.filter(
            runbook__visibility="public", runbook__status="published"
        ).order_by("pk")
        manifest = {
            "runbooks": public(Runbook),
            "incidents": public(FailureReport),
            "alerts": list(alerts.values_list("name", flat=True)[:500]),
            "components": ["openstack", "glance", "ceph", "nova"],
            "upgrade": [self.chain[1].slug, self.chain[-1].slug],
            # Pages of the anonymous runbook list (of 50): loadtest asks for pages that exist.
            "runbook_pages": max(
                1,
                -(
                    -Runbook.objects.filter(
                        visibility="public", status__in=["published", "archived"]
                    ).count()
                    // 50
                ),
            ),
            "writers": [],
        }
        User = get_user_model()
        for organisation in self.organisations[:writers]:
            user, _ = User.objects.get_or_create(username=f"loadtest-{organisation.slug}")
            Membership.objects.update_or_create(
                user=user, organisation=organisation, defaults={"role": Role.EDITOR}
            )
            _token, key = APIToken.issue(
                user=user, organisation=organisation, description="loadtest writer"
            )
            owned = Runbook.objects.filter(organisation=organisation).exclude(status="archived")
            manifest["writers"].append(
                {
                    "organisation": organisation.slug,
                    "token": key,
                    "documents": [
                        d.get_api_url()
                        for d in owned.select_related("organisation").order_by("pk")[
                            :documents_each
                        ]
                    ],
                }
            )
        path.write_text(json.dumps(manifest, indent=1))
        self.stdout.write(
            f"\nloadtest manifest: {path} ({len(manifest['runbooks'])} runbooks, "
            f"{len(manifest['writers'])} writers)"
        )

    def analyse(self):
        # Index-only counts need the visibility map; the planner needs statistics.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                connection.ensure_connection()
                autocommit = connection.get_autocommit()
                connection.set_autocommit(True)
                cursor.execute("VACUUM ANALYZE")
                connection.set_autocommit(autocommit)
            else:
                cursor.execute("ANALYZE")

    # -- measuring -------------------------------------------------------------------------

    def cases(self) -> list[tuple[str, str, dict, str | None]]:
        """(label, URL, headers, raw SQL case)."""
        from runbooks.models import Runbook

        sample = (
            Runbook.objects.filter(visibility="public", status="published")
            .order_by("pk")
            .select_related("organisation")
            .first()
        )
        # Chosen at the first size and kept: the growth row must compare one filter, and
        # the most popular tag at 25k is another word than at 2k.
        if not getattr(self, "common_tag", None):
            self.common_tag = self.popular_tag()
        common_tag = self.common_tag
        deep = self.deep_page()
        cases = [
            ("/healthz", "/healthz", {}, None),
            ("runbooks p1", "/api/v1/runbooks/", {}, "runbooks"),
            (f"runbooks p{deep}", f"/api/v1/runbooks/?page={deep}", {}, "runbooks-p10"),
            ("runbooks page_size=200", "/api/v1/runbooks/?page_size=200", {}, "runbooks-200"),
            (
                "runbooks ?component=openstack (~20%)",
                "/api/v1/runbooks/?component=openstack",
                {},
                "runbooks-openstack",
            ),
            (
                "runbooks ?component=glance (~1%)",
                "/api/v1/runbooks/?component=glance",
                {},
                "runbooks-glance",
            ),
            (f"runbooks ?tag={common_tag}", f"/api/v1/runbooks/?tag={common_tag}", {}, None),
            ("runbooks ?ordering=-updated", "/api/v1/runbooks/?ordering=-updated", {}, None),
            ("practices p1", "/api/v1/practices/", {}, None),
            ("incidents p1", "/api/v1/incidents/", {}, "incidents"),
            ("release notes r4", "/api/v1/releases/r4/notes/", {}, None),
            ("feed runbooks.atom", "/feeds/runbooks.atom", {}, None),
            ("feed ?component=openstack", "/feeds/runbooks.atom?component=openstack", {}, None),
            ("runbook detail", sample.get_api_url() if sample else "/healthz", {}, None),
            ("upgrade-path r2->r5", "/api/v1/upgrade-path/?from=r2&to=r5", {}, None),
            ("upgrade-path r2->r5 md", "/api/v1/upgrade-path/?from=r2&to=r5&format=md", {}, None),
            ("upgrade-path 304", "/api/v1/upgrade-path/?from=r2&to=r5", {"etag": True}, None),
            ("/r/<alert>", f"/r/{sample.alerts.first().name}" if sample else "/healthz", {}, None),
        ]
        return cases

    def deep_page(self) -> int:
        """Page 10 of the anonymous runbook list, or the last page of a set too small to have
        ten (a 404 is no figure)."""
        from runbooks.models import Runbook

        readable = Runbook.objects.filter(
            visibility="public", status__in=["published", "archived"]
        ).count()
        return max(1, min(10, -(-readable // PAGE_SIZE)))

    def popular_tag(self) -> str:
        from django.db.models import Count
        from taggit.models import TaggedItem

        row = TaggedItem.objects.values("tag__name").annotate(n=Count("id")).order_by("-n").first()
        return row["tag__name"] if row else "none"

    def measure(self, server: Server, repeat: int) -> list[dict]:
        client = Client(HTTP_HOST="localhost")  # the server's host: the same ETags
        rows = []
        etag = None
        for label, url, headers, raw in progress(
            self.cases(), self.stderr, "benchmark: measuring", unit="endpoints"
        ):
            send = {}
            if headers.get("etag"):
                send["If-None-Match"] = etag or ""
            status, answer_headers, _ = server.get(url, send)  # warm up
            if url.startswith("/api/v1/upgrade-path/") and "format" not in url:
                etag = answer_headers.get("ETag", etag)
            answers = [server.get(url, send) for _ in range(repeat)]
            samples = [seconds for _, _, seconds in answers]
            # A figure for an error answer measures the error: every sample must be a 200,
            # the redirect of /r/ or the 304 a conditional case asks for.
            wrong = {answer for answer, _, _ in answers if answer not in (200, 302, 304)}
            if status not in (200, 302, 304) or wrong:
                raise CommandError(f"{label} ({url}) answered {status} {sorted(wrong)}")
            with CaptureQueriesContext(connection) as queries:
                extra = {"HTTP_IF_NONE_MATCH": send["If-None-Match"]} if send else {}
                client.get(url, **extra)
            rows.append(
                {
                    "label": label,
                    "status": status,
                    "median": statistics.median(samples),
                    "p95": sorted(samples)[max(int(len(samples) * 0.95) - 1, 0)],
                    "queries": len(queries),
                    "raw": self.raw_median(raw, repeat) if raw else None,
                }
            )
        return rows

    def explain(self, urls):
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                Client(HTTP_HOST="localhost").get(url)
            # The count and the page: the first two queries on the document table.
            selects = [q["sql"] for q in queries if 'FROM "runbooks_runbook"' in q["sql"]]
            for sql in selects[:2]:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
                    plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
                self.stdout.write(f"\nEXPLAIN {url}: {sql[:120]}...\n{plan}")

    # -- raw SQL: the same page through the database driver, without Django -----------------

    def raw_connection(self):
        db = connection.settings_dict
        if connection.vendor == "postgresql":
            import psycopg

            return psycopg.connect(
                dbname=db["NAME"],
                user=db["USER"] or None,
                password=db["PASSWORD"] or None,
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                autocommit=True,
            )
        import sqlite3

        return sqlite3.connect(db["NAME"])

    def raw_queries(self, case: str) -> list[tuple[str, tuple]]:
        """The page of a list as an anonymous reader gets it: count, rows, relations."""
        from incidents.models import FailureReport
        from opsknowledge.models import Component
        from runbooks.models import Runbook

        placeholder = "%s" if connection.vendor == "postgresql" else "?"
        kind, _, variant = case.partition("-")
        model = Runbook if kind == "runbooks" else FailureReport
        table = model._meta.db_table
        owner = "runbook_id" if model is Runbook else "failurereport_id"
        where = f"d.visibility = {placeholder} AND d.status IN ({placeholder}, {placeholder})"
        params = ["public", "published", "archived"]
        if variant in ("openstack", "glance"):
            ids = sorted(Component.objects.with_descendants([Component.objects.get(slug=variant)]))
            where += (
                f" AND EXISTS (SELECT 1 FROM {table}_components c WHERE c.{owner} = d.id"
                f" AND c.component_id IN ({', '.join(str(i) for i in ids)}))"
            )
        limit, offset = PAGE_SIZE, 0
        if variant == "p10":
            offset = (self.deep_page() - 1) * PAGE_SIZE
        if variant == "200":
            limit = 200
        columns = "d.id, d.slug, d.title, d.summary, d.visibility, d.status, d.revision, "
        columns += "d.updated, o.slug"
        queries = [
            (f"SELECT COUNT(*) FROM {table} d WHERE {where}", tuple(params)),
            (
                f"SELECT {columns} FROM {table} d JOIN opsknowledge_organisation o"
                f" ON o.id = d.organisation_id WHERE {where} ORDER BY o.slug, d.slug"
                f" LIMIT {limit} OFFSET {offset}",
                tuple(params),
            ),
        ]
        return queries, table, owner

    def raw_median(self, case: str, repeat: int) -> float:
        queries, table, owner = self.raw_queries(case)
        from django.contrib.contenttypes.models import ContentType

        from incidents.models import FailureReport
        from runbooks.models import Runbook

        model = Runbook if table == Runbook._meta.db_table else FailureReport
        content_type = ContentType.objects.get_for_model(model).pk
        raw = self.raw_connection()
        samples = []
        try:
            for _ in range(repeat):
                started = time.perf_counter()
                cursor = raw.cursor()
                for sql, params in queries:
                    cursor.execute(sql, params)
                    rows = cursor.fetchall()
                ids = ", ".join(str(row[0]) for row in rows) or "0"
                relations = [
                    f"SELECT x.{owner}, c.slug FROM {table}_components x JOIN opsknowledge_"
                    f"component c ON c.id = x.component_id WHERE x.{owner} IN ({ids})",
                    f"SELECT x.{owner}, r.slug FROM {table}_releases x JOIN"
                    f" opsknowledge_release r ON r.id = x.release_id WHERE x.{owner} IN ({ids})",
                    f"SELECT t.object_id, g.name FROM taggit_taggeditem t JOIN taggit_tag g"
                    f" ON g.id = t.tag_id WHERE t.content_type_id = {content_type}"
                    f" AND t.object_id IN ({ids})",
                ]
                if model is Runbook:
                    relations.append(
                        "SELECT runbook_id, name FROM runbooks_runbookalert"
                        f" WHERE runbook_id IN ({ids})"
                    )
                for sql in relations:
                    cursor.execute(sql)
                    cursor.fetchall()
                cursor.close()
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            raw.close()
        return statistics.median(samples)

    # -- output ----------------------------------------------------------------------------

    def print_table(self, size: int, rows: list[dict]):
        healthz = rows[0]["median"]
        self.stdout.write(f"\n{connection.vendor}, {size} documents (HTTP, ms):")
        width = max(len(row["label"]) for row in rows)
        self.stdout.write(
            f"{'endpoint'.ljust(width)}  status  median     p95  x healthz  raw ms  x raw  queries"
        )
        for row in rows:
            raw, over = "", ""
            if row["raw"]:
                raw = f"{row['raw']:.2f}"
                over = f"{(row['median'] - healthz) / row['raw']:.1f}"
            self.stdout.write(
                f"{row['label'].ljust(width)}  {row['status']:6}  {row['median']:6.2f}  "
                f"{row['p95']:6.2f}  {row['median'] / healthz:9.1f}  {raw:>6}  {over:>5}  "
                f"{row['queries']:7}"
            )

    def print_growth(self, small: int, large: int, small_rows: list, large_rows: list):
        self.stdout.write(f"\ngrowth {small} -> {large} documents (median ratio):")
        for before, after in zip(small_rows, large_rows, strict=True):
            self.stdout.write(
                f"  {before['label']:<40} {after['median'] / before['median']:5.2f}x"
                f"  queries {before['queries']} -> {after['queries']}"
            )

    def print_render(self, repeat):
        from opsknowledge.markdown import render_within_limits

        limit = settings.DOCUMENT_MARKDOWN_MAX_BYTES
        self.stdout.write(f"\nrender + sanitise {limit // 1024} KiB (median of 3, ms):")
        for label, text in costly_markdown(limit).items():
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                render_within_limits(text)
                samples.append((time.perf_counter() - started) * 1000)
            self.stdout.write(f"  {label:<40} {statistics.median(samples):8.1f}")
