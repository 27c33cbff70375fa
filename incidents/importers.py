"""Reading postmortems written in Markdown into the fields of a failure report.

The layout is the one DFDS Cloud Engineering publishes (and many teams copy): `# Title`, then
Summary, Timeline (a `| Time | Event |` table), Contributing Factors, Action Items, Lessons
Learned, Attendees and Stats (Category, Time to detection, Time to recovery). Real reports
bend it: heading levels and spellings vary, timestamps carry typos or placeholders, "CET"
means Copenhagen local time (CEST in summer), Stats values are "?" or "11 Days".

`parse_report()` keeps what it can read and returns notes about what it could not; nothing
the author wrote is dropped, since `body` always holds the whole original Markdown. The
result is in the API's vocabulary (FailureReportSerializer field names), ready for
`opsknowledge.importing.import_document`. Parsing is deterministic, so importing the same
file twice yields the same fields (and no new revision).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from django.utils.text import slugify

from opsknowledge import markdown
from opsknowledge.importing import (
    ImportFailure,
    import_document,
    is_markdown_file,
    prune_missing,
    publication_fields,
    read_markdown,
)
from opsknowledge.models import Component
from opsknowledge.references import slug_from_file_name

from .models import FailureReport

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MAX_TITLE = 300  # Document.title
MAX_ACTION_TITLE = 500  # ActionItem.title
MAX_AT_TEXT = 100  # TimelineEntry.at_text
MAX_NAME = 200  # an attendee
EXAMPLES_IN_NOTE = 3

# Normalised heading text → the part of the report it holds.
SECTION_KEYS = {
    "summary": "summary",
    "timeline": "timeline",
    "impact": "impact",
    "trigger": "trigger",
    "root cause": "root_cause",
    "root causes": "root_cause",
    "contributing factors": "contributing_factors",
    "contributing factor": "contributing_factors",
    "resolution": "resolution",
    "recovery": "resolution",
    "lessons learned": "lessons_learned",
    "lessons learnt": "lessons_learned",
    "action items": "action_items",
    "attendees": "attendees",
    "atendees": "attendees",  # sic, in a real report
    "participants": "attendees",
    "stats": "stats",
    "statistics": "stats",
}


@dataclass
class ParsedReport:
    fields: dict
    notes: list[str] = field(default_factory=list)
    front_matter: dict = field(default_factory=dict)  # e.g. a `slug` (API.md)


def parse_report(text: str, file_name: str) -> ParsedReport:
    """The failure report fields of one postmortem, and notes on what could not be read.
    Front matter wins over what the body says (title, dates, severity, services, tags,
    source URL, and every field an export writes). Raises ImportFailure when the text is
    not recognisable as a postmortem at all, or its front matter is unusable."""
    source = read_markdown(text)
    body = source.body
    notes: list[str] = []
    front = front_matter_fields(source.front_matter, notes)
    sections = split_sections(body)
    if not sections and not front:
        raise ImportFailure(
            "no postmortem sections found (expected headings such as Summary, Timeline, "
            "Contributing Factors)"
        )
    title = front.get("title") or report_title(body) or display_name(file_name)
    summary = sections.get("summary", "")
    year = year_in_name(file_name)
    start = front.get("started_at")
    if "timeline" in front:
        timeline = Timeline(front["timeline"])
    else:
        timeline = read_timeline(
            sections.get("timeline", ""),
            fallback_day=front_day(start, sections.get("timeline", ""))
            or date_in_text(f"{title}\n{summary}", year),
            expected_year=year,
            fallback_from="started_at" if start else "the report's text",
        )
        notes += timeline.notes
    stats, stats_notes = read_stats(sections.get("stats"))
    if "stats" in sections or not front:
        notes += stats_notes
    action_items, action_notes = read_action_items(sections.get("action_items", ""))
    notes += action_notes
    fields = {
        "title": title[:MAX_TITLE],
        "summary": summary,
        "body": body,
        # DFDS summaries describe the impact, and their contributing factors are the causes.
        "impact": sections.get("impact") or summary,
        "root_cause": sections.get("root_cause") or sections.get("contributing_factors", ""),
        "trigger": sections.get("trigger", ""),
        "resolution": sections.get("resolution", ""),
        "contributing_factors": sections.get("contributing_factors", ""),
        "lessons_learned": sections.get("lessons_learned", ""),
        "timeline": timeline.entries,
        "action_items": action_items,
        "attendees": read_attendees(sections.get("attendees", "")),
        **stats,
        **timeline_milestones(timeline),
    }
    if "tags" in front:
        front["tags"] = sorted({*fields["tags"], *front["tags"]})
    fields.update(front)
    return ParsedReport(fields=fields, notes=notes, front_matter=source.front_matter)


# -- front matter -----------------------------------------------------------------------

# Front matter names → report fields. The report's own field names (what export_incidents
# writes) are read as they are; the others are the names postmortem templates use.
FRONT_MATTER_NAMES = {
    "started": "started_at",
    "start": "started_at",
    "began_at": "started_at",
    "detected": "detected_at",
    "resolved": "resolved_at",
    "ended_at": "resolved_at",
    "ended": "resolved_at",
    "services": "components",
    "service": "components",
    "component": "components",
    "url": "source_url",
    "source": "source_url",
    "link": "source_url",
}
TIMES = ("started_at", "detected_at", "resolved_at")
TEXTS = ("summary", "impact", "trigger", "root_cause", "resolution", "contributing_factors",
         "lessons_learned", "visibility", "status", "license", "language")  # fmt: skip
LISTS = ("components", "tags", "attendees")
# As the report's front matter comes: the rows and items of an export, or what a person
# wrote; the write services judge them like the API's.
AS_WRITTEN = ("timeline", "action_items", "runbooks", "stated_time_to_detect",
              "stated_time_to_resolve", "last_reviewed",
              # An exported published report whose warnings its publisher acknowledged.
              "acknowledge_warnings")  # fmt: skip
SEVERITY_WORDS = {"critical": "sev1", "major": "sev2", "high": "sev2", "minor": "sev3",
                  "medium": "sev3", "low": "sev4"}  # fmt: skip


def front_matter_fields(front: dict, notes: list[str]) -> dict:
    """The report fields the front matter sets. A title that is not text fails the file;
    values that cannot be read are noted and left to the body."""
    fields, ignored = {}, []
    for key, value in front.items():
        name = FRONT_MATTER_NAMES.get(key.lower(), key.lower())
        if name == "slug":
            continue  # the command's business
        if name == "title":
            if not isinstance(value, str):
                raise ImportFailure(
                    f"front matter 'title' must be text, not {type(value).__name__}"
                )
            fields["title"] = " ".join(markdown.parse(value).prose()) or value.strip()
        elif name in TIMES:
            moment = front_time(value)
            if moment is None:
                notes.append(f"front matter '{key}' {value!r} is not a date and time; ignored")
            else:
                fields[name] = moment
        elif name == "severity":
            severity = read_severity(value)
            if severity is None:
                notes.append(f"front matter severity {value!r} is not sev1…sev4; ignored")
            else:
                fields["severity"] = severity
        elif name in LISTS:
            values = value if isinstance(value, list) else [value]
            fields[name] = [str(item) for item in values if item is not None]
        elif name == "source_url":
            if isinstance(value, str) and re.match(r"https?://\S+$", value.strip()):
                fields[name] = value.strip()
            else:
                notes.append(f"front matter '{key}' {value!r} is not an http(s) URL; ignored")
        elif name in TEXTS:
            fields[name] = "" if value is None else str(value)
        elif name in AS_WRITTEN:
            fields[name] = value
        else:
            ignored.append(key)
    if ignored:
        notes.append(f"front matter keys ignored: {', '.join(sorted(ignored))}")
    return fields


def front_time(value) -> str | None:
    """A front matter time as the API takes it (ISO 8601, UTC): YAML timestamps, ISO text
    ("2024-03-01T14:05:00+01:00", "2024-03-01 14:05 UTC"); a time without a zone is UTC,
    a date alone its midnight."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    elif isinstance(value, str):
        text = value.strip().removesuffix("UTC").strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_utc(moment)


def front_day(started_at: str | None, section: str) -> date | None:
    """The day started_at falls on in the timeline's zone: where rows with a time only are."""
    if not started_at:
        return None
    found = timeline_rows(section)
    zone = timeline_zone(found)[0] if found else UTC
    return datetime.fromisoformat(started_at.replace("Z", "+00:00")).astimezone(zone).date()


def read_severity(value) -> str | None:
    """ "sev2", "SEV-2", "2", 2, "P2", "major" → "sev2"."""
    text = str(value).strip().lower()
    if text in SEVERITY_WORDS:
        return SEVERITY_WORDS[text]
    match = re.fullmatch(r"(?:sev|p)?[\s-]?([1-4])", text)
    return f"sev{match.group(1)}" if match else None


# -- names and titles -------------------------------------------------------------------


def display_name(file_name: str) -> str:
    """The file name without a Markdown extension; other dots are part of the name."""
    lower = file_name.lower()
    for extension in (".md", ".markdown"):
        if lower.endswith(extension):
            return file_name[: -len(extension)]
    return file_name


def year_in_name(file_name: str) -> int | None:
    """The year a report's file name carries ("PM2020-003 - ..." → 2020)."""
    match = re.search(r"(?<!\d)((?:19|20)\d\d)(?!\d)", file_name)
    return int(match.group(1)) if match else None


def report_title(body: str) -> str | None:
    """The first top-level heading that is not itself a section name."""
    for heading in markdown.parse(body).headings:
        if heading.level == 1 and normalise_heading(heading.source) not in SECTION_KEYS:
            return heading.source
    return None


# -- sections ---------------------------------------------------------------------------


def normalise_heading(text: str) -> str:
    """ "Contributing Factors (findings)" → "contributing factors"."""
    text = re.sub(r"\(.*?\)", " ", text.lower())
    return " ".join(re.sub(r"[^a-z]+", " ", text).split())


def split_sections(body: str) -> dict[str, str]:
    """Known sections by key. A section runs to the next heading of its level or above, so
    `# Stats` after `##` sections and `###` subsections inside a section both work; the
    first section of each kind wins."""
    sections = {}
    for section in markdown.parse_sections(body).walk():
        key = SECTION_KEYS.get(normalise_heading(section.title))
        if key is not None and key not in sections:
            sections[key] = without_placeholder(section.text.strip())
    return sections


def without_placeholder(text: str) -> str:
    """Template leftovers such as a lone "-" are no content."""
    return text if re.search(r"[^\W_]", text) else ""


# -- tables and lists -------------------------------------------------------------------

SEPARATOR_CELL = re.compile(r"^:?-+:?$")
LIST_ITEM = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s")


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


def table_cells(line: str) -> list[str]:
    """The cells of a pipe-table row; the closing pipe is optional (some rows lack it)."""
    line = line.strip()
    line = line.removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]


def is_table_line(line: str) -> bool:
    return line.lstrip().startswith("|")


def tables(text: str) -> list[Table]:
    """Pipe tables (a header row, a separator row, data rows) in `text`."""
    found, block = [], []
    for line in [*text.split("\n"), ""]:
        if is_table_line(line):
            block.append(line)
            continue
        if len(block) >= 2 and all(SEPARATOR_CELL.match(c) for c in table_cells(block[1]) if c):
            found.append(
                Table(
                    header=table_cells(block[0]),
                    rows=[table_cells(row) for row in block[2:] if any(table_cells(row))],
                )
            )
        block = []
    return found


def continues_item(line: str, after_blank: bool) -> bool:
    """A wrapped line of the list item above: directly below it, or indented after a blank
    line. Link and footnote definitions ("[kiam-pr]: https://...") belong to no item."""
    if not line.strip() or is_table_line(line) or REFERENCE_DEFINITION.match(line):
        return False
    return not after_blank or line.startswith((" ", "\t"))


def list_items(text: str) -> list[str]:
    """Top-level list items, with wrapped lines joined and nested items folded into their
    parent ("Parent: child one; child two") so nothing written is lost."""
    items: list[list[str]] = []  # [parent text, child texts...]
    top_indent, after_blank = None, False
    for line in text.split("\n"):
        match = LIST_ITEM.match(line)
        if match:
            indent = len(match.group("indent").expandtabs(4))
            if top_indent is None or indent <= top_indent:
                top_indent = indent
                items.append([match.group("text").strip()])
            elif items:
                items[-1].append(match.group("text").strip())
        elif items and continues_item(line, after_blank):
            items[-1][-1] = f"{items[-1][-1]} {line.strip()}".strip()
        after_blank = not line.strip()
    folded = []
    for parent, *children in items:
        children = [child for child in children if without_placeholder(child)]
        folded.append(f"{parent}: {'; '.join(children)}" if children else parent)
    return [item for item in folded if without_placeholder(item)]


def note_examples(examples: list[str]) -> str:
    shown = ", ".join(examples[:EXAMPLES_IN_NOTE])
    more = len(examples) - EXAMPLES_IN_NOTE
    return f"{shown} and {more} more" if more > 0 else shown


# -- dates and times --------------------------------------------------------------------

MONTHS = "|".join(calendar.month_name[1:])
MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
ISO_DATE = re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)(?!\d)")
DAY_MONTH = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?(?P<month>{MONTHS})\b"
    r"(?:,?\s+(?P<year>\d{4}))?",
    re.IGNORECASE,
)
MONTH_DAY = re.compile(
    rf"\b(?P<month>{MONTHS})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}}))?",
    re.IGNORECASE,
)
CELL_DATE = re.compile(r"(?P<year>\d{4,5})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)T?")
CELL_TIME = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d\d)(?::(?P<second>\d\d))?(?!\d)")
ZONE_NAME = re.compile(r"\b(UTC|GMT|CEST|CET)\b")
# A zone written right after a time ("14:05 UTC", "14:05Z", "09:00 CEST").
TIME_ZONE = re.compile(r"(?:\s*(?P<name>UTC|GMT|CEST|CET)\b|(?P<z>Z)(?![A-Za-z]))")
# A zone the Timeline section states for all its times ("All times in CET", "Times are UTC").
STATED_ZONE = re.compile(r"\btimes?\b[^.\n]{0,40}?\b(UTC|GMT|CEST|CET)\b", re.IGNORECASE)


def zone_named(name: str) -> tzinfo:
    """ "CET" in reports is the local time of central Europe: CEST in summer, so a zone
    with its rules, not a fixed offset."""
    return COPENHAGEN if name.upper() in ("CET", "CEST") else UTC


def date_in_text(text: str, default_year: int | None) -> date | None:
    """The first date written in prose ("Monday 3. February 2020", "January 21st",
    "2021-06-22"); a date without a year takes `default_year`."""
    candidates = []
    for pattern in (ISO_DATE, DAY_MONTH, MONTH_DAY):
        match = pattern.search(text)
        if match:
            candidates.append(match)
    for match in sorted(candidates, key=lambda m: m.start()):
        month = match.group("month")
        month = MONTH_NUMBERS[month.lower()] if month.isalpha() else int(month)
        year = int(match.group("year")) if match.group("year") else default_year
        if year is None:
            continue
        try:
            return date(year, month, int(match.group("day")))
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class TimeReading:
    """One timeline time cell, read: `at` (UTC) when the time is known, `day` when at least
    the date is (later rows inherit it), `problem` says what was recovered or unreadable."""

    at: datetime | None
    day: date | None
    problem: str = ""
    inherited: bool = False  # the date came from an earlier row or the report


def read_year(text: str, expected_year: int | None) -> tuple[int | None, str]:
    """A four-digit year, or a five-digit typo ("20202") that is one stray digit away from
    the year the report is about."""
    if len(text) == 4:
        return int(text), ""
    candidates = {text[:i] + text[i + 1 :] for i in range(len(text))}
    if expected_year is not None and str(expected_year) in candidates:
        return expected_year, f"year {text} read as {expected_year}"
    return None, f"year {text} unreadable"


def read_time(
    cell: str,
    *,
    zone: tzinfo = UTC,
    carried_day: date | None = None,
    fallback_day: date | None = None,
    expected_year: int | None = None,
    after: datetime | None = None,
    fallback_from: str = "the report's text",
) -> TimeReading:
    """Read a timeline time cell ("2020-06-09 11:00", "10:45", "2020-11-17 10:45~",
    "2019-12-03 --:--", "2020-10-06 09:00 - 11:00", "14:05 UTC") written in `zone` unless
    the cell names its own.

    A cell with only a time takes the date of the previous row (`carried_day`), else the
    date the report gives (`fallback_day`); when that makes it earlier than the row before
    (`after`), it is the next day."""
    text = " ".join(cell.split())
    problems = []
    if "~" in text:  # "10:45~", "~19:30": approximately then
        text = text.replace("~", "").strip()
        problems.append("approximate")
    day = None
    date_match = CELL_DATE.match(text)
    if date_match:
        year, year_problem = read_year(
            date_match.group("year"), carried_day.year if carried_day else expected_year
        )
        if year_problem:
            problems.append(year_problem)
        try:
            day = date(year, int(date_match.group("month")), int(date_match.group("day")))
        except (TypeError, ValueError):
            return TimeReading(None, None, "; ".join(problems) or "unreadable date")
        text = text[date_match.end() :].strip()
        if not text:
            return TimeReading(None, day, "; ".join([*problems, "no time of day"]))
    time_match = CELL_TIME.match(text)
    if time_match is None:
        return TimeReading(
            None, day, "; ".join([*problems, "unreadable time" if day else "unreadable"])
        )
    inherited = day is None
    if inherited:
        day = carried_day or fallback_day
        if day is None:
            return TimeReading(None, None, "; ".join([*problems, "a time without a date"]))
        if carried_day is None:
            problems.append(f"date {day.isoformat()} taken from {fallback_from}")
    hour, minute = int(time_match.group("hour")), int(time_match.group("minute"))
    second = int(time_match.group("second") or 0)
    if hour > 23 or minute > 59 or second > 59:
        return TimeReading(None, day, "; ".join([*problems, "unreadable time"]))
    rest = text[time_match.end() :]
    own_zone = TIME_ZONE.match(rest)
    if own_zone:
        zone = zone_named(own_zone.group("name") or "UTC")
        rest = rest[own_zone.end() :]
    rest = rest.strip()
    if rest:
        if not rest.startswith("-"):
            return TimeReading(None, day, "; ".join([*problems, "unreadable time"]))
        problems.append("a time range; its start is used")
    local = datetime.combine(day, time(hour, minute, second), tzinfo=zone)
    if inherited and after is not None and local < after:
        local += timedelta(days=1)
        day = local.date()
        problems.append("the next day (earlier than the row before)")
    return TimeReading(local.astimezone(UTC), day, "; ".join(problems), inherited)


def iso_utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


# -- timeline ---------------------------------------------------------------------------


def timeline_table(section: str) -> Table | None:
    """The first table whose first column holds times ("Time", "Date and Time in CET")."""
    for table in tables(section):
        if len(table.header) >= 2 and re.search(r"time|date", table.header[0], re.IGNORECASE):
            return table
    return None


# A time at the start of a heading or list item: "2024-03-01 14:05", "14:05 UTC", "**14:05**".
ROW_TIME = re.compile(
    r"^(?P<mark>\*\*|__)?(?P<time>~?(?:\d{4,5}-\d{1,2}-\d{1,2}(?:[ T]+~?\d{1,2}:\d\d(?::\d\d)?)?"
    r"|\d{1,2}:\d\d(?::\d\d)?)~?(?:\s*(?:UTC|GMT|CEST|CET)\b|Z\b)?)(?P=mark)?"
)
ROW_SEPARATOR = re.compile(r"^\s*(?:[—–|:]|-(?!\d))\s*")
HEADING_LINE = re.compile(r"^ {0,3}#{2,6}\s+(?P<text>.*?)\s*#*\s*$")


@dataclass
class TimelineRows:
    """The rows of a Timeline section as written: (time text, event text) pairs, how they
    were written (a table, sub-headings, list items) and the text around them."""

    rows: list[tuple[str, str]]
    layout: str
    prose: str
    header: str = ""


def row_start(text: str) -> tuple[str, str] | None:
    """(time, rest) when `text` starts with a time, else None."""
    match = ROW_TIME.match(text.strip())
    if match is None:
        return None
    rest = ROW_SEPARATOR.sub("", text.strip()[match.end() :], count=1)
    return match.group("time"), rest.strip()


def heading_rows(section: str) -> TimelineRows | None:
    """`### 2024-03-01 14:05` sub-headings, each row's text what follows it."""
    rows, prose, current = [], [], None
    for line in section.split("\n"):
        heading = HEADING_LINE.match(line)
        start = row_start(heading.group("text")) if heading else None
        if start is not None:
            current = [start[0], [start[1]] if start[1] else []]
            rows.append(current)
        elif heading is not None:
            current = None
            prose.append(line)
        elif current is not None:
            current[1].append(line)
        else:
            prose.append(line)
    if not rows:
        return None
    return TimelineRows(
        [(at, "\n".join(lines).strip()) for at, lines in rows], "sub-headings", "\n".join(prose)
    )


def list_rows(section: str) -> TimelineRows | None:
    """List items that start with a time: `- 14:05 UTC — text`, `- **14:05** text`."""
    rows = []
    for item in list_items(section):
        start = row_start(item)
        if start is not None:
            rows.append(start)
    if not rows:
        return None
    prose = "\n".join(line for line in section.split("\n") if not LIST_ITEM.match(line))
    return TimelineRows(rows, "list items", prose)


def timeline_rows(section: str) -> TimelineRows | None:
    table = timeline_table(section)
    if table is not None:
        prose = "\n".join(line for line in section.split("\n") if not is_table_line(line))
        rows = [(cells[0], " | ".join(cell for cell in cells[1:] if cell)) for cells in table.rows]
        return TimelineRows(rows, "a table", prose, header=table.header[0])
    return heading_rows(section) or list_rows(section)


def timeline_zone(found: TimelineRows) -> tuple[tzinfo, str]:
    """The zone the section states for its times ("All times in UTC.", a "... in CET"
    column) and the name it was stated as ("" when the report does not say)."""
    match = STATED_ZONE.search(found.prose) or ZONE_NAME.search(f"{found.header}\n{found.prose}")
    if match is None:
        return UTC, ""
    name = match.group(1).upper()
    return zone_named(name), name


@dataclass
class Timeline:
    entries: list[dict] = field(default_factory=list)
    started_at: str | None = None
    notes: list[str] = field(default_factory=list)


def start_of(readings: list[TimeReading]) -> TimeReading | None:
    """The first readable row, unless rows before it name an earlier or unknown day: then
    the start is not known (a report whose first rows say "2020-12-21 HH:mm")."""
    for index, reading in enumerate(readings):
        if reading.at is not None:
            earlier = readings[:index]
            return reading if all(row.day == reading.day for row in earlier) else None
    return None


def read_timeline(
    section: str,
    *,
    fallback_day: date | None,
    expected_year: int | None,
    fallback_from: str = "the report's text",
) -> Timeline:
    """Timeline entries {at, at_text, text}, the start and notes. Rows whose time cannot be
    read are kept (at None, the time as written in at_text); dates carry from row to row,
    and a time earlier than the row before is on the next day."""
    found = timeline_rows(section)
    if found is None:
        return Timeline(notes=["no timeline found (a table, time sub-headings or a time list)"])
    zone, zone_name = timeline_zone(found)
    entries, readings, unreadable, recovered = [], [], [], []
    carried_day, previous, summer = None, None, False
    for raw, text in found.rows:
        reading = read_time(
            raw,
            zone=zone,
            carried_day=carried_day,
            fallback_day=fallback_day,
            expected_year=expected_year,
            after=previous,
            fallback_from=fallback_from,
        )
        readings.append(reading)
        carried_day = reading.day or carried_day
        if reading.at is not None:
            previous = reading.at.astimezone(zone)
        if reading.at is None:
            unreadable.append(f"{raw!r} ({reading.problem})")
        elif reading.problem:
            recovered.append(f"{raw!r} ({reading.problem})")
        summer = summer or bool(
            reading.at and zone is COPENHAGEN and reading.at.astimezone(zone).dst()
        )
        entries.append(
            {
                "at": iso_utc(reading.at),
                "at_text": raw[:MAX_AT_TEXT] if reading.problem else "",
                "text": text or "(no event text)",
            }
        )
    notes = []
    if found.layout != "a table":
        notes.append(f"timeline read from {found.layout} ({len(entries)} rows)")
    if not zone_name:
        notes.append("the timeline does not name its time zone; read as UTC")
    if summer:
        notes.append(f"timeline in {zone_name}: summer times read as CEST (Europe/Copenhagen)")
    if recovered:
        notes.append(f"timeline times recovered: {note_examples(recovered)}")
    if unreadable:
        notes.append(
            f"{len(unreadable)} timeline row(s) kept without a readable time: "
            f"{note_examples(unreadable)}"
        )
    start = start_of(readings)
    if start is None and any(reading.at for reading in readings):
        notes.append("started_at left empty: the timeline begins with rows without a time")
    return Timeline(entries, iso_utc(start.at) if start else None, notes)


MILESTONE = re.compile(r"^\s*\*\*(?P<label>[^*:]+?)\s*:?\s*\*\*")
DETECTED_LABELS = ("detection", "detected", "discovery", "discovered")
RESOLVED_LABELS = ("recovery", "recovered", "resolution", "resolved")


def timeline_milestones(timeline: Timeline) -> dict:
    """started_at, and detected_at/resolved_at only where a row says so outright
    ("**Detection:** ...", "**Recovery:** ...") and not before the start."""
    started = timeline.started_at
    milestones = {"started_at": started}
    readable = [entry for entry in timeline.entries if entry["at"]] if started else []
    for name, labels in (("detected_at", DETECTED_LABELS), ("resolved_at", RESOLVED_LABELS)):
        for entry in readable:
            match = MILESTONE.match(entry["text"])
            # ISO timestamps in UTC compare correctly as strings.
            if match and match.group("label").lower() in labels and entry["at"] >= started:
                milestones[name] = entry["at"]
                break
    return milestones


# -- stats ------------------------------------------------------------------------------

DURATION_PART = re.compile(
    r"(?P<number>\d+(?:[.,]\d+)?)\s*(?P<unit>weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m"
    r"|seconds?|secs?|s)(?![a-z])",
    re.IGNORECASE,
)
UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
STAT_LINE = re.compile(r"^\s*(?:[-*+]\s+)?(?P<key>[^:]+?)\s*:\s*(?P<value>.*?)\s*$")


def parse_duration(text: str) -> int | None:
    """Seconds in "5 minutes", "1h 30m", "19 hours 43 minutes.", "11 Days", "1:30";
    None for "?", "N/A" and anything else that is not clearly a duration."""
    text = re.sub(r"\[\^[^\]]*\]", "", text).strip().rstrip(".").strip()  # footnote marks
    clock = re.fullmatch(r"(\d+):(\d\d)", text)
    if clock:
        return int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
    parts = list(DURATION_PART.finditer(text))
    leftover = DURATION_PART.sub(" ", text)
    if not parts or re.sub(r"\band\b|[,\s]", "", leftover, flags=re.IGNORECASE):
        return None
    seconds = sum(
        float(part.group("number").replace(",", ".")) * UNIT_SECONDS[part.group("unit")[0].lower()]
        for part in parts
    )
    return round(seconds)


def tag_for(category: str) -> str:
    """ "Self-service" → "self-service", "Kubernetes network" → "kubernetes-network"."""
    return re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")


def read_stats(section: str | None) -> tuple[dict, list[str]]:
    """tags (from Category) and the stated times to detect and to resolve, in seconds."""
    stats = {"tags": [], "stated_time_to_detect": None, "stated_time_to_resolve": None}
    if section is None:
        return stats, ["no Stats section: no category or stated times"]
    notes = []
    for line in section.split("\n"):
        match = STAT_LINE.match(line)
        if not match:
            continue
        key, value = match.group("key").strip().lower(), match.group("value")
        if key in ("category", "categories"):
            tags = (tag_for(part) for part in re.split(r"[,;]", value))
            stats["tags"] = sorted({*stats["tags"], *(tag for tag in tags if tag)})
        elif key.startswith("time to detect"):
            stats["stated_time_to_detect"] = parse_duration(value)
            if stats["stated_time_to_detect"] is None:
                notes.append(f"time to detection {value!r} is not a duration")
        elif key.startswith(("time to recover", "time to resol")):
            stats["stated_time_to_resolve"] = parse_duration(value)
            if stats["stated_time_to_resolve"] is None:
                notes.append(f"time to recovery {value!r} is not a duration")
    return stats, notes


# -- action items and attendees ---------------------------------------------------------

CHECKBOX = re.compile(r"^\[(?P<mark>[ xX])\]\s*")
DONE_MARK = re.compile(r"\((?:done|completed|fixed)\)|^done\b\s*:", re.IGNORECASE)
INLINE_OWNER = re.compile(r"\((?:owner|assignee|assigned to)\s*:?\s*(?P<owner>[^)]+)\)", re.I)
INLINE_DUE = re.compile(r"\bdue\s*:?\s*(?P<due>\d{4}-\d\d-\d\d)\b", re.IGNORECASE)
DONE_WORDS = {"done", "closed", "complete", "completed", "fixed", "resolved", "yes", "x", "[x]"}
STATUS_WORDS = {
    "in progress": "in_progress",
    "in_progress": "in_progress",
    "ongoing": "in_progress",
    "wip": "in_progress",
    "won't do": "wont_do",
    "wont do": "wont_do",
    "wont_do": "wont_do",
    "cancelled": "wont_do",
    "canceled": "wont_do",
}
COLUMN_WORDS = {
    "title": ("action", "item", "title", "task", "description", "what"),
    "owner": ("owner", "assignee", "who", "responsible"),
    "status": ("status", "state", "done"),
    "due": ("due", "deadline", "date", "when"),
}


def iso_date(text: str) -> str | None:
    match = ISO_DATE.search(text)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(0)).isoformat()
    except ValueError:
        return None


def action_status(text: str) -> str:
    word = text.strip().lower()
    if word in DONE_WORDS or "✅" in word or "✔" in word:
        return "done"
    return STATUS_WORDS.get(word, "open")


def action_title(text: str, notes: list[str]) -> str:
    if len(text) > MAX_ACTION_TITLE:
        notes.append(f"an action item was shortened to {MAX_ACTION_TITLE} characters")
        return text[: MAX_ACTION_TITLE - 1] + "…"
    return text


def action_from_item(text: str, notes: list[str]) -> dict:
    """A list item: "[x] Title", "Title (done)", "Title (owner: Kim) due 2024-05-01"."""
    checkbox = CHECKBOX.match(text)
    if checkbox:
        text = text[checkbox.end() :]
    done = (checkbox and checkbox.group("mark") in "xX") or DONE_MARK.search(text)
    owner = INLINE_OWNER.search(text)
    due = INLINE_DUE.search(text)
    return {
        "title": action_title(text, notes),
        "status": "done" if done else "open",
        "owner": owner.group("owner").strip()[:MAX_NAME] if owner else "",
        "due": iso_date(due.group("due")) if due else None,
    }


def column_of(header: list[str], role: str) -> int | None:
    for index, name in enumerate(header):
        if any(word in name.lower() for word in COLUMN_WORDS[role]):
            return index
    return None


def actions_from_table(table: Table, notes: list[str]) -> list[dict]:
    columns = {role: column_of(table.header, role) for role in COLUMN_WORDS}
    title_column = columns["title"] if columns["title"] is not None else 0

    def cell(row, role):
        index = title_column if role == "title" else columns[role]
        return row[index] if index is not None and index < len(row) else ""

    items = []
    for row in table.rows:
        if not without_placeholder(cell(row, "title")):
            continue
        due_text = cell(row, "due")
        if due_text and iso_date(due_text) is None:
            notes.append(f"action item due date {due_text!r} is not a date")
        items.append(
            {
                "title": action_title(cell(row, "title"), notes),
                "status": action_status(cell(row, "status")),
                "owner": cell(row, "owner")[:MAX_NAME],
                "due": iso_date(due_text) if due_text else None,
            }
        )
    return items


def read_action_items(section: str) -> tuple[list[dict], list[str]]:
    """Action items from a table (title/owner/status/due columns) or a list."""
    notes: list[str] = []
    found = tables(section)
    if found:
        return actions_from_table(found[0], notes), notes
    items = [action_from_item(text, notes) for text in list_items(section)]
    if section and not items:
        notes.append("the Action Items section is neither a list nor a table; kept in the body")
    return items, notes


INITIALS = re.compile(r"^[A-Z]{1,4}$")


def read_attendees(section: str) -> list[str]:
    """Names from list items or lines: "- rifis", "RF, PW, RR", "- EC RF SD" (initials)."""
    lines = list_items(section) or [line for line in section.split("\n") if line.strip()]
    names = []
    for line in lines:
        for part in line.split(","):
            words = part.split()
            if len(words) > 1 and all(INITIALS.match(word) for word in words):
                names += words  # "EC RF SD": initials separated by spaces only
            elif words:
                names.append(" ".join(words)[:MAX_NAME])
    return list(dict.fromkeys(name for name in names if without_placeholder(name)))


# -- importing a folder -----------------------------------------------------------------

# What a published report needs (FailureReportSerializer.validate) and where it comes from.
PUBLISHING_NEEDS = {
    "summary": "no Summary section",
    "impact": "no Impact or Summary section",
    "root_cause": "no Root cause or Contributing Factors section",
}
# The first line of a licence file next to the reports → its SPDX id.
LICENSE_FIRST_LINES = {"mit license": "MIT", "apache license": "Apache-2.0"}
WARNING_EXAMPLES = 3


def is_license_file(name: str) -> bool:
    return name.upper().split(".")[0] in ("LICENSE", "LICENCE", "COPYING")


def folder_license(directory: Path) -> str | None:
    """The SPDX id of a LICENSE file beside the reports: they are published under it, and
    labelling them with the default licence would misstate what others may do with them."""
    for path in sorted(directory.iterdir()):
        if path.is_file() and is_license_file(path.name):
            try:
                lines = path.read_text(encoding="utf-8").strip().splitlines()
            except (OSError, UnicodeDecodeError):
                return None
            first = lines[0].strip().lower() if lines else ""
            return next(
                (spdx for start, spdx in LICENSE_FIRST_LINES.items() if first.startswith(start)),
                None,
            )
    return None


def skip_reason(path: Path, license_id: str | None) -> str:
    """Why a file in the folder is not a report ("" when it should be one)."""
    name = path.name
    if name.upper().startswith("README"):
        return "the folder's README, not a report"
    if is_license_file(name):
        applied = f" ({license_id}, applied to the reports)" if license_id else ""
        return f"the licence of the reports{applied}, not a report"
    if "template" in name.lower():
        return "the postmortem template, not a report"
    if not is_markdown_file(path):
        return "not Markdown (no .md extension and no heading at the top)"
    return ""


def slug_for(name: str) -> str:
    slug = slug_from_file_name(display_name(name))
    if not slug:
        raise ImportFailure("the file name gives no slug (no letters or digits)")
    return slug


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFailure(f"not valid UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ImportFailure(f"cannot be read: {exc.strerror}") from None


def status_for(fields: dict, requested: str) -> tuple[str, str]:
    """The status to import with, and a note when it is not the one asked for."""
    missing = [name for name in PUBLISHING_NEEDS if not fields.get(name)]
    if requested != "published" or not missing:
        return requested, ""
    reasons = ", ".join(PUBLISHING_NEEDS[name] for name in missing)
    return "in_review", f"imported in_review, not publishable: {reasons}"


def warnings_note(warnings: list[dict], people: list[str]) -> str:
    """Name the first few distinct phrases, blaming language before people's names (the
    attendee list itself names everyone, so names would crowd out the real findings)."""
    names = {person.lower() for person in people}
    distinct = {}  # lower-cased → as first written
    for warning in warnings:
        distinct.setdefault(warning["phrase"].lower(), warning["phrase"])
    phrases = sorted(distinct.values(), key=lambda phrase: phrase.lower() in names)
    shown = ", ".join(repr(phrase) for phrase in phrases[:WARNING_EXAMPLES])
    return (
        f"imported in_review: {len(warnings)} blameless/redaction warning(s), e.g. {shown}; "
        "--acknowledge-warnings publishes it anyway"
    )


SUBFOLDER_REASON = "in a subfolder; postmortems are read from one folder, not a tree"


class PostmortemFolderImporter:
    """Import one folder of postmortems into one organisation: what `import_incidents`
    and `POST /api/v1/import/?kind=incident` both run (via opsknowledge.importing.run_import),
    so an upload behaves exactly like the command.

    `refused`: (name, reason) of archive entries the upload did not unpack (links), reported
    as skipped files as the command reports them."""

    def __init__(self, *, create_components=False, acknowledge_warnings=False, prune=False,
                 refused=()):  # fmt: skip
        self.create_components = create_components
        self.acknowledge_warnings = acknowledge_warnings
        self.prune = prune
        self.skips: dict[str, str] = dict(refused)
        self.license: str | None = None
        self.kept_paths: set[str] = set()  # files imported or failed: --prune keeps them

    def sources(self, options):
        directory = Path(options["root"])
        if not directory.is_dir():
            raise ImportFailure(f"{directory} is not a directory")
        # Read once here: import_one labels every report with it.
        self.license = folder_license(directory)
        found = dict.fromkeys(self.skips)
        # Hidden files are editor and VCS droppings, never documents.
        for path in sorted(directory.iterdir(), key=lambda path: path.name):
            if path.name.startswith("."):
                continue
            if path.is_symlink():
                self.skips[path.name] = "a symbolic link; links are not followed"
                found[path.name] = None
            elif path.is_file():
                found[path.name] = path
            elif path.is_dir():
                for inner in sorted(path.rglob("*")):
                    if is_markdown_file(inner) and not inner.name.startswith("."):
                        name = str(inner.relative_to(directory))
                        self.skips[name] = SUBFOLDER_REASON
                        found[name] = inner
        return sorted(found.items())

    def import_one(self, name, path, options):
        try:
            return self._import_one(name, path, options)
        except ImportFailure:
            self.kept_paths.add(name)  # broken, not gone
            raise

    def _import_one(self, name, path, options):
        if name in self.skips:
            return "skipped", self.skips[name]
        reason = skip_reason(path, self.license)
        if reason:
            return "skipped", reason
        text = read_text(path)
        if not text.strip():
            return "skipped", "an empty file"
        report = parse_report(text, name)
        fields = dict(report.fields)
        component_note = self.resolve_components(fields)
        if self.license:  # the folder's licence file: for reports that name none
            fields.setdefault("license", self.license)
        # The status is decided per report below (status_for); the visibility follows the
        # options as for every importer.
        create_defaults = publication_fields(fields, {**options, "status": None})
        if self.acknowledge_warnings:
            fields["acknowledge_warnings"] = True
        # A status the file states (an export's) wins over --status, as every field does.
        requested = fields.get("status") or options["status"]
        fields["status"], status_note = status_for(fields, requested)
        fields["source_path"] = name
        slug = str(report.front_matter.get("slug") or "") or slug_for(name)
        self.kept_paths.add(name)
        outcome, note = self.write(slug, fields, options, create_defaults)
        notes = [status_note, note, component_note, *report.notes]
        return outcome, "; ".join(note for note in notes if note)

    def resolve_components(self, fields) -> str:
        """The catalogue components the front matter's components or services name (slug
        or alias); an unknown one is created with create_components, else left out and
        named in the note (a report is not refused for naming its own service)."""
        if "components" not in fields:
            return ""
        found, unknown = [], []
        for name in fields["components"]:
            # "Object Storage" names the component object-storage.
            component = Component.objects.lookup(name) or Component.objects.lookup(slugify(name))
            if component is None and self.create_components and slugify(name):
                component, _ = Component.objects.get_or_create(
                    slug=slugify(name), defaults={"name": name}
                )
            if component is None:
                unknown.append(name)
            elif component.slug not in found:
                found.append(component.slug)
        fields["components"] = found
        if not unknown:
            return ""
        return (
            f"components not in the catalogue, left out: {', '.join(unknown)} "
            "(--create-components creates them)"
        )

    def write(self, slug, fields, options, create_defaults) -> tuple[str, str]:
        """Import; a report refused publication for its warnings goes in for review
        instead (import_document is atomic, so the refused attempt left nothing behind)."""
        try:
            outcome, _document = self.import_document(slug, fields, options, create_defaults)
            return outcome, ""
        except ImportFailure as failure:
            if fields["status"] != "published" or "acknowledge_warnings" not in failure.reason:
                raise
        outcome, document = self.import_document(
            slug, {**fields, "status": "in_review"}, options, create_defaults
        )
        return outcome, warnings_note(document.warnings, fields["attendees"])

    @staticmethod
    def import_document(slug, fields, options, create_defaults):
        return import_document(
            model=FailureReport,
            organisation=options["organisation"],
            slug=slug,
            fields=fields,
            actor=options["actor"],
            dry_run=options["dry_run"],
            create_defaults=create_defaults,
        )

    def finish(self, options) -> dict:
        result = {}
        if self.prune:
            result["pruned"] = prune_missing(FailureReport, self.kept_paths, options)
        return result


# -- export -----------------------------------------------------------------------------

# Always written: publication state and the address, which the body never says.
EXPORT_ALWAYS = ("title", "slug", "visibility", "status", "license")


def exported_value(value):
    """A stored value in the words parse_report() reads back (times ISO in UTC with `Z`,
    references as slugs, rows as plain mappings)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {
            key: exported_value(item)
            for key, item in value.items()
            if not (key == "url" and not item)  # action items without a link
        }
    if isinstance(value, list | tuple):
        items = [exported_value(item) for item in value]
        return sorted(items) if all(isinstance(item, str) for item in items) else items
    if hasattr(value, "reference"):
        return value.reference()  # a runbook: "organisation/slug"
    if hasattr(value, "slug"):
        return value.slug
    return value


def report_front_matter(report) -> dict:
    """Every content field of `report` (and its source URL) as front matter."""
    content = report.content_data()
    content["runbooks"] = [
        {"runbook": link["runbook"], "relation": link["relation"]} for link in content["runbooks"]
    ]
    front = {"title": report.title, "slug": report.slug}
    for name in report.CONTENT_FIELDS:
        if name not in ("title", "body"):
            front[name] = exported_value(content[name])
    front["source_url"] = report.source_url
    if report.status == "published" and report.warnings:
        front["acknowledge_warnings"] = True
    return front


def _file_text(front: dict, body: str) -> str:
    dumped = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{dumped}---\n{body}"


def _reads_back(text: str, name: str, expected: dict) -> bool:
    try:
        fields = parse_report(text, name).fields
    except ImportFailure:
        return False
    return all(
        exported_value(fields.get(key, DEFAULTS.get(key))) == value
        for key, value in expected.items()
        if key != "slug"  # the command's, not a field
    )


# What a field is when the file says nothing of it (a replacing import resets it to this).
DEFAULTS = {"severity": "", "source_url": "", "language": "en", "last_reviewed": None,
            "stated_time_to_detect": None, "stated_time_to_resolve": None, "started_at": None,
            "detected_at": None, "resolved_at": None, "timeline": [], "action_items": [],
            "runbooks": [], "attendees": [], "tags": [], "components": [], "releases": [],
            "acknowledge_warnings": None}  # fmt: skip


def export_report(report) -> str:
    """Markdown that import_incidents reads back into exactly this report: the body as
    stored, under front matter holding every field the body does not already say (a
    field is left out only when reading the file without it gives the same value)."""
    expected = report_front_matter(report)
    front = dict(expected)
    name = f"{report.slug}.md"
    # Twice: the start a timeline gives only reads back once the timeline is left out.
    for key in [*expected, *expected]:
        if key in EXPORT_ALWAYS or key not in front:
            continue
        trial = {k: v for k, v in front.items() if k != key}
        if _reads_back(_file_text(trial, report.body), name, expected):
            front = trial
    return _file_text(front, report.body)
