"""What every release-notes source shares: plain text and titles from Markdown, top-level
list items, the section-to-kind rules and the notes a section yields, stable note slugs, and
the catalogue component a note's headings name. Pure: text in, dataclasses out."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.text import slugify

from opsknowledge.markdown import Section, parse

from ..models import NoteKind

MAX_TITLE = 300  # ReleaseNote.title, Document.title
TITLE_WORDS_LIMIT = 120  # titles made from a list item's first sentence are cut here
SLUG_TITLE_PART = 60
PLACEHOLDER_LIMIT = 80  # "Nothing major known yet." is a placeholder, a paragraph is not


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


@dataclass(frozen=True)
class KindRule:
    pattern: re.Pattern
    kind: str
    split_items: bool  # a section without subsections gives one note per list item


def rule(pattern: str, kind: str, split_items: bool = True) -> KindRule:
    return KindRule(re.compile(pattern, re.I), kind, split_items)


# First match wins: "New Features (Highlights)" is features, not highlights.
KIND_RULES = (
    rule(r"upgrade|migration|^updates?\b", NoteKind.UPGRADE),
    rule(r"deprecat", NoteKind.DEPRECATION),
    rule(r"removal", NoteKind.REMOVAL),
    rule(r"security", NoteKind.SECURITY),
    rule(r"resolved issues|bug ?fixes", NoteKind.FIX),
    rule(r"known (issue|bug)|restriction", NoteKind.KNOWN_ISSUE),
    rule(r"new features", NoteKind.FEATURE),
    # R0's "Features" is what the very first release shipped: highlights, not news.
    rule(r"component versions|user-visible|highlights|^features$", NoteKind.HIGHLIGHT),
    # The scope is one statement about the release; its bullet points mean nothing alone.
    rule(r"^scope$", NoteKind.HIGHLIGHT, split_items=False),
)
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
