"""The SovereignCloudStack/release-notes checkout: the README.md index, the release dates
(written three ways), the version tags and the notes of each `ReleaseN.md`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from opsknowledge.importing import ImportFailure, read_markdown
from opsknowledge.markdown import Section, parse_sections

from ..models import NoteKind
from .notes import NoteContext, NoteHarvest, ParsedNote, kind_rule, plain_text, section_notes

RELEASE_NOTES_URL = "https://github.com/SovereignCloudStack/release-notes/blob/main"

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}


INDEX_HEADING = re.compile(r"^Release\s+(\d+)\b(?:\s*\((\d{4}-\d{2}-\d{2})\))?", re.I)
INDEX_LINK = re.compile(r"\]\(\s*(?:\./)?([^)\s#]+\.md)\s*(?:#[^)]*)?\)")
RELEASE_FILE = re.compile(r"^Release(\d+)\.md$")
TITLE_NUMBER = re.compile(r"\bRelease\s+(\d+)\b", re.I)
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
WRITTEN_DATE = r"[A-Z][a-z]+\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{1,2}\.? [A-Z][a-z]+ \d{4}"
DATE_STATEMENT = re.compile(
    rf"(?:Release Date:\s*|(?:published|released) on\s+)({ISO_DATE}|{WRITTEN_DATE})", re.I
)
VERSION = re.compile(r"(?<![\w/.])v?\d+\.\d+\.\d+(?!\w|\.\w)")
OTHER_RELEASE_BEFORE = re.compile(r"\bR(\d+)\s*\(\s*$")
TAGGING_SECTION = re.compile(r"release tagging", re.I)
# Sections of the older layouts (R0, R1) that are about the project, not the release.
NOT_RELEASE_CONTENT = re.compile(
    r"^(contributing|thanks|release tagging|standard|future directions|on to |get scs|"
    r"bug reporting)",
    re.I,
)
# A file with this section follows the ReleaseX.md template (R2 on).
TEMPLATE_MARKER = re.compile(r"component versions", re.I)


@dataclass(frozen=True)
class IndexEntry:
    number: int
    readme_date: date | None
    file_name: str | None  # the top-level ReleaseN.md the entry links
    note: str = ""


def parse_index(text: str) -> list[IndexEntry]:
    """The releases README.md lists (`## Release 3 (2022-09-21)` or `### Release 4 (...)`),
    each with the top-level release notes file it links, in release order."""
    entries = {}
    for section in parse_sections(read_markdown(text).body).walk():
        match = INDEX_HEADING.match(section.title)
        if not match:
            continue
        number = int(match.group(1))
        readme_date = parse_written_date(match.group(2)) if match.group(2) else None
        links = INDEX_LINK.findall(section.own)
        top_level = [link for link in links if "/" not in link]
        note = "" if top_level or not links else f"links only {links[0]}, not a top-level file"
        entries[number] = IndexEntry(number, readme_date, top_level[0] if top_level else None, note)
    return [entries[number] for number in sorted(entries)]


def parse_written_date(text: str) -> date | None:
    """ "2024-03-20", "September 11, 2024", "11. September 2024" → a date (None if none)."""
    text = text.strip()
    if re.fullmatch(ISO_DATE, text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    day_first = re.fullmatch(r"(\d{1,2})\.? ([A-Za-z]+) (\d{4})", text)
    month_first = re.fullmatch(r"([A-Za-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})", text)
    if day_first:
        day, month_name, year = day_first.groups()
    elif month_first:
        month_name, day, year = month_first.groups()
    else:
        return None
    month = MONTHS.get(month_name.lower())
    if month is None:
        return None
    try:
        return date(int(year), month, int(day))
    except ValueError:
        return None


def parse_release_date(text: str) -> date | None:
    """The date a release notes file states: `(Release Date: 2022-09-21)`, `published on
    2024-03-20` or `published on September 11, 2024`."""
    for match in DATE_STATEMENT.finditer(text):
        found = parse_written_date(match.group(1))
        if found is not None:
            return found
    return None


def parse_release_tag(text: str, number: int | None = None) -> tuple[str | None, list[str]]:
    """The version tag a tagging section gives its release, and other spellings of it.

    The release's own tag comes first; tags the text attributes to another release ("we
    will release R3 (v4.0.0)" in R2's section) are not candidates. R6 writes "`7.0.0` or
    `v7.0.0`": the tag is the first spelling, the second is reported.
    """
    candidates = []
    for match in VERSION.finditer(text):
        other = OTHER_RELEASE_BEFORE.search(text[max(0, match.start() - 12) : match.start()])
        if other and (number is None or int(other.group(1)) != number):
            continue
        candidates.append(match.group(0))
    if not candidates:
        return None, []
    tag = candidates[0]
    spellings = [c for c in dict.fromkeys(candidates[1:]) if c.lstrip("v") == tag.lstrip("v")]
    return tag, [c for c in spellings if c != tag]


@dataclass
class ParsedRelease:
    number: int
    released_on: date | None
    version: str | None
    version_spellings: list[str]
    notes: list[ParsedNote]
    left_out: list[str]  # sections not imported (Standards Conformance, Contributing, ...)
    empty: list[str]  # note sections without notes (R5: "Nothing that we are aware of")


def parse_release_notes(text: str) -> ParsedRelease:
    """A `ReleaseN.md` file: its release number, date, tag and notes."""
    root = parse_sections(read_markdown(text).body)
    title_section = next((s for s in root.children if s.level == 1), None)
    number_match = TITLE_NUMBER.search(title_section.title) if title_section else None
    if number_match is None:
        raise ImportFailure("no '# Release Notes for SCS Release N' title")
    number = int(number_match.group(1))
    sections = title_section.children
    tagging = next((s for s in sections if TAGGING_SECTION.search(s.title)), None)
    version, spellings = parse_release_tag(tagging.text, number) if tagging else (None, [])
    harvest, left_out = release_notes_of(sections)
    return ParsedRelease(
        number=number,
        # The date is stated between the title and the first section.
        released_on=parse_release_date(f"{root.own}\n{title_section.own}"),
        version=version,
        version_spellings=spellings,
        notes=harvest.notes,
        left_out=left_out,
        empty=harvest.empty,
    )


def release_notes_of(sections: list[Section]) -> tuple[NoteHarvest, list[str]]:
    """Notes of the `##` sections. Files following the template (R2 on) give only the
    template's note sections; the older layouts (R0, R1) are topical ("Logging",
    "Federation"), so their topics become highlights."""
    follows_template = any(TEMPLATE_MARKER.search(s.title) for s in sections)
    harvest, left_out = NoteHarvest(), []
    for section in sections:
        # Checked first: "Future directions (selected Highlights)" is not a highlight.
        matched = None if NOT_RELEASE_CONTENT.match(section.title) else kind_rule(section.title)
        if matched is None and (follows_template or NOT_RELEASE_CONTENT.match(section.title)):
            left_out.append(plain_text(section.title))
            continue
        kind = matched.kind if matched else NoteKind.HIGHLIGHT
        split_items = matched.split_items if matched else False
        found = section_notes(section, NoteContext(kind), split_items=split_items)
        harvest.notes += found.notes
        harvest.empty += found.empty
    return harvest, left_out
