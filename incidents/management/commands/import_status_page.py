"""`import_status_page SOURCE --organisation ORG`: status-page incidents (a folder of JSON
files, one JSON file, or the http(s) base URL of a live page) as failure-report drafts of an
organisation, with a source record each (incidents.statuspage). Safe to run from cron: the
key is (organisation, source, incident id), and a re-run changes only what changed
upstream."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import CommandError

from incidents import statuspage
from opsknowledge.importing import ImportCommand, ImportFailure


def read_json_file(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ImportFailure(f"not a JSON file: {error}") from None


def parse_day(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--since {value!r}: give a date as YYYY-MM-DD.") from None


def read_source(source: str, options) -> tuple[list, list[str]]:
    """(name, SourceIncident | ImportFailure) pairs of a folder, a file or a URL, and notes
    about the whole source."""
    fmt, name = options["format"], options["source"]
    notes = []
    if source.startswith(("http://", "https://")):
        name = name or (urlsplit(source).hostname if fmt == "scs" else None)
        fetch = {
            "timeout": options["timeout"],
            "retries": options["retries"],
            "backoff": options["backoff"],
        }
        try:
            if fmt == "scs":
                data = statuspage.pull_scs(
                    source,
                    options["since"],
                    fetch=lambda url: statuspage.fetch_json(url, **fetch),
                )
            else:
                data, notes = statuspage.pull_statuspage(
                    source, fetch=lambda url: statuspage.fetch_json(url, **fetch)
                )
        except statuspage.Unreachable as error:
            raise CommandError(f"{error}.") from None
        if options["dump"]:
            Path(options["dump"]).write_text(json.dumps(data, indent=1), encoding="utf-8")
        files = [(source, data)]
    else:
        path = Path(source)
        if path.is_dir():
            files = [(p.name, p) for p in sorted(path.glob("*.json")) if not p.name.startswith(".")]
        elif path.is_file():
            files = [(path.name, path)]
        else:
            raise CommandError(f"{source} is neither a folder, a file nor an http(s) URL.")
    found = []
    for file_name, content in files:
        try:
            data = read_json_file(content) if isinstance(content, Path) else content
            incidents = statuspage.read_incidents(
                data, fmt=fmt, source=name, base_url="" if isinstance(content, Path) else source
            )
        except ImportFailure as failure:
            if fmt == "scs" and not name:
                raise CommandError("--source NAME is required for an SCS file.") from None
            found.append((file_name, failure))
            continue
        single = len(incidents) == 1 and file_name.endswith(".json")
        found += [(file_name if single else f"{i.source}/{i.incident_id}", i) for i in incidents]
    return found, notes


class Command(ImportCommand):
    help = (
        "Import status-page incidents (Statuspage v2 or SCS status page API; a folder, a "
        "JSON file or a live page's URL) as failure-report drafts of an organisation."
    )
    status_choices = ("draft",)

    def add_arguments(self, parser):
        parser.add_argument("page", help="folder of JSON files, a JSON file, or an http(s) URL")
        super().add_arguments(parser)
        parser.add_argument("--format", choices=["auto", "statuspage", "scs"], default="auto")
        parser.add_argument(
            "--source", help="the page's name (SCS: required for files; default the URL's host)"
        )
        parser.add_argument(
            "--since", help="only incidents started on or after YYYY-MM-DD (SCS: one year ago)"
        )
        parser.add_argument(
            "--component-map",
            type=Path,
            help="YAML/JSON file mapping the page's component names to slugs or 'ignore'",
        )
        parser.add_argument("--dump", help="write what a live pull fetched to this file")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
        parser.add_argument("--retries", type=int, default=3, help="retries of a failed request")
        parser.add_argument("--backoff", type=float, default=1.0, help="first wait, doubling")

    def handle(self, *args, **options):
        since = parse_day(options["since"]) if options["since"] else None
        if options["page"].startswith(("http://", "https://")) and options["format"] == "auto":
            options["format"] = "statuspage"
        options["since"] = since or datetime.now(UTC) - timedelta(days=365)
        try:
            component_map = statuspage.read_component_map(options["component_map"])
        except ImportFailure as failure:
            raise CommandError(str(failure)) from None
        incidents, notes = read_source(options["page"], options)
        self.importer = statuspage.StatusPageImporter(
            incidents, component_map=component_map, since=since, notes=notes
        )
        return super().handle(*args, **options)
