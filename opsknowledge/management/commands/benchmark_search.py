"""Measure search on a synthetic corpus and print the numbers.

    python manage.py benchmark_search [--docs 10000] [--repeat 20] [--json FILE]
                                      [--keep | --reuse]

On a throwaway database (nothing is written to the configured one): the catalogue, 20
organisations and N runbooks bulk-inserted (opsknowledge.demo.synthetic, words of the real
documents in ../shared/data when present), then indexed by `rebuild_search_index` (the
build time reported). Then, for a fixed mix of queries, p50/p95 of GET /api/v1/search/
end to end in-process (facets, count and snippets included), anonymous and as an editor of
one organisation, beside the naive SQL other tools run in the same database (rank every
match, ORDER BY ts_rank_cd / bm25 LIMIT 20) and the ratio. Targets (issue 13, 100k
documents on 2 cores): p95 <= 50 ms for every query of the mix on either database.
"""

import io
import os
import statistics
import time
from pathlib import Path
from urllib.parse import urlencode

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment, teardown_test_environment

from opsknowledge.progress import Progress


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--docs", type=int, default=10_000)
        parser.add_argument("--repeat", type=int, default=20)
        parser.add_argument("--json", type=Path, help="also write the figures to this file")
        parser.add_argument(
            "--vocabulary", type=Path, action="append", help="folder of Markdown to draw words from"
        )
        reuse = parser.add_mutually_exclusive_group()
        reuse.add_argument(
            "--keep", action="store_true", help="keep the database it built, for --reuse"
        )
        reuse.add_argument(
            "--reuse",
            action="store_true",
            help="measure the database an earlier --keep run built (same --docs), then keep it",
        )

    def handle(self, docs, repeat, json, vocabulary, keep, reuse, **options):
        setup_test_environment(debug=False)
        old_name = connection.settings_dict["NAME"]
        # A database of its own: never the test suite's test_<name>, which may be in use.
        test = connection.settings_dict.setdefault("TEST", {})
        if connection.vendor == "sqlite":
            test["NAME"] = str(Path(old_name).with_name("benchmark_search.sqlite3"))
        else:
            test["NAME"] = f"{old_name}_benchmark_search"
        # keepdb: an existing database is used as it is (no migration, no flush).
        connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False, keepdb=reuse
        )
        try:
            if reuse:
                figures = self.reused(docs, vocabulary or ())
            else:
                figures = self.fill(docs, vocabulary or ())
            figures["queries"] = self.measure(repeat)
            # Other processes share the cores: the 1-minute load average while measuring.
            figures["load_average"] = [min(self.load), max(self.load)]
        finally:
            if keep or reuse:
                self.stderr.write(f"kept the database {connection.settings_dict['NAME']}")
                connection.close()
            else:
                connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()
        self.print_table(figures)
        if json:
            import json as json_module

            json.write_text(json_module.dumps(figures, indent=2))

    def fill(self, docs, folders):
        from django.contrib.auth import get_user_model

        from opsknowledge.demo import synthetic
        from opsknowledge.models import Membership, SearchEntry
        from opsknowledge.search import index

        call_command("load_demo", "--catalogue-only", stderr=io.StringIO())
        started = time.perf_counter()
        with Progress(self.stderr, "benchmark_search: inserting", total=docs, unit="docs") as bar:
            self.corpus = synthetic.generate(docs, folders=folders, report=bar.update)
        inserted = time.perf_counter() - started
        started = time.perf_counter()
        with Progress(
            self.stderr, "benchmark_search: indexing", total=index.total(), unit="docs"
        ) as bar:
            for count in index.rebuild():
                bar.update(count)
        build = time.perf_counter() - started
        self.vacuum()
        self.editor = get_user_model().objects.create_user("bench-editor")
        Membership.objects.create(
            user=self.editor, organisation=self.corpus.organisations[0], role="editor"
        )
        return {
            "database": connection.vendor,
            "documents": docs,
            "indexed": SearchEntry.objects.count(),
            "insert_seconds": round(inserted, 1),
            "index_build_seconds": round(build, 1),
            "indexed_per_second": round(docs / build) if build else None,
            "index_bytes": self.index_size(),
        }

    def vacuum(self):
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a bulk load (or a migration rewriting the
            # rows): the visibility map that lets the readable-row counts be index-only
            # scans, and fresh statistics.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE opsknowledge_searchentry")

    def reused(self, docs, folders):
        from django.contrib.auth import get_user_model

        from opsknowledge.demo import synthetic
        from opsknowledge.models import SearchEntry

        indexed = SearchEntry.objects.count()
        if indexed < docs:
            raise CommandError(
                f"the kept database has {indexed} indexed documents, not {docs}: run with --keep"
            )
        self.corpus = synthetic.corpus(docs, folders=folders)
        self.vacuum()
        self.editor = get_user_model().objects.get(username="bench-editor")
        return {
            "database": connection.vendor,
            "documents": docs,
            "indexed": indexed,
            "insert_seconds": None,
            "index_build_seconds": None,
            "indexed_per_second": None,
            "index_bytes": self.index_size(),
        }

    def index_size(self):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT pg_total_relation_size('opsknowledge_searchentry')"
                    " + pg_total_relation_size('opsknowledge_searchword')"
                )
                return cursor.fetchone()[0]
            try:
                cursor.execute(
                    "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search%'"
                    " OR name LIKE 'opsknowledge_searchentry%'"
                )
                return cursor.fetchone()[0]
            except Exception:  # dbstat not compiled in: the whole file
                cursor.execute(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
                )
                return cursor.fetchone()[0]

    def mix(self):
        corpus = self.corpus
        rare, common = corpus.word_near(0.002), corpus.word_near(0.25)
        mid, other = corpus.word_near(0.05), corpus.word_near(0.03)
        return [
            ("rare term", {"q": rare}),
            ("common term", {"q": common}),
            ("two terms", {"q": f"{mid} {other}"}),
            ("phrase", {"q": f'"{common} {mid}"'}),
            ("exclusion", {"q": f"{mid} -{common}"}),
            ("or", {"q": f"{rare} or {other}"}),
            ("organisation filter", {"q": common, "organisation": "bench-03"}),
            ("component facet", {"q": common, "component": "ceph"}),
            ("zero results", {"q": "zzqxv"}),
        ]

    def naive(self, q):
        """The query other tools run: rank every match, keep 20 (no visibility, no facets)."""
        from opsknowledge.search.backends import backend
        from opsknowledge.search.query import parse

        engine, query = backend(), parse(q)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql, params = engine.tsquery(query)
                cursor.execute(
                    f"SELECT id FROM opsknowledge_searchentry WHERE vector @@ {sql}"
                    f" ORDER BY ts_rank_cd(vector, {sql}) DESC LIMIT 20",
                    [*params, *params],
                )
            else:
                cursor.execute(
                    "SELECT rowid FROM search_fts WHERE search_fts MATCH %s"
                    " ORDER BY bm25(search_fts) LIMIT 20",
                    [engine.expression(query)],
                )
            return cursor.fetchall()

    def measure(self, repeat):
        self.load = [os.getloadavg()[0]]
        anonymous, editor = Client(), Client()
        editor.force_login(self.editor)
        rows = []
        cases = self.mix()
        with Progress(
            self.stderr, "benchmark_search: measuring", total=len(cases), unit="queries"
        ) as bar:
            for label, params in cases:
                url = "/api/v1/search/?" + urlencode(params)
                row = {"query": label, "params": params}
                for who, client in (("anonymous", anonymous), ("editor", editor)):
                    samples = []
                    client.get(url)  # warm
                    for _ in range(repeat):
                        started = time.perf_counter()
                        response = client.get(url)
                        samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (url, response.content[:300])
                    row[who] = {
                        "p50": round(statistics.median(samples), 1),
                        "p95": round(percentile(samples, 0.95), 1),
                        "count": response.json()["count"],
                        "count_exact": response.json()["count_exact"],
                    }
                samples = []
                self.naive(params["q"])
                for _ in range(repeat):
                    started = time.perf_counter()
                    self.naive(params["q"])
                    samples.append((time.perf_counter() - started) * 1000)
                row["naive"] = {
                    "p50": round(statistics.median(samples), 1),
                    "p95": round(percentile(samples, 0.95), 1),
                }
                rows.append(row)
                self.load.append(os.getloadavg()[0])
                bar.update()
        return rows

    def print_table(self, figures):
        out = self.stdout
        out.write(
            f"database: {figures['database']}; {figures['documents']} documents, "
            f"{figures['indexed']} indexed in {figures['index_build_seconds']} s "
            f"({figures['indexed_per_second']}/s); index {figures['index_bytes'] / 1e6:.1f} MB; "
            f"bulk insert {figures['insert_seconds']} s; load average "
            f"{figures['load_average'][0]:.1f}-{figures['load_average'][1]:.1f} while measuring"
        )
        out.write(
            f"{'query':20} {'matches':>8}  {'anon p50':>8} {'p95':>6}  {'editor p50':>10} "
            f"{'p95':>6}  {'naive p50':>9} {'p95':>6}  {'p95/naive':>9}"
        )
        for row in figures["queries"]:
            anon, editor, naive = row["anonymous"], row["editor"], row["naive"]
            count = f"{anon['count']}{'' if anon['count_exact'] else '~'}"
            ratio = anon["p95"] / naive["p95"] if naive["p95"] else float("nan")
            out.write(
                f"{row['query']:20} {count:>8}  {anon['p50']:8.1f} {anon['p95']:6.1f}  "
                f"{editor['p50']:10.1f} {editor['p95']:6.1f}  {naive['p50']:9.1f} "
                f"{naive['p95']:6.1f}  {ratio:9.1f}"
            )
