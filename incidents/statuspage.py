"""Status-page incidents (Atlassian Statuspage v2, Sovereign Cloud Stack status page API)
read into failure-report drafts, and the importer `import_status_page` and
`POST /api/v1/import/` both run through opsknowledge.importing.run_import.

Each incident becomes a draft report (visibility organisation) whose analysis is still to be
written, and a source record (StatusPageIncident) holding what the page published: the
record, not the report, is what transparency coverage counts.

Quirks of real pages this survives (GitHub's 2010–2023 history): updates newest-first or
oldest-first (rows are sorted by their time, never reversed); `created_at` of migrated
updates is the migration date (`display_at` is the time shown); old incidents carry their
whole timeline as one HTML `<ul><li><strong>time</strong> - text</li>` update; the start
and end are equal (or reversed) where the real span is in the timeline rows.
"""

from __future__ import annotations

import html
import json
import re
import time as clock
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import yaml
from django.db import transaction
from django.utils.text import slugify

from opsknowledge.importing import ImportFailure, import_document
from opsknowledge.models import Component

from .models import FailureReport, Severity, StatusPageIncident

STATUSPAGE_SEVERITY = {
    "critical": Severity.SEV1,
    "major": Severity.SEV2,
    "minor": Severity.SEV3,
    "none": Severity.SEV4,
}
STATUSPAGE_MAINTENANCE = {"scheduled", "in_progress", "verifying", "completed"}
# Names pages list as components that are not components.
IGNORED_COMPONENTS = {"visit www.githubstatus.com for more information"}
MAINTENANCE_REASON = "a maintenance, not an incident"
IGNORE = "ignore"


# -- HTML to Markdown ---------------------------------------------------------------------


class _Markdown(HTMLParser):
    """The little HTML status pages use (paragraphs, lists, emphasis, links, breaks) as
    Markdown, links kept. Anything else keeps its text; the one sanitiser runs on render."""

    BLOCKS = {"p", "div", "ul", "ol", "br", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.out.append("\n\n" if tag != "br" else "  \n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag == "code":
            self.out.append("`")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self.out.append("[")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS and tag != "br":
            self.out.append("\n\n")
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag == "code":
            self.out.append("`")
        elif tag == "a":
            href = self.links.pop() if self.links else ""
            self.out.append(f"]({href})" if href.startswith(("http://", "https://")) else "]")

    def handle_data(self, data):
        self.out.append(re.sub(r"\s+", " ", data))


def html_to_markdown(text: str | None) -> str:
    if not text:
        return ""
    if "<" not in text:
        return html.unescape(text).strip()
    parser = _Markdown()
    parser.feed(text)
    parser.close()
    markdown = "".join(parser.out)
    markdown = re.sub(r"[ \t]+\n", lambda m: "  \n" if m.group(0).startswith("  ") else "\n",
                      markdown)  # fmt: skip
    markdown = re.sub(r"\n{3,}", "\n\n", markdown)
    return "\n".join(line.strip() if not line.endswith("  ") else line.lstrip()
                     for line in markdown.strip().split("\n"))  # fmt: skip


# -- times --------------------------------------------------------------------------------


def parse_time(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


# One row of an old HTML timeline: `<li><strong>2011-07-28 03:06:00</strong> - text</li>`,
# once with a time and no date (`<strong>15:14</strong>`).
HTML_ROW = re.compile(
    r"<li>\s*<strong>\s*(?P<time>[^<]*?)\s*</strong>\s*(?:-|&ndash;|–)?\s*(?P<text>.*?)</li>",
    re.S | re.I,
)
DATE_TIME = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)")
TIME_ONLY = re.compile(r"(\d{1,2}):(\d\d)(?::(\d\d))?")


def html_timeline(body: str, day_of: datetime | None) -> list[dict] | None:
    """The rows of an old incident's HTML timeline, or None when `body` is not one. A time
    without a date takes the date of the row before (else of the update)."""
    if not body or "<li" not in body.lower():
        return None
    rows, last = [], day_of
    for match in HTML_ROW.finditer(body):
        written, text = match.group("time"), html_to_markdown(match.group("text"))
        at = None
        if found := DATE_TIME.fullmatch(written):
            at = parse_time(f"{found.group(1)}T{found.group(2)}")
        elif (found := TIME_ONLY.fullmatch(written)) and last is not None:
            hour, minute, second = (int(part or 0) for part in found.groups())
            if hour < 24 and minute < 60 and second < 60:
                at = last.replace(hour=hour, minute=minute, second=second, microsecond=0)
        if at is not None:
            last = at
        rows.append({"at": at, "at_text": "" if at else written[:100], "text": text or "-"})
    return rows or None


# -- what an incident says ----------------------------------------------------------------


@dataclass
class SourceIncident:
    """One incident as the page published it, in the project's words."""

    source: str
    incident_id: str
    title: str
    impact: str
    severity: str
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    first_update_at: datetime | None = None
    link: str = ""
    components: list[str] = field(default_factory=list)  # names as published
    rows: list[dict] = field(default_factory=list)  # {"at", "at_text", "text"}
    description: str = ""
    skip: str = ""  # the reason it is not imported (a maintenance)
    corrections: list[str] = field(default_factory=list)
    postmortem: str = ""
    postmortem_published_at: datetime | None = None

    def settle_times(self, created_at: datetime | None = None):
        """Order the rows by time, and take the start and end from them where the page's
        own are equal or reversed (an HTML timeline's span is in its rows)."""
        timed = sorted((row for row in self.rows if row["at"]), key=lambda row: row["at"])
        untimed = [row for row in self.rows if not row["at"]]
        self.rows = timed + untimed
        if not timed:
            return
        first, last = timed[0]["at"], timed[-1]["at"]
        self.first_update_at = first
        start, end = self.started_at, self.resolved_at
        if start and end and end < start:
            self.started_at = min(t for t in (start, created_at, first) if t)
            self.resolved_at = max(end, last)
            self.corrections.append(
                f"{self.incident_id}: resolved ({iso(end)}) before it started ({iso(start)}); "
                f"imported as {iso(self.started_at)} to {iso(self.resolved_at)}"
            )
        elif start and end and end == start:
            self.started_at, self.resolved_at = min(start, first), max(end, last)
        if self.started_at is None:
            self.started_at = first


def statuspage_incidents(data) -> list[tuple[dict, dict]]:
    """(page, incident) pairs of any Statuspage shape: one incident file
    `{"page", "incident"}`, `{"incident": ...}`, `/api/v2/incidents.json`
    `{"page", "incidents": [...]}`, or a bare list."""
    if isinstance(data, list):
        return [({}, incident) for incident in data if isinstance(incident, dict)]
    if not isinstance(data, dict):
        raise ImportFailure("expected a JSON object with 'incident' or 'incidents'")
    page = data.get("page") if isinstance(data.get("page"), dict) else {}
    if isinstance(data.get("incident"), dict):
        return [(page, data["incident"])]
    if isinstance(data.get("incidents"), list):
        return [(page, item) for item in data["incidents"] if isinstance(item, dict)]
    raise ImportFailure("expected a JSON object with 'incident' or 'incidents'")


# Both channels read these files: the API's import takes `source`, the command `--source`.
NAME_THE_PAGE = "name the page with source (the import API's parameter; the command's --source)"


def _text(value, limit: int) -> str:
    return (value if isinstance(value, str) else "").strip()[:limit]


def parse_statuspage(incident: dict, page: dict, source: str | None = None) -> SourceIncident:
    identifier = _text(incident.get("id"), 100)
    if not identifier:
        raise ImportFailure("an incident without an id")
    source = source or _text(page.get("id"), 100) or _text(incident.get("page_id"), 100)
    if not source:
        raise ImportFailure(f"no page id in the data; {NAME_THE_PAGE}")
    impact = _text(incident.get("impact"), 32) or "none"
    status = _text(incident.get("status"), 32)
    found = SourceIncident(
        source=source,
        incident_id=identifier,
        title=_text(incident.get("name"), 300) or f"Incident {identifier}",
        impact=impact,
        severity=STATUSPAGE_SEVERITY.get(impact, Severity.SEV4),
        started_at=parse_time(incident.get("started_at")) or parse_time(incident.get("created_at")),
        resolved_at=parse_time(incident.get("resolved_at")),
        link=_text(incident.get("shortlink"), 500),
    )
    if incident.get("scheduled_for") or status in STATUSPAGE_MAINTENANCE:
        found.skip = MAINTENANCE_REASON
    names = [
        _text(c.get("name"), 200) for c in incident.get("components") or [] if isinstance(c, dict)
    ]
    updates = [u for u in incident.get("incident_updates") or [] if isinstance(u, dict)]
    for update in updates:
        names += [
            _text(c.get("name"), 200)
            for c in update.get("affected_components") or []
            if isinstance(c, dict)
        ]
        # display_at is the time shown: created_at of migrated updates is the migration's.
        at = parse_time(update.get("display_at")) or parse_time(update.get("created_at"))
        body = update.get("body") if isinstance(update.get("body"), str) else ""
        rows = html_timeline(body, at)
        if rows is None:
            label = _text(update.get("status"), 32).replace("_", " ").capitalize()
            text = html_to_markdown(body) or "-"
            rows = [{"at": at, "at_text": "", "text": f"**{label}**: {text}" if label else text}]
        found.rows += rows
    found.components = list(dict.fromkeys(name for name in names if name))
    if isinstance(incident.get("postmortem_body"), str) and incident["postmortem_body"].strip():
        found.postmortem = html_to_markdown(incident["postmortem_body"])
        found.postmortem_published_at = parse_time(incident.get("postmortem_published_at"))
    found.settle_times(parse_time(incident.get("created_at")))
    return found


def scs_severity(value: int | None) -> str:
    if value is None or value <= 33:
        return Severity.SEV4
    return Severity.SEV3 if value <= 66 else Severity.SEV2


def parse_scs_bundle(bundle: dict, source: str, base_url: str = "") -> list[SourceIncident]:
    """The incidents of an SCS bundle `{"components", "phases", "impacttypes",
    "incidents": [... each with its "updates" inlined]}` (what a live pull dumps)."""
    if not isinstance(bundle, dict) or not isinstance(bundle.get("incidents"), list):
        raise ImportFailure("an SCS file is {'components', 'phases', 'incidents': [...]}")
    components = {
        c.get("id"): _text(c.get("displayName"), 200) or str(c.get("id"))
        for c in bundle.get("components") or []
        if isinstance(c, dict)
    }
    phases = bundle.get("phases") if isinstance(bundle.get("phases"), dict) else {}
    phase_names = phases.get("phases") or []
    types = {
        t.get("id"): _text(t.get("displayName"), 100).lower()
        for t in bundle.get("impacttypes") or []
        if isinstance(t, dict)
    }
    base_url = base_url or (bundle["url"] if isinstance(bundle.get("url"), str) else "")
    found = []
    for incident in bundle["incidents"]:
        if not isinstance(incident, dict) or not _text(incident.get("id"), 100):
            raise ImportFailure("an incident without an id")
        identifier = _text(incident["id"], 100)
        affects = [a for a in incident.get("affects") or [] if isinstance(a, dict)]
        severities = [a["severity"] for a in affects if isinstance(a.get("severity"), int)]
        highest = max(severities) if severities else None
        phase = incident.get("phase") if isinstance(incident.get("phase"), dict) else {}
        order = phase.get("order")
        phase_name = (
            phase_names[order] if isinstance(order, int) and 0 <= order < len(phase_names) else ""
        )
        record = SourceIncident(
            source=source,
            incident_id=identifier,
            title=_text(incident.get("displayName"), 300) or f"Incident {identifier}",
            impact=f"severity {highest}" if highest is not None else "none",
            severity=scs_severity(highest),
            started_at=parse_time(incident.get("beganAt")),
            resolved_at=parse_time(incident.get("endedAt")),
            link=f"{base_url.rstrip('/')}/incidents/{identifier}" if base_url else "",
            description=html_to_markdown(incident.get("description")),
        )
        if phase_name.lower() == "scheduled" or any(
            types.get(a.get("type")) == "maintenance" for a in affects
        ):
            record.skip = MAINTENANCE_REASON
        record.components = list(
            dict.fromkeys(
                components.get(a.get("reference"), str(a.get("reference"))) for a in affects
            )
        )
        updates = [u for u in incident.get("updates") or [] if isinstance(u, dict)]
        for update in updates:
            name = _text(update.get("displayName"), 200)
            text = html_to_markdown(update.get("description")) or "-"
            record.rows.append(
                {
                    "at": parse_time(update.get("createdAt")),
                    "at_text": "",
                    "text": f"**{name}**: {text}" if name else text,
                }
            )
        if phase_name:
            record.description = f"{record.description}\n\nPhase: {phase_name}.".strip()
        record.settle_times()
        found.append(record)
    return found


def read_incidents(data, *, fmt: str, source: str | None, base_url: str = ""):
    """The SourceIncidents of one parsed JSON document."""
    if fmt == "auto":
        fmt = (
            "scs"
            if isinstance(data, dict)
            and "components" in data
            and "incidents" in data
            and not data.get("page")
            else "statuspage"
        )  # noqa: E501
        if isinstance(data, dict) and data.get("incidents") and isinstance(data["incidents"], list):
            first = data["incidents"][0] if data["incidents"] else {}
            if isinstance(first, dict) and ("beganAt" in first or "displayName" in first):
                fmt = "scs"
    if fmt == "scs":
        if not source:
            raise ImportFailure(f"an SCS page has no id of its own; {NAME_THE_PAGE}")
        return parse_scs_bundle(data, source, base_url)
    return [
        parse_statuspage(incident, page, source) for page, incident in statuspage_incidents(data)
    ]


# -- fetching a live page (the command only: the API and the UI never fetch a URL) ---------


class Unreachable(Exception):
    pass


def fetch_json(url: str, *, timeout: float = 10, retries: int = 3, backoff: float = 1.0):
    """GET `url` as JSON; a 5xx answer or a network error is retried `retries` times with
    doubling waits, a 4xx is not."""
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            clock.sleep(backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "opsknowledge-import"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
            if error.code < 500:
                break
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            last = str(getattr(error, "reason", error))
        except ValueError:
            raise Unreachable(f"{url} did not answer JSON") from None
    raise Unreachable(f"cannot fetch {url}: {last}")


def pull_statuspage(base: str, *, fetch=fetch_json) -> tuple[dict, list[str]]:
    """All incidents a Statuspage page serves: every page of them where the response has a
    `pagination` object, else the one response (older history then needs an export)."""
    url = f"{base.rstrip('/')}/api/v2/incidents.json"
    first = fetch(url)
    if not isinstance(first, dict):
        raise Unreachable(f"{url} did not answer a Statuspage incident list")
    incidents, notes = list(first.get("incidents") or []), []
    pagination = first.get("pagination")
    number = 1
    while (
        isinstance(pagination, dict)
        and pagination.get("has_more", True)
        and len(incidents) < int(pagination.get("total") or 0)
    ):
        number += 1
        per_page = int(pagination.get("per_page") or 100)
        more = fetch(f"{url}?page={number}&per_page={per_page}")
        batch = more.get("incidents") or [] if isinstance(more, dict) else []
        if not batch:
            break
        incidents += batch
        pagination = more.get("pagination")
    if not isinstance(first.get("pagination"), dict):
        notes.append(
            f"{url} returned {len(incidents)} incidents without pagination; older history "
            "needs an export of the page"
        )
    return {"page": first.get("page") or {}, "incidents": incidents}, notes


SCS_WINDOW = timedelta(days=30)


def pull_scs(base: str, since: datetime, *, now=None, fetch=fetch_json) -> dict:
    """An SCS bundle: the incidents in time windows from `since` to now, each with its
    updates, and the components, phases and impact types they refer to."""
    base = base.rstrip("/")

    def data(path):
        answer = fetch(f"{base}{path}")
        if not isinstance(answer, dict) or "data" not in answer:
            raise Unreachable(f"{base}{path} did not answer {{'data': ...}}")
        return answer["data"]

    now = now or datetime.now(UTC)
    incidents, start = {}, since
    while start < now:
        end = min(start + SCS_WINDOW, now)
        query = urllib.parse.urlencode({"start": iso(start), "end": iso(end)})
        for incident in data(f"/incidents?{query}") or []:
            if isinstance(incident, dict) and incident.get("id"):
                incidents[incident["id"]] = incident
        start = end
    for identifier, incident in incidents.items():
        updates = data(f"/incidents/{urllib.parse.quote(str(identifier))}/updates") or []
        incident = {**incident, "updates": updates}
        incidents[identifier] = incident
    return {
        "url": base,  # the links of a file import from this dump
        "components": data("/components") or [],
        "phases": data("/phases") or {},
        "impacttypes": data("/impacttypes") or [],
        "incidents": sorted(incidents.values(), key=lambda i: (str(i.get("beganAt")), i["id"])),
    }


# -- importing ----------------------------------------------------------------------------


def read_component_map(path: Path | None) -> dict[str, str]:
    """`--component-map FILE`: YAML or JSON {source name: component slug or "ignore"}."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ImportFailure(f"cannot read the component map {path}: {error}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ImportFailure("the component map is a mapping of names to slugs or 'ignore'")
    return {key.strip().lower(): value.strip() for key, value in data.items()}


def report_slug(source: str, incident_id: str) -> str:
    return slugify(f"{source}-{incident_id}")[:100].strip("-")


class StatusPageImporter:
    """Import SourceIncidents into one organisation (see the module docstring)."""

    def __init__(self, incidents, *, component_map=None, since=None, refused=(), notes=()):
        # (name, SourceIncident | ImportFailure) in the order read
        self.incidents = incidents
        self.component_map = component_map or {}
        self.since = since
        self.skips = dict(refused)
        self.notes = list(notes)
        self.unmatched: dict[str, int] = {}
        self.corrections: list[str] = []
        self.components = None

    def sources(self, options):
        return [*self.skips.items(), *self.incidents]

    def import_one(self, name, found, options):
        if name in self.skips:
            return "skipped", self.skips[name]
        if isinstance(found, ImportFailure):
            raise found
        if found.skip:
            return "skipped", found.skip
        if self.since and found.started_at and found.started_at < self.since:
            return "skipped", "started before --since"
        with transaction.atomic():
            return self._import(found, options)

    def component_slugs(self, names) -> tuple[list[str], list[str]]:
        if self.components is None:
            self.components = list(Component.objects.all())
        slugs, unknown = [], []
        for name in names:
            key = name.strip().lower()
            mapped = self.component_map.get(key)
            if mapped == IGNORE or (mapped is None and key in IGNORED_COMPONENTS):
                continue
            wanted = {mapped} if mapped else {key, slugify(name)}
            component = next(
                (
                    c
                    for c in self.components
                    if c.slug in wanted or wanted & {a.lower() for a in c.aliases}
                ),
                None,
            )
            if component is None:
                unknown.append(name)
            elif component.slug not in slugs:
                slugs.append(component.slug)
        return slugs, unknown

    def fields(self, found: SourceIncident, unknown: list[str], components) -> dict:
        lines = [found.description] if found.description else []
        link = f" ([{found.link}]({found.link}))" if found.link else ""
        lines.append(
            f"Drafted from the status page `{found.source}`, incident `{found.incident_id}`"
            f"{link}; impact as published: {found.impact}. The analysis is still to be written."
        )
        if unknown:
            lines.append(
                f"Components the page names that the catalogue lacks: {', '.join(unknown)}."
            )
        if found.postmortem:
            lines.append(f"## Postmortem published by the page\n\n{found.postmortem}")
        return {
            "title": found.title,
            "status": "draft",
            "visibility": "organisation",
            "severity": found.severity,
            "started_at": iso(found.started_at),
            "resolved_at": iso(found.resolved_at),
            "components": components,
            "body": "\n\n".join(lines),
            "timeline": [
                {"at": iso(row["at"]), "at_text": row["at_text"], "text": row["text"]}
                for row in found.rows
            ],
            "source_url": found.link,
        }

    def _import(self, found: SourceIncident, options):
        organisation = options["organisation"]
        components, unknown = self.component_slugs(found.components)
        for name in unknown:
            self.unmatched[name] = self.unmatched.get(name, 0) + 1
        self.corrections += found.corrections
        record = (
            StatusPageIncident.objects.select_for_update()
            .filter(organisation=organisation, source=found.source, incident_id=found.incident_id)
            .first()
        )
        created_record = record is None
        if record is None:
            record = StatusPageIncident(
                organisation=organisation, source=found.source, incident_id=found.incident_id
            )
        facts = {
            "title": found.title,
            "impact": found.impact,
            "severity": found.severity,
            "started_at": found.started_at,
            "resolved_at": found.resolved_at,
            "first_update_at": found.first_update_at,
            "link": found.link,
            "unmatched_components": unknown,
            "postmortem_published_at": found.postmortem_published_at,
        }
        changed_facts = created_record or any(
            getattr(record, name) != value for name, value in facts.items()
        )
        for name, value in facts.items():
            setattr(record, name, value)
        fields = self.fields(found, unknown, components)
        note = "; ".join(found.corrections)
        report = record.report if not created_record else None
        if not created_record and report is None:
            if changed_facts:
                record.save()
            return "skipped", "its report was deleted; the incident is kept, not re-drafted"
        if report is not None and report.revision != record.imported_revision:
            # Edited by someone else: upstream news waits on the source record.
            have = {(entry.at, entry.text) for entry in report.timeline.all()}
            pending = [
                row
                for row in fields["timeline"]
                if (parse_time(row["at"]), row["text"]) not in have
            ]
            if pending != record.pending_updates or changed_facts:
                record.pending_updates = pending
                record.save()
                return "skipped", (
                    f"edited since imported: {len(pending)} upstream update(s) kept as pending"
                )
            return "unchanged", note
        outcome, document = import_document(
            model=FailureReport,
            organisation=organisation,
            slug=report.slug
            if report is not None
            else report_slug(found.source, found.incident_id),
            fields=fields,
            actor=options["actor"],
        )
        if outcome != "unchanged" or changed_facts or record.report_id != document.pk:
            record.report = document
            record.imported_revision = document.revision
            record.pending_updates = []
            record.save()
        return outcome, note

    def finish(self, options) -> dict:
        notes = list(self.notes)
        if self.unmatched:
            counts = ", ".join(f"{name} ({n})" for name, n in sorted(self.unmatched.items()))
            notes.append(f"components not in the catalogue, kept on the source records: {counts}")
        if self.corrections:
            notes.append(f"{len(self.corrections)} incident(s) with corrected times")
        return {"notes": notes}


def read_uploaded(data, *, fmt: str = "auto", source: str | None = None, name: str = "upload"):
    """(name, SourceIncident | ImportFailure) of one uploaded JSON document (never a URL:
    uploads are data; only the command fetches pages)."""
    try:
        incidents = read_incidents(data, fmt=fmt, source=source)
    except ImportFailure as failure:
        return [(name, failure)]
    return [(f"{i.source}/{i.incident_id}", i) for i in incidents]


def read_tree(root: Path, *, fmt: str = "auto", source: str | None = None):
    """The incidents of every JSON file under `root` (an unpacked upload), by file."""
    found = []
    for path in sorted(root.rglob("*.json")):
        if path.is_symlink() or any(part.startswith(".") for part in path.parts[-1:]):
            continue
        name = str(path.relative_to(root))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            found.append((name, ImportFailure(f"not a JSON file: {error}")))
            continue
        read = read_uploaded(data, fmt=fmt, source=source, name=name)
        if len(read) == 1 and not isinstance(read[0][1], ImportFailure):
            read = [(name, read[0][1])]
        found += read
    return found


@transaction.atomic
def apply_pending_updates(*, record: StatusPageIncident, actor, if_match):
    """Append the upstream updates waiting on `record` to its report's timeline (in time
    order), as `actor`, through document_update like any write; then nothing is pending.
    Returns (report, changed)."""
    from opsknowledge import services

    report = FailureReport.objects.select_related("organisation").get(pk=record.report_id)
    rows = [
        {"at": iso(entry.at), "at_text": entry.at_text, "text": entry.text}
        for entry in report.timeline.all()
    ]
    rows += record.pending_updates
    timed = sorted((row for row in rows if row["at"]), key=lambda row: parse_time(row["at"]))
    report, changed = services.document_update(
        document=report,
        data={"timeline": timed + [row for row in rows if not row["at"]]},
        actor=actor,
        if_match=if_match,
        message=f"Applied {len(record.pending_updates)} update(s) from status page {record.source}",
    )
    record.pending_updates = []
    record.save(update_fields=["pending_updates", "last_imported"])
    return report, changed
