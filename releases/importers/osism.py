"""OSISM release notes pages (`docs/release-notes/osism-N.md` of osism.github.io): their
"Upgrade notes" and "Known issues" as notes of the SCS release that ships OSISM N."""

from __future__ import annotations

import re

from django.utils.text import slugify

from opsknowledge.importing import read_markdown
from opsknowledge.markdown import Section, parse_sections

from ..models import NoteKind
from .notes import NoteContext, ParsedNote, section_notes

OSISM_NOTES_URL = "https://osism.tech/docs/release-notes"

OSISM_FILE = re.compile(r"^osism-(\d+)\.md$")
OSISM_SECTIONS = {
    re.compile(r"^upgrade notes$", re.I): NoteKind.UPGRADE,
    re.compile(r"^known issues$", re.I): NoteKind.KNOWN_ISSUE,
}
OSISM_VERSION = re.compile(r"^(\d+\.\d+\.\d+)")


def parse_release_map(text: str) -> dict[int, str]:
    """ "7=r6,8=r7" → {7: "r6", 8: "r7"}. Raises ValueError naming the bad part."""
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d+)\s*=\s*([a-z0-9]+(?:-[a-z0-9]+)*)", part)
        if not match:
            raise ValueError(f"'{part}' is not MAJOR=RELEASE (e.g. 7=r6)")
        mapping[int(match.group(1))] = match.group(2)
    if not mapping:
        raise ValueError("it maps nothing (e.g. 7=r6,8=r7)")
    return mapping


def osism_version_of(section: Section, major: int) -> str:
    """The OSISM version a section belongs to ("7.0.0" for the "Upgrade notes" under
    "## 7.0.0 (20240320)"); the major alone when it sits directly under the title."""
    parent = section.parent
    while parent is not None and parent.level > 0:
        match = OSISM_VERSION.match(parent.title)
        if match:
            return match.group(1)
        parent = parent.parent
    return str(major)


def parse_osism_notes(text: str, major: int) -> list[ParsedNote]:
    """Upgrade and known-issue notes of one OSISM release notes page, titled with the OSISM
    version they come from ("OSISM 7.0.0: The `hosts_interface` parameter ...")."""
    notes = []
    for section in parse_sections(read_markdown(text).body).walk():
        kind = next((k for p, k in OSISM_SECTIONS.items() if p.match(section.title)), None)
        if kind is None:
            continue
        version = osism_version_of(section, major)
        context = NoteContext(kind, prefix=f"OSISM {version}: ", group=version)
        notes += section_notes(section, context, split_items=True).notes
    return notes


def osism_slug_prefix(note: ParsedNote) -> str:
    """ "osism-7-0-0-": OSISM notes share a release with the SCS notes, never a slug."""
    return f"osism-{slugify(note.group.replace('.', '-'))}-"
