"""Importing the Sovereign Cloud Stack release notes, the k8s-cluster-api-provider upgrade
guide and the OSISM upgrade notes (API.md "Releases and upgrades", "Management commands").

Three sources, three commands:

- `import_release_notes`: `README.md` of SovereignCloudStack/release-notes is the index; only
  the top-level `ReleaseN.md` files it links are releases (`ReleaseX.md` is the template,
  `drafts/` an unreleased R8). Each file yields its release (slug, name, version tag, date,
  place in the upgrade chain) and its notes, one per subsection or list item of the
  template's sections (Upgrade/Migration notes, Deprecations, ...).
- `import_upgrade_guide`: each `R<a> to R<b>` hop of `doc/Upgrade-Guide.md` becomes an
  upgrade runbook made of the hop's management host part and its workload cluster part.
- `import_osism_notes`: the "Upgrade notes" and "Known issues" of an OSISM major release
  become notes of the SCS release that ships it (OSISM 7 is in R6, OSISM 8 in R7).

The real files bend every rule a parser would like to rely on: dates are written three
ways, R6's title line ends in a TAB, README.md and Release7.md disagree on R7's date (the
file wins), R2's tagging section also names R3's tag, R6's names its tag twice ("`7.0.0` or
`v7.0.0`"), and sections are missing, empty or say "Nothing ...".

The parsing half (everything up to "Writing") is pure: text in, dataclasses out, so it is
tested without a database and is deterministic, which makes every import idempotent (same
file, same note slugs, same fields). The writing half goes through the same services as
the API (`release_note_upsert`, `import_document`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.utils.text import slugify

from .importing import ImportFailure, read_markdown
from .markdown import Section, parse, parse_sections

RELEASE_NOTES_URL = "https://github.com/SovereignCloudStack/release-notes/blob/main"
UPGRADE_GUIDE_URL = (
    "https://github.com/SovereignCloudStack/k8s-cluster-api-provider/blob/main/doc/Upgrade-Guide.md"
)
OSISM_NOTES_URL = "https://osism.tech/docs/release-notes"

MAX_TITLE = 300  # ReleaseNote.title, Document.title
TITLE_WORDS_LIMIT = 120  # titles made from a list item's first sentence are cut here
SLUG_TITLE_PART = 60
PLACEHOLDER_LIMIT = 80  # "Nothing major known yet." is a placeholder, a paragraph is not

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


# -- plain text, titles -------------------------------------------------------------------

LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
AUTOLINK = re.compile(r"<(https?://[^>]+)>")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
STRONG = re.compile(r"(\*\*|__)(.+?)\1")
EMPHASIS = re.compile(r"(?<![\w*])\*(\S[^*]*?)\*(?![\w*])")
SENTENCE_END = re.compile(r"[.!?](?=\s|$|\()")
ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "approx")


def plain_text(markdown: str) -> str:
    """Markdown inline markup removed and whitespace collapsed: what a title shows."""
    text = HTML_COMMENT.sub("", markdown)
    text = LINK.sub(r"\1", text)
    text = AUTOLINK.sub(r"\1", text)
    text = STRONG.sub(r"\2", text)
    text = EMPHASIS.sub(r"\1", text)
    text = text.replace("`", "")
    return " ".join(text.split())


def first_sentence(text: str) -> str:
    for match in SENTENCE_END.finditer(text):
        before = text[: match.start()].lower()
        if not before.endswith(ABBREVIATIONS):
            return text[: match.start()]
    return text


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def title_from_text(markdown: str, limit: int = TITLE_WORDS_LIMIT) -> str:
    """A title for a note made from a list item: its first sentence, without markup.

    The first paragraph ends at a blank line, a nested list, a code fence or a heading; a
    trailing colon ("Added dashboards for the operators:") introduced what followed.
    """
    paragraph = next(parse(markdown.strip()).paragraphs(), "")
    sentence = first_sentence(plain_text(paragraph))
    return shorten(sentence.rstrip(" .:;"), limit)


# -- list items -----------------------------------------------------------------------

BULLET = re.compile(r"^( {0,3})([*+-]|\d{1,9}[.)])( +)(.*)$")
TOP_LEVEL_INDENT = 1  # deeper bullets are nested lists inside an item


@dataclass
class Block:
    kind: str  # "item" or "prose"
    lines: list[str] = field(default_factory=list)
    indent: int = 0  # where an item's content starts

    @property
    def text(self) -> str:
        if self.kind == "prose":
            return "\n".join(self.lines).strip("\n")
        first, *rest = self.lines
        dedented = [dedent(line, self.indent) for line in rest]
        return "\n".join([first, *dedented]).strip("\n")


def dedent(line: str, width: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, width) :]


def split_blocks(text: str) -> list[Block]:
    """Top-level list items and the prose between them, in order.

    Markdown's rules, as far as the release notes need them: an unindented line right after
    an item's text continues it (R2 and R4 wrap items that way), after a blank line or a
    code block only indented lines do; bullets indented more than TOP_LEVEL_INDENT are
    nested lists; nothing inside a code fence starts anything.
    """
    blocks: list[Block] = []
    # Lines after an opening fence, down to the closing one: they start nothing.
    fenced = {
        number: fence.end_line
        for fence in parse(text).fences
        for number in range(fence.line + 1, fence.end_line + 1)
    }
    lazy = False  # an unindented line would continue the paragraph of the current item
    for number, line in enumerate(text.split("\n"), start=1):
        current = blocks[-1] if blocks else None
        if number in fenced:
            current.lines.append(line)
            lazy = lazy and number < fenced[number]
            continue
        bullet = BULLET.match(line)
        if not line.strip():
            if current is not None:
                current.lines.append(line)
            lazy = False
            continue
        if bullet and len(bullet.group(1)) <= TOP_LEVEL_INDENT:
            indent = len(bullet.group(1)) + len(bullet.group(2)) + len(bullet.group(3))
            current = Block("item", [bullet.group(4)], indent)
            blocks.append(current)
        elif current is not None and continues_block(current, line, lazy):
            current.lines.append(line)
        else:
            current = Block("prose", [line])
            blocks.append(current)
        lazy = True
    return [block for block in blocks if block.text.strip()]


def continues_block(block: Block, line: str, lazy: bool) -> bool:
    """Prose goes on until the next item; an item takes indented lines, and unindented
    ones only right after a line of its text (a lazy continuation)."""
    if block.kind == "prose":
        return True
    return lazy or line.startswith(("  ", "\t"))


# -- notes ----------------------------------------------------------------------------


class NoteKinds:
    """The NoteKind values, spelled here so that parsing needs no Django models."""

    HIGHLIGHT = "highlight"
    FEATURE = "feature"
    UPGRADE = "upgrade"
    DEPRECATION = "deprecation"
    REMOVAL = "removal"
    SECURITY = "security"
    FIX = "fix"
    KNOWN_ISSUE = "known-issue"


@dataclass(frozen=True)
class KindRule:
    pattern: re.Pattern
    kind: str
    split_items: bool  # a section without subsections gives one note per list item


def rule(pattern: str, kind: str, split_items: bool = True) -> KindRule:
    return KindRule(re.compile(pattern, re.I), kind, split_items)


# First match wins: "New Features (Highlights)" is features, not highlights.
KIND_RULES = (
    rule(r"upgrade|migration|^updates?\b", NoteKinds.UPGRADE),
    rule(r"deprecat", NoteKinds.DEPRECATION),
    rule(r"removal", NoteKinds.REMOVAL),
    rule(r"security", NoteKinds.SECURITY),
    rule(r"resolved issues|bug ?fixes", NoteKinds.FIX),
    rule(r"known (issue|bug)|restriction", NoteKinds.KNOWN_ISSUE),
    rule(r"new features", NoteKinds.FEATURE),
    # R0's "Features" is what the very first release shipped: highlights, not news.
    rule(r"component versions|user-visible|highlights|^features$", NoteKinds.HIGHLIGHT),
    # The scope is one statement about the release; its bullet points mean nothing alone.
    rule(r"^scope$", NoteKinds.HIGHLIGHT, split_items=False),
)
# Sections of the older layouts (R0, R1) that are about the project, not the release.
NOT_RELEASE_CONTENT = re.compile(
    r"^(contributing|thanks|release tagging|standard|future directions|on to |get scs|"
    r"bug reporting)",
    re.I,
)
# A file with this section follows the ReleaseX.md template (R2 on).
TEMPLATE_MARKER = re.compile(r"component versions", re.I)
PLACEHOLDER = re.compile(r"^(nothing|none|n/a|no known)\b", re.I)


def kind_rule(title: str) -> KindRule | None:
    plain = plain_text(title)
    return next((r for r in KIND_RULES if r.pattern.search(plain)), None)


def kind_of_subsection(title: str, default: str) -> str:
    """A subsection may say what it is ("Known Issue with OIDC Logout" inside R1's
    Federation); the scope rule is about whole sections only."""
    matched = kind_rule(title)
    return matched.kind if matched is not None and matched.split_items else default


@dataclass(frozen=True)
class ParsedNote:
    kind: str
    title: str
    body: str
    anchor: str  # of the heading the note sits under, for its source_url
    component_hints: tuple[str, ...] = ()  # headings that may name a catalogue component
    group: str = ""  # where in a page that covers several versions ("7.0.0")
    title_prefix: str = ""  # put before the title ("OSISM 7.0.0: "); slugs leave it out


@dataclass
class NoteHarvest:
    notes: list[ParsedNote] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # sections with nothing or "Nothing ..."


def is_placeholder(text: str) -> bool:
    plain = plain_text(text)
    return len(plain) < PLACEHOLDER_LIMIT and PLACEHOLDER.match(plain) is not None


@dataclass(frozen=True)
class NoteContext:
    """What every note of one section shares."""

    kind: str
    prefix: str = ""  # put before titles ("OSISM 7.0.0: ")
    group: str = ""

    def note(self, kind, title, body, section: Section, hints=()) -> ParsedNote:
        return ParsedNote(
            kind=kind,
            title=shorten(title, MAX_TITLE),
            body=body,
            anchor=section.anchor,
            component_hints=hints,
            group=self.group,
            title_prefix=self.prefix,
        )


def section_notes(section: Section, context: NoteContext, *, split_items: bool) -> NoteHarvest:
    """The notes of one `##` section: its own text (one note per list item when asked),
    then one note per subsection (`###`) and per sub-subsection (`####`) under those."""
    harvest = NoteHarvest()
    own = section.own.strip("\n")
    if split_items and any(block.kind == "item" for block in split_blocks(own)):
        harvest.notes += item_notes(own, section, context)
    else:
        title = context.prefix + plain_text(section.title)
        add_whole_note(harvest, own, context.kind, title, section, (section.title,), context)
    for child in section.children:
        subsection_notes(harvest, child, context)
    if not harvest.notes and not harvest.empty:
        harvest.empty.append(f"{plain_text(section.title)} (empty)")
    return harvest


def subsection_notes(harvest: NoteHarvest, section: Section, context: NoteContext):
    kind = kind_of_subsection(section.title, context.kind)
    title = context.prefix + plain_text(section.title)
    own = section.own.strip("\n")
    add_whole_note(harvest, own, kind, title, section, (section.title,), context)
    for child in section.children:
        add_whole_note(
            harvest,
            child.text.strip("\n"),
            kind_of_subsection(child.title, kind),
            f"{title}: {plain_text(child.title)}",
            child,
            # "IaaS: Loadbalancer service (octavia)" names its component in the child.
            (child.title, section.title),
            context,
        )


def add_whole_note(harvest, text, kind, title, section, hints, context: NoteContext):
    if not text.strip():
        return
    if is_placeholder(text):
        harvest.empty.append(f"{plain_text(section.title)} ({plain_text(text)!r})")
        return
    harvest.notes.append(context.note(kind, title, text, section, hints))


def item_notes(text: str, section: Section, context: NoteContext) -> list[ParsedNote]:
    """One note per list item. A paragraph ending in ':' introduces the list after it
    ("These include:") and is repeated in each of its items' notes, so that each note reads
    on its own; other paragraphs become one note named after the section."""
    notes, prose, lead_in = [], [], ""
    blocks = split_blocks(text)
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.kind == "prose":
            introduces = following is not None and following.kind == "item"
            lead_in = block.text if introduces and block.text.rstrip().endswith(":") else ""
            if not lead_in:
                prose.append(block.text)
            continue
        if is_placeholder(block.text):
            continue
        body = f"{lead_in}\n\n{block.text}" if lead_in else block.text
        title = context.prefix + title_from_text(block.text)
        notes.append(context.note(context.kind, title, body, section))
    if prose and not is_placeholder("\n\n".join(prose)):
        title = context.prefix + plain_text(section.title)
        notes.insert(0, context.note(context.kind, title, "\n\n".join(prose), section))
    return notes


def note_slugs(
    notes: Iterable[ParsedNote], prefix_of: Callable[[ParsedNote], str] = lambda note: ""
) -> list[str]:
    """Stable slugs: an optional prefix, the kind, the note's number among the notes of its
    kind (and prefix) in the page, its title ("upgrade-002-osism"). Deterministic, so a
    re-import finds the same rows."""
    counters: Counter = Counter()
    slugs = []
    for note in notes:
        prefix = prefix_of(note)
        counters[prefix, note.kind] += 1
        title_part = slugify(note.title.removeprefix(note.title_prefix))
        title_part = title_part[:SLUG_TITLE_PART].strip("-")
        slug = f"{prefix}{note.kind}-{counters[prefix, note.kind]:03d}"
        slugs.append(f"{slug}-{title_part}" if title_part else slug)
    return slugs


def absolute_anchor_links(markdown: str, page_url: str) -> str:
    """`[...](#known-issue)` points into the source page, not into our note."""
    return markdown.replace("](#", f"]({page_url}#")


# -- release notes: index, dates, tags ----------------------------------------------------

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
        kind = matched.kind if matched else NoteKinds.HIGHLIGHT
        split_items = matched.split_items if matched else False
        found = section_notes(section, NoteContext(kind), split_items=split_items)
        harvest.notes += found.notes
        harvest.empty += found.empty
    return harvest, left_out


def component_for_heading(heading: str, lookup: Callable[[str], object | None]):
    """The catalogue component a heading names, or None. The whole heading first, then its
    words; a word that is a component's slug beats one that is only an alias, because
    aliases are everyday words ("images" is Glance's) and slugs are names ("openstack")."""
    plain = plain_text(heading).lower()
    words = re.findall(r"[a-z0-9]+(?:[-_][a-z0-9]+)*", plain)
    parts = [part for word in words if "-" in word for part in word.split("-")]
    candidates = list(dict.fromkeys([plain, *words, *parts]))
    found = [(word, lookup(word)) for word in candidates]
    for word, component in found:
        if component is not None and component.slug == word:
            return component
    return next((component for _word, component in found if component is not None), None)


def note_component(note: ParsedNote, lookup: Callable[[str], object | None]):
    """The component the first of a note's headings names that names one."""
    for heading in note.component_hints:
        component = component_for_heading(heading, lookup)
        if component is not None:
            return component
    return None


# -- upgrade guide ----------------------------------------------------------------------

HOP_HEADING = re.compile(r"^R(\d+)\s+to\s+R(\d+)$", re.I)
CLUSTERS_HEADING = re.compile(r"^On\s+(R\d+(?:\s*(?:,|and|or|&)\s*R\d+)*)\s+clusters$", re.I)


@dataclass(frozen=True)
class UpgradeHop:
    start: int
    end: int
    management: list[Section]
    workload: list[Section]

    @property
    def name(self) -> str:
        return f"R{self.start} to R{self.end}"


@dataclass
class UpgradeGuide:
    front_matter: dict
    hops: list[UpgradeHop]


def parse_upgrade_guide(text: str) -> UpgradeGuide:
    """The hops of the k8s-cluster-api-provider upgrade guide.

    The management host part of a hop is its `##### R2 to R3` section (under "New
    templates"). The workload cluster part is what the `#### On R… clusters` sections say
    about the hop's target ("On R3 and R4 clusters" serves R2→R3 and R3→R4); a section
    about the guide's oldest release ("On R2 clusters": convert with update-R2-to-R3.sh)
    describes leaving it, so it belongs to the hop that starts there.
    """
    markdown = read_markdown(text)
    root = parse_sections(markdown.body)
    hop_sections = [(s, HOP_HEADING.match(plain_text(s.title))) for s in root.walk()]
    hop_sections = [(s, m) for s, m in hop_sections if m]
    cluster_sections = []
    for section in root.walk():
        match = CLUSTERS_HEADING.match(plain_text(section.title))
        if match:
            numbers = {int(n) for n in re.findall(r"R(\d+)", match.group(1), re.I)}
            cluster_sections.append((section, numbers))
    targets = {int(match.group(2)) for _s, match in hop_sections}
    hops = []
    for section, match in hop_sections:
        start, end = int(match.group(1)), int(match.group(2))
        workload = [
            cluster_section
            for cluster_section, numbers in cluster_sections
            if end in numbers or (start in numbers and not numbers & targets)
        ]
        hops.append(UpgradeHop(start, end, [section], workload))
    return UpgradeGuide(front_matter=markdown.front_matter, hops=hops)


def hop_body(hop: UpgradeHop) -> str:
    """The hop's parts under the guide's own headings ("## Updating the management host",
    "### In-place upgrade", ...). The parent of each part keeps its introduction, which the
    part refers to ("If you have copied over the new `cluster-template.yaml` as described
    above")."""
    emitted: set[int] = set()
    pieces = []
    for part in [*hop.management, *hop.workload]:
        ancestors = []
        parent = part.parent
        while parent is not None and parent.level > 0:
            ancestors.insert(0, parent)
            parent = parent.parent
        for ancestor in ancestors:
            if id(ancestor) in emitted:
                continue
            emitted.add(id(ancestor))
            pieces.append(ancestor.heading_line)
            if ancestor is part.parent and ancestor.own.strip():
                pieces.append(ancestor.own.strip("\n"))
        pieces.append(part.markdown.strip("\n"))
    return absolute_anchor_links("\n\n".join(pieces), UPGRADE_GUIDE_URL) + "\n"


def guide_attribution(front_matter: dict, hop: UpgradeHop) -> str:
    details = [
        f"version {front_matter['version']}" if front_matter.get("version") else "",
        str(front_matter.get("state") or ""),
        f"by {front_matter['authors']}" if front_matter.get("authors") else "",
    ]
    detail = "; ".join(d for d in details if d)
    return (
        f"From the [SCS k8s-cluster-api-provider upgrade guide]({UPGRADE_GUIDE_URL})"
        f"{f' ({detail})' if detail else ''}, Apache-2.0. The guide advises upgrading one "
        f"release at a time; this runbook is the step from R{hop.start} to R{hop.end}."
    )


def runbook_fields(guide: UpgradeGuide, hop: UpgradeHop) -> dict:
    """Runbook fields (API names) for one hop, without the catalogue-dependent ones."""
    return {
        "title": f"Upgrade Kubernetes Cluster API provider from R{hop.start} to R{hop.end}",
        "summary": (
            "Upgrade the SCS k8s-cluster-api-provider management host and its workload "
            f"clusters from R{hop.start} to R{hop.end}."
        ),
        "body": f"{guide_attribution(guide.front_matter, hop)}\n\n{hop_body(hop)}",
        "upgrade_from": f"r{hop.start}",
        "upgrade_to": f"r{hop.end}",
        "releases": [f"r{hop.end}"],
        "tags": ["upgrade", "cluster-api"],
        "license": "Apache-2.0",
    }


# -- OSISM release notes ------------------------------------------------------------------

OSISM_FILE = re.compile(r"^osism-(\d+)\.md$")
OSISM_SECTIONS = {
    re.compile(r"^upgrade notes$", re.I): NoteKinds.UPGRADE,
    re.compile(r"^known issues$", re.I): NoteKinds.KNOWN_ISSUE,
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


# -- Writing ----------------------------------------------------------------------------


def cached_lookup():
    """Component.objects.lookup, asked once per word per run (it reads the catalogue)."""
    from .models import Component

    answers: dict[str, object] = {}

    def lookup(word: str):
        if word not in answers:
            answers[word] = Component.objects.lookup(word)
        return answers[word]

    return lookup


def save_release(*, number: int, version: str | None, released_on: date | None, previous):
    """Create or update release rN. `previous` is the Release it follows, "keep" to leave
    the link alone (its predecessor is unknown), or None for the head of the chain.
    Returns ("created" | "updated" | "unchanged", release)."""
    from .models import Release

    wanted = {"name": f"Release {number}"}
    if version:
        wanted["version"] = version
    if released_on is not None:
        wanted["released_on"] = released_on
    if previous != "keep":
        wanted["previous"] = previous
    release = Release.objects.filter(slug=f"r{number}").first()
    changed = (
        wanted
        if release is None
        else {name: value for name, value in wanted.items() if getattr(release, name) != value}
    )
    if not changed:
        return "unchanged", release
    if changed.get("previous") is not None:
        # The chain is one-to-one: whoever follows `previous` now must let go first.
        Release.objects.filter(previous=changed["previous"]).exclude(
            pk=getattr(release, "pk", None)
        ).update(previous=None)
    if release is None:
        return "created", Release.objects.create(slug=f"r{number}", **wanted)
    for name, value in changed.items():
        setattr(release, name, value)
    release.save(update_fields=list(changed))
    return "updated", release


def save_notes(
    *,
    release,
    organisation,
    notes: list[ParsedNote],
    slugs: list[str],
    page_url: str,
    visibility: str,
    component_of: Callable[[ParsedNote], object | None],
) -> Counter:
    """Upsert the notes of one source page on `release`; returns outcome counts. Notes the
    page no longer has are left alone (importers prune nothing)."""
    from . import services

    outcomes: Counter = Counter()
    for order, (note, slug) in enumerate(zip(notes, slugs, strict=True), start=1):
        fields = {
            "kind": note.kind,
            "title": note.title,
            "body": absolute_anchor_links(note.body, page_url),
            "component": component_of(note),
            "order": order,
            "source_url": f"{page_url}#{note.anchor}" if note.anchor else page_url,
            "visibility": visibility,
            "status": "published",
        }
        outcome, _note = services.release_note_upsert(
            organisation=organisation, release=release, slug=slug, fields=fields
        )
        outcomes[outcome] += 1
    return outcomes


def file_outcome(*outcomes: str | Counter) -> str:
    """One outcome for a file from its rows': created beats updated beats unchanged."""
    seen = Counter()
    for outcome in outcomes:
        seen.update(outcome if isinstance(outcome, Counter) else [outcome])
    return next((o for o in ("created", "updated") if seen[o]), "unchanged")


def counts_note(counts: Counter) -> str:
    parts = [f"{counts[o]} {o}" for o in ("created", "updated", "unchanged") if counts[o]]
    return ", ".join(parts) or "none"
