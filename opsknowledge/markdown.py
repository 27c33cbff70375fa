"""The one Markdown module: CommonMark with GitHub's extensions (tables, strikethrough,
autolinks, task lists) rendered to sanitised HTML, and the structure of the same parse
(headings with their anchors, sections, fenced code, paragraphs) for importers, lint and
briefings.

Everything rendered for a browser or returned as `*_html` by the API goes through
`render()`; nothing else may mark text as safe. Structure comes from the tokens that make
the HTML, so the heading lint sees is the heading the page shows, with the same anchor.

markdown-it-py rather than Python-Markdown, which is not CommonMark (code indented three
spaces in a list item ends the item and splits a procedure's steps; 63% of the spec's block
examples), or cmarkgfm, whose Python binding exposes no syntax tree, so the structure would
need a second parser.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import nh3
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.tasklists import tasklists_plugin

# The deepest nesting of block quotes and lists a document may need. markdown-it stops at
# its `maxNesting` and silently drops everything after the deepest block, so that limit sits
# far above this depth: a list costs two token levels (list and item), inline markup more.
NESTING_DEPTH = 32
PARSER_MAX_NESTING = 4 * NESTING_DEPTH
# Each "[" costs markdown-it a scan for its label (about 80 µs): 20,000 take 1.6 s. The
# real documents we know have at most 62; links, images and task boxes all count.
MAX_BRACKETS = 5000

# Ids the page templates use themselves (the skip link's `main`, the header's search box,
# the page sections' headings); a heading that would take one gets a suffix
# (test_commonmark.test_template_ids_are_declared keeps this list complete).
TEMPLATE_IDS = frozenset(
    {
        "admin-add-heading",
        "admin-create-heading",
        "admin-import-heading",
        "admin-members-heading",
        "admin-new-token-heading",
        "admin-results-heading",
        "admin-secret-heading",
        "admin-tokens-heading",
        "adopt-organisation",
        "briefing-component",
        "briefing-from",
        "briefing-to",
        "component-choices",
        "conflict-heading",
        "diff-from",
        "diff-to",
        "error-summary-title",
        "filter-alert",
        "filter-component",
        "filter-open",
        "filter-organisation",
        "filter-q",
        "filter-release",
        "filter-severity",
        "filter-status",
        "filter-tag",
        "filters-heading",
        "form-errors",
        "form-warnings-heading",
        "live-region",
        "main",
        "month-chart-title",
        "page-actions-heading",
        "page-alerts-heading",
        "page-browse-heading",
        "page-components",
        "page-current-releases",
        "page-latest-incidents",
        "page-latest-practices",
        "page-latest-runbooks",
        "page-lint-heading",
        "page-notes-heading",
        "page-organisations",
        "page-related-heading",
        "page-reports-heading",
        "page-revision-history",
        "page-runbooks-heading",
        "page-timeline-heading",
        "page-toc-heading",
        "page-warnings-heading",
        "release-choices",
        "resolve-chart-title",
        "results-heading",
        "search-q",
        "search-syntax",
        "site-search-hint",
        "site-search-q",
        "tag-choices",
    }
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "td": {"align"},
    "th": {"align"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
# No javascript:, data:, vbscript: or anything else that runs or embeds.
URL_SCHEMES = {"http", "https", "mailto"}

# Task-list checkboxes are the only form controls a page may show. The sanitiser allows no
# <input> at all (raw HTML must never bring one), so the parse marks each checkbox with a
# Unicode noncharacter, which authors cannot write (it is removed from their text first),
# and the fixed markup replaces the mark after sanitising.
CHECKBOXES = {
    "\ufdd0": '<input type="checkbox" disabled>',
    "\ufdd1": '<input type="checkbox" checked disabled>',
}
_CHECKBOX_MARKS = re.compile("[" + "".join(CHECKBOXES) + "]")
_LONE_CR = re.compile(r"\r(?!\n)")


class TooComplex(ValueError):
    """Markdown that would cost too much to render; the message says what is too much."""


# An HTML tag as it opens or closes an element; void elements (<br>, <img>) nest nothing.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>")
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)


def _tag_depth(html: str, depth: int) -> tuple[int, int]:
    """(depth after `html`, deepest reached) for raw HTML starting at `depth`; linear."""
    deepest = depth
    for match in _TAG.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        if name in _VOID or match.group(0).endswith("/>"):
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return depth, deepest


class _GithubAutolinks(LinkifyIt):
    """GFM's extended autolinks: URLs with a scheme, `www.` addresses and e-mail addresses.
    Bare domains ("example.com", "values.yaml") stay text, as on GitHub."""

    def match(self, text):
        found = [
            link
            for link in super().match(text) or ()
            if link.schema or link.raw.lower().startswith("www.")
        ]
        return found or None


def _parser() -> MarkdownIt:
    # gfm-like: CommonMark plus tables, strikethrough and autolinks; raw HTML is kept for
    # nh3 to judge (<details> is common in runbooks).
    parser = MarkdownIt("gfm-like", {"maxNesting": PARSER_MAX_NESTING, "xhtmlOut": False})
    parser.linkify = _GithubAutolinks()
    return parser.use(tasklists_plugin)


PARSER = _parser()


# -- structure -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    source: str  # the heading's Markdown as written, closing #s removed
    text: str  # what a reader sees
    anchor: str  # the id of the rendered heading ("" when no letter or digit is left)
    line: int  # 1-based
    end_line: int  # a setext heading spans its text and the underline
    nested: bool  # inside a list item or block quote, so it starts no section


@dataclass(frozen=True)
class Fence:
    """A fenced code block: `line` is the opening fence, `end_line` the closing one (or the
    end of its container when it is never closed)."""

    info: str
    content: str
    line: int
    end_line: int


@dataclass(eq=False)
class Section:
    """A heading with the text up to the next heading (`own`) and its subsections. The root
    (level 0) holds the text before the first heading."""

    level: int
    title: str  # the heading's Markdown as written
    heading_line: str
    own: str
    line: int = 0  # the heading's first line (1-based)
    anchor: str = ""
    children: list[Section] = field(default_factory=list)
    parent: Section | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        """Everything below the heading, subsections included, exactly as written."""
        return "".join([self.own, *(child.markdown for child in self.children)])

    @property
    def markdown(self) -> str:
        return f"{self.heading_line}\n{self.own}" + "".join(c.markdown for c in self.children)

    @property
    def end_line(self) -> int:
        """The last line of the section, subsections included."""
        return self.line + self.markdown.count("\n") - 1

    def walk(self) -> Iterable[Section]:
        for child in self.children:
            yield child
            yield from child.walk()


def heading_anchor(text: str) -> str:
    """The anchor GitHub gives a heading reading `text`: lower case, everything but letters,
    digits, `_`, `-` and spaces dropped, each space a hyphen, runs not collapsed
    ("Upgrade/Migration notes" → "upgrademigration-notes", "Step 1 - prepare" →
    "step-1---prepare")."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


class _UniqueAnchors:
    """GitHub's numbering of repeated anchors ("symptoms", "symptoms-1", ...), starting
    from the ids the templates take."""

    def __init__(self, taken: Iterable[str]):
        self.seen = dict.fromkeys(taken, 0)

    def __call__(self, anchor: str) -> str:
        candidate = anchor
        while candidate in self.seen:
            self.seen[anchor] += 1
            candidate = f"{anchor}-{self.seen[anchor]}"
        self.seen[candidate] = 0
        return candidate


_TOC_MARKER = re.compile(
    r"\[TOC\]|\[\[_TOC_\]\]|\{\{<\s*toc\s*>\}\}|\*\*Table of Contents\*\*", re.I
)
_TOC_HEADING = re.compile(r"(?:table of )?contents|toc", re.I)


def _visible_text(tokens: list[Token]) -> str:
    """What a reader sees of inline tokens (the textContent GitHub makes anchors from)."""
    parts = []
    for token in tokens:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _join_lines(lines: list[str]) -> str:
    # Every section's text ends with the newline that separated it from the next heading,
    # so concatenating sections reproduces the text.
    return "".join(f"{line}\n" for line in lines)


class Document:
    """One parse of a Markdown text: its HTML and its structure."""

    def __init__(self, text: str, links=None):
        # `links(url, image)`: the URL to render instead of one written in the text, or
        # None to keep it (opsknowledge.sourcelinks resolves an imported file's relative links).
        self.links = links
        # markdown-it counts a lone CR as a line break, so `text.split("\n")` must too; both
        # replacements keep the length, so positions in `text` are positions in the input.
        self.text = _CHECKBOX_MARKS.sub("\ufffd", _LONE_CR.sub("\n", text))
        self.tokens = PARSER.parse(self.text)
        self.headings = self._headings()
        self._prepare_for_sanitiser()

    def _headings(self) -> list[Heading]:
        unique = _UniqueAnchors(TEMPLATE_IDS)
        found = []
        for index, token in enumerate(self.tokens):
            if token.type != "heading_open":
                continue
            inline = self.tokens[index + 1]
            text = _visible_text(inline.children or [])
            anchor = heading_anchor(text)
            if anchor:
                anchor = unique(anchor)
                token.attrSet("id", anchor)
            found.append(
                Heading(
                    level=int(token.tag[1]),
                    source=inline.content,
                    text=text,
                    anchor=anchor,
                    line=token.map[0] + 1,
                    end_line=token.map[1],
                    nested=token.level > 0,
                )
            )
        return found

    def _prepare_for_sanitiser(self):
        for index, token in enumerate(self.tokens):
            # Column alignment as the `align` attribute: the sanitiser drops every `style`.
            if token.type in ("th_open", "td_open"):
                style = str(token.attrs.pop("style", ""))
                if style.startswith("text-align:"):
                    token.attrSet("align", style.removeprefix("text-align:"))
            # The tasklists plugin puts its checkbox first in the item's paragraph.
            elif token.type == "list_item_open" and "task-list-item" in str(
                token.attrGet("class") or ""
            ):
                children = self.tokens[index + 2].children
                checked = "checked" in children[0].content
                children[0] = Token("text", "", 0, content="\ufdd1" if checked else "\ufdd0")

    def _resolve_links(self):
        for token in self.tokens:
            for child in token.children or ():
                name = {"link_open": "href", "image": "src"}.get(child.type)
                url = child.attrGet(name) if name else None
                if url:
                    resolved = self.links(str(url), child.type == "image")
                    if resolved is not None:
                        child.attrSet(name, resolved)

    @cached_property
    def html(self) -> str:
        if self.links is not None:
            self._resolve_links()
        html = sanitise(PARSER.renderer.render(self.tokens, PARSER.options, {}))
        # rstrip: markdown-it ends every block with a newline; the stored HTML need not.
        return _CHECKBOX_MARKS.sub(lambda mark: CHECKBOXES[mark.group(0)], html).rstrip("\n")

    @cached_property
    def depth(self) -> int:
        """How deeply block quotes, lists and raw HTML elements nest, together."""
        containers, deepest = 0, 0
        for token in self.tokens:
            if token.type in ("blockquote_open", "bullet_list_open", "ordered_list_open"):
                containers += 1
            elif token.type in ("blockquote_close", "bullet_list_close", "ordered_list_close"):
                containers -= 1
            elif token.type == "html_block":
                deepest = max(deepest, _tag_depth(token.content, containers)[1])
            elif token.type == "inline":
                depth = containers
                for child in token.children or ():
                    if child.type == "html_inline":
                        depth, reached = _tag_depth(child.content, depth)
                        deepest = max(deepest, reached)
            deepest = max(deepest, containers)
        return deepest

    @cached_property
    def fences(self) -> list[Fence]:
        return [
            Fence(token.info.strip(), token.content, token.map[0] + 1, token.map[1])
            for token in self.tokens
            if token.type == "fence"
        ]

    @property
    def anchors(self) -> set[str]:
        return {heading.anchor for heading in self.headings if heading.anchor}

    def paragraphs(self) -> Iterator[str]:
        """The source of each paragraph outside lists, quotes and tables, lines joined."""
        for index, token in enumerate(self.tokens):
            if token.type == "paragraph_open" and token.level == 0:
                lines = self.tokens[index + 1].content.split("\n")
                yield " ".join(line.strip() for line in lines)

    def prose(self) -> Iterator[str]:
        """What a reader sees of each paragraph outside lists, quotes and tables, as plain
        text, leaving out what is not content: table-of-contents markers (`[TOC]`,
        `[[_TOC_]]`, `{{< toc >}}`, "**Table of Contents**") and everything under a "Table of
        Contents" heading, badges (paragraphs of nothing but images and links to them), and
        paragraphs of raw HTML or Hugo shortcodes."""
        in_contents = False
        for index, token in enumerate(self.tokens):
            if token.type == "heading_open":
                text = _visible_text(self.tokens[index + 1].children or [])
                in_contents = _TOC_HEADING.fullmatch(text.strip()) is not None
                continue
            if token.type != "paragraph_open" or token.level != 0 or in_contents:
                continue
            inline = self.tokens[index + 1]
            source = inline.content.strip()
            if _TOC_MARKER.fullmatch(source) or source.startswith(("{{", "<")):
                continue
            children = inline.children or []
            if any(child.type == "image" for child in children) and all(
                child.type in ("image", "link_open", "link_close", "softbreak", "hardbreak")
                or (child.type == "text" and not child.content.strip())
                for child in children
            ):
                continue  # badges
            text = " ".join(_visible_text(children).split())
            if text and not _TOC_HEADING.fullmatch(text):
                yield text

    def sections(self) -> Section:
        """The heading tree; headings inside list items and block quotes start no section."""
        lines = self.text.split("\n")
        found = [heading for heading in self.headings if not heading.nested]
        first = found[0].line - 1 if found else len(lines)
        root = Section(level=0, title="", heading_line="", own=_join_lines(lines[:first]))
        stack = [root]
        for index, heading in enumerate(found):
            end = found[index + 1].line - 1 if index + 1 < len(found) else len(lines)
            section = Section(
                level=heading.level,
                title=heading.source,
                heading_line="\n".join(lines[heading.line - 1 : heading.end_line]),
                own=_join_lines(lines[heading.end_line : end]),
                line=heading.line,
                anchor=heading.anchor,
            )
            while stack[-1].level >= heading.level:
                stack.pop()
            section.parent = stack[-1]
            stack[-1].children.append(section)
            stack.append(section)
        return root


def parse(text: str) -> Document:
    return Document(text)


# The Documents this thread rendered last, by text: a write renders its Markdown fields and
# then derives facts of their structure (runbooks' lint facts, failure reports' checks) from
# the same texts. A few, for the fields of one document: together at most about twice
# the Markdown one document may hold (settings.DOCUMENT_MARKDOWN_MAX_BYTES, 32 KiB).
_last_rendered = threading.local()
REMEMBERED_TEXTS, REMEMBERED_CHARACTERS = 8, 64 * 1024


def structure(text: str) -> Document:
    """A parse of `text` for its structure only (headings, anchors, fences, tokens' text):
    one this thread has just rendered when it is the same text, else a new one. Its
    `html` may have relative links resolved: use render() for HTML."""
    document = _remembered().get(text)
    return document if document is not None else Document(text)


def _remembered() -> dict[str, Document]:
    """This thread's renders by text, oldest first."""
    if not hasattr(_last_rendered, "value"):
        _last_rendered.value = {}
    return _last_rendered.value


def _remember(text: str, document: Document) -> Document:
    remembered = _remembered()
    remembered.pop(text, None)
    remembered[text] = document
    while len(remembered) > 1 and (
        len(remembered) > REMEMBERED_TEXTS or sum(map(len, remembered)) > REMEMBERED_CHARACTERS
    ):
        del remembered[next(iter(remembered))]  # the oldest
    return document


def parse_sections(text: str) -> Section:
    return Document(text).sections()


# -- HTML ----------------------------------------------------------------------------------


def _allowed_class(tag: str, attribute: str, value: str) -> str | None:
    # Only the language hint of fenced code blocks survives ("language-bash").
    if tag == "code" and attribute == "class":
        return value if value.startswith("language-") and value[9:].isidentifier() else None
    return value


def render(text: str, links=None) -> str:
    if not text:
        return ""
    return _remember(text, Document(text, links)).html


def render_within_limits(text: str, links=None) -> str:
    """`render(text)` for text being written: TooComplex when rendering it (or showing it
    in a browser) would cost too much — too deeply nested, or too many brackets. Rendering
    and sanitising a document within the limits and DOCUMENT_MARKDOWN_MAX_BYTES stays under
    half a second (`manage.py benchmark` measures the worst cases)."""
    if not text:
        return ""
    brackets = text.count("[")
    if brackets > MAX_BRACKETS:
        raise TooComplex(
            f"Use at most {MAX_BRACKETS} '[' (links, images, task-list boxes); this has {brackets}."
        )
    document = _remember(text, Document(text, links))
    if document.depth > NESTING_DEPTH:
        raise TooComplex(
            f"Block quotes, lists and HTML elements may nest at most {NESTING_DEPTH} levels "
            f"deep; this nests at least {document.depth}."
        )
    return document.html


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener nofollow",
        attribute_filter=_allowed_class,
        strip_comments=True,
    )


# -- stored HTML ---------------------------------------------------------------------------


def rerender(
    queryset, fields: Iterable[str], *, batch_size: int = 200, links=None
) -> Iterator[int]:
    """Render the Markdown `fields` of every row in `queryset` again into their `<name>_html`
    columns, yielding the number of rows each batch read. Rows whose HTML is current are not
    written, so a second run writes nothing. Writes go through QuerySet.update: rendering
    anew is no edit, so there is no revision and `updated` stays (auto_now is not applied).
    Takes field names, not the model's MARKDOWN_FIELDS, so migrations can pass historical
    models. `links`: (column names, build) for documents whose relative links resolve:
    `build(*values of those columns)` gives the row's link resolver."""
    fields = list(fields)
    columns = [f"{name}_html" for name in fields]
    extra, build = links if links is not None else ((), None)
    after = None
    while True:
        rows = queryset.order_by("pk")
        if after is not None:
            rows = rows.filter(pk__gt=after)
        batch = list(rows.values_list("pk", *fields, *columns, *extra)[:batch_size])
        if not batch:
            return
        for pk, *values in batch:
            sources, stored = values[: len(fields)], values[len(fields) : 2 * len(fields)]
            resolve = build(*values[2 * len(fields) :]) if build else None
            fresh = [render(source or "", resolve) for source in sources]
            pairs = zip(columns, fresh, stored, strict=True)
            changed = {column: html for column, html, old in pairs if html != old}
            if changed:
                queryset.filter(pk=pk).update(**changed)
        after = batch[-1][0]
        yield len(batch)
