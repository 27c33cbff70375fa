"""An open-loop load generator for a running instance, and the highest rate it holds.

    python manage.py loadtest --url http://127.0.0.1:8000 --manifest var/loadtest.json
        [--rate 20 --duration 30] [--find-max] [--mix api|site]

The manifest names what to request: documents, alerts, releases and writers with their
tokens and their own documents (`benchmark --keep --manifest FILE` writes one). Requests
are sent at their scheduled times whatever the server's answers (open loop: a slow server
does not slow the generator down), and each latency is measured from the request's
scheduled send time, so queueing in the generator or the server counts. The mix, with the
exact weight of each endpoint printed, is 60% list and detail reads, 30% `/r/<alert>` and
upgrade briefings, 10% PATCH with If-Match (each virtual writer edits its own documents;
a deliberate stale If-Match must get 412, a briefing with If-None-Match 304). Errors are
5xx, timeouts, connection failures and any status an endpoint does not expect.

`--mix site` sends what people and tools do together instead: 60% search (API and page)
and page reads, 30% API reads, `/r/` and briefings, 10% PATCH with If-Match.

`--mix read` sends reads only, none conditional (what read replicas may serve): lists,
details, `/r/`, briefings, and a tenth token holders reading their own documents.

`--find-max` steps the rate up (x `--factor`) from `--rate` and reports the highest rate
held: p95 < `--p95-ms` with no error. The generator runs in this process only; its CPU
share is printed so that a saturated generator is not mistaken for a slow server.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError

# (name, weight, expected statuses). The weights are exact shares of the requests sent.
API_MIX = [
    ("GET runbook list", 0.15, {200}),
    ("GET runbook list ?component=", 0.05, {200}),
    ("GET practice list", 0.05, {200}),
    ("GET incident list", 0.10, {200}),
    ("GET runbook detail", 0.15, {200}),
    ("GET incident detail", 0.10, {200}),
    ("GET /r/<alert>", 0.15, {302, 200}),  # one runbook: 302; several: the chooser
    ("GET upgrade-path", 0.10, {200}),
    ("GET upgrade-path If-None-Match", 0.05, {304}),
    ("PATCH runbook If-Match", 0.09, {200}),
    ("PATCH stale If-Match", 0.01, {412}),
]
# What people and tools do together (issue 18): 60% search and page reads, 30% API reads,
# `/r/` and briefings, 10% writes with If-Match.
SITE_MIX = [
    ("GET /search/?q= page", 0.15, {200}),
    ("GET /api/v1/search/?q=", 0.15, {200}),
    ("GET runbook page", 0.12, {200}),
    ("GET incident page", 0.08, {200}),
    ("GET runbook list page", 0.05, {200}),
    ("GET home page", 0.05, {200}),
    ("GET runbook list", 0.07, {200}),
    ("GET runbook detail", 0.08, {200}),
    ("GET /r/<alert>", 0.08, {302, 200}),
    ("GET upgrade-path", 0.05, {200}),
    ("GET upgrade-path If-None-Match", 0.02, {304}),
    ("PATCH runbook If-Match", 0.09, {200}),
    ("PATCH stale If-Match", 0.01, {412}),
]
# Reads only, none conditional: what a replica may serve (opsknowledge.replicas), for
# comparing primary only with primary + replicas. A tenth are token holders reading their
# own documents, whose write positions the router looks up.
READ_MIX = [
    ("GET runbook list", 0.20, {200}),
    ("GET runbook list ?component=", 0.05, {200}),
    ("GET practice list", 0.05, {200}),
    ("GET incident list", 0.10, {200}),
    ("GET runbook detail", 0.20, {200}),
    ("GET incident detail", 0.10, {200}),
    ("GET /r/<alert>", 0.10, {302, 200}),
    ("GET upgrade-path", 0.10, {200}),
    ("GET own runbook with a token", 0.10, {200}),
]
MIXES = {"api": API_MIX, "site": SITE_MIX, "read": READ_MIX}
# Queries of the kinds operators type: a word, two words, a phrase, an exclusion, an `or`.
SEARCH_QUERIES = [
    "ceph", "osd full", "pod crash looping", '"disk space"', "certificate -kubernetes",
    "etcd or keystone", "nova compute", "upgrade", "backup restore", "node not ready",
]  # fmt: skip


@dataclass
class Outcome:
    latencies: list = field(default_factory=list)  # ms from the scheduled send time
    statuses: dict = field(default_factory=dict)
    errors: int = 0
    notes: dict = field(default_factory=dict)  # error kind -> count


@dataclass
class Writer:
    """A virtual writer: a token and the documents only it edits, with their ETags. A
    document being written is not picked again until its answer is in, so the writer
    never races itself (a 412 then would be the generator's fault)."""

    token: str
    documents: list  # API paths
    etags: dict = field(default_factory=dict)  # path -> current ETag
    stale: dict = field(default_factory=dict)  # path -> an ETag that was current before
    busy: set = field(default_factory=set)
    turn: int = 0

    def pick(self) -> str | None:
        for _ in range(len(self.documents)):
            path = self.documents[self.turn % len(self.documents)]
            self.turn += 1
            if path not in self.busy:
                return path
        return None


def schedule(rate: float, duration: float, seed: int, mix=API_MIX) -> list[tuple[float, str]]:
    """(offset in seconds, endpoint) for every request of a run: evenly spaced (a fixed
    rate), endpoints in exact proportion to their weights, shuffled."""
    total = max(int(rate * duration), 1)
    names = []
    for name, weight, _ in mix:
        names += [name] * round(weight * total)
    names = (names + [mix[0][0]] * total)[:total]
    random.Random(seed).shuffle(names)
    return [(n / rate, name) for n, name in enumerate(names)]


class Generator:
    def __init__(self, base: str, manifest: dict, timeout: float, seed: int, mix=API_MIX):
        self.base = base.rstrip("/")
        self.manifest = manifest
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.mix = mix
        self.expected = {name: statuses for name, _, statuses in mix}
        self.writers = [
            Writer(token=w["token"], documents=list(w["documents"]))
            for w in manifest["writers"]
            if w["documents"]
        ]
        self.briefing_etag = None
        self.edits = 0
        # Edits of an earlier run on the same data would otherwise repeat: an edit equal to
        # the current text is "unchanged" (200, same ETag), not a new revision.
        self.run_id = os.urandom(4).hex()

    def choose(self, key):
        return self.rng.choice(self.manifest[key])

    def request(self, name: str):
        """(method, path, headers, JSON body, writer and document) for one request."""
        m = self.manifest
        if name == "GET runbook list":
            pages = m.get("runbook_pages", 1)
            page = self.rng.choice([1, 1, 1, min(2, pages), min(3, pages), min(10, pages)])
            return "GET", f"/api/v1/runbooks/?page={page}", {}, None, None
        if name == "GET runbook list ?component=":
            return "GET", f"/api/v1/runbooks/?component={self.choose('components')}", {}, None, None
        if name == "GET practice list":
            return "GET", "/api/v1/practices/", {}, None, None
        if name == "GET incident list":
            return "GET", "/api/v1/incidents/", {}, None, None
        if name == "GET runbook detail":
            return "GET", self.choose("runbooks"), {}, None, None
        if name == "GET incident detail":
            return "GET", self.choose("incidents"), {}, None, None
        if name == "GET own runbook with a token":
            writer = self.rng.choice(self.writers)
            headers = {"Authorization": f"Token {writer.token}"}
            return "GET", self.rng.choice(writer.documents), headers, None, None
        if name == "GET /r/<alert>":
            return "GET", f"/r/{self.choose('alerts')}", {}, None, None
        if name == "GET /search/?q= page":
            return "GET", f"/search/?q={quote(self.rng.choice(SEARCH_QUERIES))}", {}, None, None
        if name == "GET /api/v1/search/?q=":
            query = quote(self.rng.choice(SEARCH_QUERIES))
            return "GET", f"/api/v1/search/?q={query}", {}, None, None
        if name == "GET runbook page":
            return "GET", page_of(self.choose("runbooks")), {}, None, None
        if name == "GET incident page":
            return "GET", page_of(self.choose("incidents")), {}, None, None
        if name == "GET runbook list page":
            return "GET", "/runbooks/", {}, None, None
        if name == "GET home page":
            return "GET", "/", {}, None, None
        briefing = f"/api/v1/upgrade-path/?from={m['upgrade'][0]}&to={m['upgrade'][1]}"
        if name == "GET upgrade-path":
            return "GET", briefing, {}, None, None
        if name == "GET upgrade-path If-None-Match":
            return "GET", briefing, {"If-None-Match": self.briefing_etag or '"none"'}, None, None
        writer = self.writers[self.edits % len(self.writers)]
        self.edits += 1
        auth = {"Authorization": f"Token {writer.token}"}
        if name == "PATCH stale If-Match":
            path = self.rng.choice(writer.documents)
            stale = writer.stale.get(path, '"0"')  # revision 0 never exists: stale too
            body = {"summary": "A stale edit that must be refused."}
            return "PATCH", path, {**auth, "If-Match": stale}, body, None
        path = writer.pick()
        if path is None:
            return None
        writer.busy.add(path)
        etag = writer.etags[path]
        body = {"summary": f"Edited by the load test ({self.run_id}, {self.edits})."}
        return "PATCH", path, {**auth, "If-Match": etag}, body, (writer, path)

    async def prepare(self, client):
        """Learn the current ETags of the writers' documents and of the briefing."""
        for writer in self.writers:
            for path in writer.documents:
                response = await client.get(
                    path, headers={"Authorization": f"Token {writer.token}"}
                )
                if response.status_code != 200:
                    raise CommandError(f"GET {path}: {response.status_code}; check the manifest")
                writer.etags[path] = response.headers["ETag"]
        response = await client.get(self.request("GET upgrade-path")[1])
        self.briefing_etag = response.headers.get("ETag")

    async def send(self, client, name, due, outcomes):
        import httpx

        outcome = outcomes[name]
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        prepared = self.request(name)
        if prepared is None:  # every document of this writer is being written
            outcome.notes["no free document"] = outcome.notes.get("no free document", 0) + 1
            return
        method, path, headers, body, owned = prepared
        try:
            response = await client.request(method, path, headers=headers, json=body)
            status = response.status_code
            outcome.latencies.append((time.perf_counter() - due) * 1000)
            outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
            verdict = self.verdict(name, status, headers, response.headers)
            if verdict is not None:
                outcome.notes[verdict] = outcome.notes.get(verdict, 0) + 1
                outcome.errors += verdict.startswith(("5xx", "unexpected"))
            if name.startswith("GET upgrade-path") and status == 200:
                self.briefing_etag = response.headers.get("ETag") or self.briefing_etag
            if owned is not None and status == 200:
                writer, document = owned
                if response.headers["ETag"] != writer.etags[document]:  # a new revision
                    writer.stale[document] = writer.etags[document]
                    writer.etags[document] = response.headers["ETag"]
        except httpx.TimeoutException:
            self.fail(outcome, "timeout", due)
        except httpx.TransportError:
            self.fail(outcome, "connection failure", due)
        finally:
            if owned is not None:
                owned[0].busy.discard(owned[1])

    def verdict(self, name, status, sent: dict, received) -> str | None:
        """None for an expected answer; else a note, an error when it starts "5xx" or
        "unexpected". A briefing's conditional GET may rightly answer 200: the mix's own
        writes change the briefing, and a new ETag says so; a 200 with the ETag that was
        sent is the error (it should have been a 304)."""
        if status in self.expected[name]:
            return None
        if status >= 500:
            return "5xx"
        conditional = name == "GET upgrade-path If-None-Match"
        if (
            conditional
            and status == 200
            and received.get("ETag") not in (None, sent.get("If-None-Match"))
        ):
            return "200: changed since (a new ETag)"
        return f"unexpected {status}"

    @staticmethod
    def fail(outcome, kind, due):
        outcome.errors += 1
        outcome.latencies.append((time.perf_counter() - due) * 1000)
        outcome.notes[kind] = outcome.notes.get(kind, 0) + 1

    async def run(self, rate: float, duration: float, seed: int) -> dict:
        import httpx

        # A new connection per request, as from many clients: kept-alive connections would
        # pin the load on the one gunicorn worker that accepted them.
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=self.base, timeout=self.timeout, limits=limits, follow_redirects=False
        ) as client:
            if not self.writers or not self.writers[0].etags:
                await self.prepare(client)
            outcomes = {name: Outcome() for name, _, _ in self.mix}
            plan = schedule(rate, duration, seed, self.mix)
            wall, cpu = time.perf_counter(), time.process_time()
            start = wall + 0.1
            tasks = []
            for offset, name in plan:
                # Tasks are created ahead of their time and sleep until it: the schedule,
                # not the answers, decides when each request leaves.
                delay = start + offset - time.perf_counter() - 0.05
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.send(client, name, start + offset, outcomes)))
            await asyncio.gather(*tasks)
            elapsed, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return report(rate, duration, outcomes, elapsed, cpu, self.mix)


def page_of(api_path: str) -> str:
    """A document's web page from its API path (/api/v1/runbooks/o/s/ -> /runbooks/o/s/)."""
    return api_path.removeprefix("/api/v1")


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def report(rate, duration, outcomes, elapsed, cpu, mix=API_MIX) -> dict:
    everything = [ms for o in outcomes.values() for ms in o.latencies]
    endpoints = {}
    for name, weight, expected in mix:
        o = outcomes[name]
        endpoints[name] = {
            "weight": weight,
            "expected": sorted(expected),
            "requests": len(o.latencies),
            "p50_ms": percentile(o.latencies, 0.50),
            "p95_ms": percentile(o.latencies, 0.95),
            "statuses": {str(k): v for k, v in sorted(o.statuses.items())},
            "errors": o.errors,
            "notes": o.notes,
        }
    return {
        "rate": rate,
        "duration_s": duration,
        "requests": len(everything),
        "p50_ms": percentile(everything, 0.50),
        "p95_ms": percentile(everything, 0.95),
        "p99_ms": percentile(everything, 0.99),
        "max_ms": max(everything) if everything else None,
        "errors": sum(o.errors for o in outcomes.values()),
        # PATCHes not sent: every document of their writer had a write in flight.
        "skipped": sum(o.notes.get("no free document", 0) for o in outcomes.values()),
        "generator_cpu_share": cpu / max(elapsed, 1e-9),  # of one core
        "machine_cpus": os.cpu_count(),
        "endpoints": endpoints,
    }


def held(result: dict, p95_ms: float) -> bool:
    return result["errors"] == 0 and result["p95_ms"] is not None and result["p95_ms"] < p95_ms


class Command(BaseCommand):
    help = __doc__.split("\n\n")[0]

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="the instance, e.g. http://127.0.0.1:8000")
        parser.add_argument("--manifest", required=True, help="JSON written by benchmark --keep")
        parser.add_argument("--rate", type=float, default=20, help="requests/s (start rate)")
        parser.add_argument("--duration", type=float, default=20, help="seconds per rate")
        parser.add_argument("--find-max", action="store_true", help="step the rate up")
        parser.add_argument("--factor", type=float, default=1.25, help="--find-max step")
        parser.add_argument("--max-rate", type=float, default=1000)
        parser.add_argument("--p95-ms", type=float, default=200)
        parser.add_argument("--timeout", type=float, default=5, help="seconds per request")
        parser.add_argument("--seed", type=int, default=14)
        parser.add_argument("--json", help="also write the results to this file")
        parser.add_argument(
            "--mix",
            choices=sorted(MIXES),
            default="api",
            help="api: the API's clients; site: search and pages as well; read: reads only, "
            "none conditional, as replicas serve them (default api)",
        )

    def handle(self, url, manifest, rate, duration, find_max, factor, max_rate, p95_ms, **opts):
        try:
            data = json.loads(Path(manifest).read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the manifest {manifest}: {error}") from None
        mix = MIXES[opts["mix"]]
        generator = Generator(url, data, opts["timeout"], opts["seed"], mix)
        self.print_mix(mix)
        results, best = [], None
        while True:
            result = asyncio.run(generator.run(rate, duration, opts["seed"]))
            results.append(result)
            self.print_result(result, p95_ms)
            ok = held(result, p95_ms)
            if ok:
                best = result
            if not find_max or not ok or rate * factor > max_rate:
                break
            rate = round(rate * factor, 1)
        if find_max:
            if best is None:
                self.stdout.write(
                    f"highest rate held: none (the first, {results[0]['rate']}/s, failed)"
                )
            else:
                self.stdout.write(
                    f"highest rate held: {best['rate']:g} requests/s "
                    f"(p95 {best['p95_ms']:.1f} ms < {p95_ms:g} ms, no error)"
                )
        if opts["json"]:
            Path(opts["json"]).write_text(
                json.dumps({"results": results, "highest_held": best and best["rate"]}, indent=2)
            )

    def print_mix(self, mix):
        self.stdout.write("mix (exact share of requests, expected statuses):")
        for name, weight, expected in mix:
            statuses = "/".join(str(s) for s in sorted(expected))
            self.stdout.write(f"  {weight * 100:5.1f}%  {name:<34} {statuses}")

    def print_result(self, r, p95_ms):
        verdict = "held" if held(r, p95_ms) else "NOT held"
        self.stdout.write(
            f"\nrate {r['rate']:g}/s for {r['duration_s']:g} s: {r['requests']} requests, "
            f"p50 {r['p50_ms'] or 0:.1f} ms, p95 {r['p95_ms'] or 0:.1f} ms, "
            f"p99 {r['p99_ms'] or 0:.1f} ms, errors {r['errors']}, skipped {r['skipped']}; "
            f"{verdict}; "
            f"generator CPU {r['generator_cpu_share'] * 100:.0f}% of one core "
            f"({r['machine_cpus']} on this machine)"
        )
        for name, e in r["endpoints"].items():
            statuses = " ".join(f"{k}x{v}" for k, v in e["statuses"].items())
            notes = " ".join(f"{k}: {v}" for k, v in e["notes"].items())
            p50 = f"{e['p50_ms']:.1f}" if e["p50_ms"] is not None else "-"
            p95 = f"{e['p95_ms']:.1f}" if e["p95_ms"] is not None else "-"
            self.stdout.write(
                f"  {name:<34} {e['requests']:6}  p50 {p50:>7}  p95 {p95:>7}  {statuses} {notes}"
            )
