"""The Markdown module renders as the authors' Git hosting shows (CommonMark plus GitHub's
tables, strikethrough, autolinks and task lists, GitHub's heading ids) and gives the
document's structure from the same parse."""

import json
import re
import signal
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from opsknowledge import markdown
from opsknowledge.markdown import render
from opsknowledge.tests import shared_data

# The block sections ../shared/tools/markdown_fidelity.py measures: the ones runbooks use.
SPEC_SECTIONS = {
    "Lists", "List items", "Fenced code blocks", "Indented code blocks", "Block quotes",
    "ATX headings", "Paragraphs", "Tabs", "Thematic breaks", "Blank lines",
}  # fmt: skip
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def spec_examples_file() -> Path:
    """The CommonMark spec examples under ../shared/data (skipped or failed as every
    real-data test is: opsknowledge/tests/shared_data.py)."""
    return shared_data.require(
        shared_data.path("commonmark-spec", "spec-0.31.2.json"), "the CommonMark spec examples"
    )


def comparable(html: str) -> str:
    """As the fidelity tool compares: both sides sanitised, attributes the sanitiser or the
    anchors add (id, rel, class) dropped, whitespace next to tags ignored."""
    html = markdown.sanitise(html)
    html = re.sub(r'\s(id|rel|class)="[^"]*"', "", html)
    html = re.sub(r"\s+", " ", html)
    html = re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)
    return html.strip()


def test_commonmark_block_examples():
    spec = json.loads(spec_examples_file().read_text())
    total, good = Counter(), Counter()
    for example in spec:
        if example["section"] in SPEC_SECTIONS:
            total[example["section"]] += 1
            same = comparable(render(example["markdown"])) == comparable(example["html"])
            good[example["section"]] += same
    for section in sorted(total):
        print(f"{section}: {good[section]}/{total[section]}")
    share = sum(good.values()) / sum(total.values())
    print(f"CommonMark block examples: {sum(good.values())}/{sum(total.values())} = {share:.0%}")
    assert set(total) == SPEC_SECTIONS
    assert share >= 0.97


def test_code_indented_three_spaces_continues_the_list_item():
    html = render("1. one\n\n   ```bash\n   ls\n   ```\n\n2. two\n3. three\n")
    assert html.count("<ol>") == 1 and html.count("<li>") == 3
    assert '<pre><code class="language-bash">ls\n</code></pre>' in html


def test_table_alignment_survives_the_sanitiser():
    html = render("| left | mid | right |\n|:-----|:---:|------:|\n| a | b | c |\n")
    assert '<th align="left">left</th>' in html
    assert '<th align="center">mid</th>' in html
    assert '<td align="right">c</td>' in html
    assert "style" not in html


def test_strikethrough():
    assert render("~~gone~~") == "<p><s>gone</s></p>"


def test_autolinks_as_github_makes_them():
    html = render("See www.example.org, https://example.com/x and oncall@example.com; values.yaml")
    assert '<a href="http://www.example.org" rel="noopener nofollow">www.example.org</a>' in html
    assert '<a href="https://example.com/x" rel="noopener nofollow">' in html
    assert '<a href="mailto:oncall@example.com" rel="noopener nofollow">' in html
    assert "values.yaml</p>" in html  # a bare file or domain name stays text


def test_task_list_checkboxes_and_nothing_else():
    html = render("- [ ] drain the node\n- [x] notify <input type=text name=q> users\n")
    assert '<li><input type="checkbox" disabled> drain the node</li>' in html
    assert '<li><input type="checkbox" checked disabled> notify  users</li>' in html
    assert html.count("<input") == 2


def test_authors_cannot_write_the_checkbox_marks():
    html = render("\ufdd0 and \ufdd1")
    assert "<input" not in html
    assert "\ufdd0" not in html and "\ufdd1" not in html


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Upgrade/Migration notes", "upgrademigration-notes"),
        ("Step 1 - prepare", "step-1---prepare"),
        ("Step 1 -- Prepare", "step-1----prepare"),
        ("`ceph osd df` says *nearfull*", "ceph-osd-df-says-nearfull"),
        ("[Known issues](#known) & restrictions", "known-issues--restrictions"),
        ("Größe_und Ölstand", "größe_und-ölstand"),
    ],
)
def test_heading_ids_follow_github(heading, anchor):
    assert render(f"## {heading}").startswith(f'<h2 id="{anchor}">')
    assert markdown.parse(f"## {heading}").headings[0].anchor == anchor


def test_repeated_headings_are_numbered_as_on_github():
    document = markdown.parse("# Symptoms\n## Symptoms\n### Symptoms-1\n#### Symptoms")
    assert [h.anchor for h in document.headings] == [
        "symptoms", "symptoms-1", "symptoms-1-1", "symptoms-2",
    ]  # fmt: skip
    assert 'id="symptoms-2"' in document.html


def test_ids_of_the_templates_are_not_taken(monkeypatch):
    monkeypatch.setattr(markdown, "TEMPLATE_IDS", frozenset({"content"}))
    assert render("## Content").startswith('<h2 id="content-1">')


def test_template_ids_are_declared():
    """A template that gains an id must name it in TEMPLATE_IDS, or a heading can take it."""
    ids = set()
    for path in TEMPLATES.rglob("*.html"):
        ids.update(re.findall(r"""\bid=["']([^"'{]+)["']""", path.read_text()))
    assert ids <= markdown.TEMPLATE_IDS


def test_text_after_the_deepest_allowed_nesting_survives():
    """markdown-it drops everything after a block deeper than its maxNesting: the limit must
    sit above any nesting a document may have (block quotes and lists together)."""
    depth = markdown.NESTING_DEPTH
    quotes_and_lists = "".join("> " if level % 2 else "- " for level in range(depth))
    lists = "\n".join("  " * level + f"- level {level}" for level in range(depth))
    for nested in (quotes_and_lists + "deepest", "> " * depth + "deepest", lists + " deepest"):
        html = render(f"{nested}\n\nafter the nesting\n\n- and a list\n")
        assert "deepest" in html
        assert "<p>after the nesting</p>" in html
        assert "<li>and a list</li>" in html


@contextmanager
def finishes_within(seconds: float):
    """Fails the test instead of hanging when the work inside takes longer."""

    def too_slow(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds * 5)  # the hard stop, if the assert can't
    started = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - started < seconds


def test_heading_parsing_is_linear():
    """The old heading pattern backtracked: '# a' + 2,000 spaces + 'x' took 9 s."""
    text = "# a" + " " * 20_000 + "x\n\n## b" + "\t " * 10_000 + "#\n"
    with finishes_within(2):
        headings = markdown.parse(text).headings
    assert [(h.level, h.source) for h in headings] == [(1, "a" + " " * 20_000 + "x"), (2, "b")]


def test_structure_from_the_same_parse():
    text = (
        "intro\n\n# Title\n\nSetext\n------\n\n> # quoted\n\n```bash\nls\n```\n\n"
        "- item\n\n  ~~~\n  ~~~\n\n## Next\ntext\n"
    )
    document = markdown.parse(text)
    assert [(h.level, h.source, h.line, h.end_line, h.nested) for h in document.headings] == [
        (1, "Title", 3, 3, False),
        (2, "Setext", 5, 6, False),
        (1, "quoted", 8, 8, True),
        (2, "Next", 19, 19, False),
    ]
    assert [(f.info, f.content, f.line, f.end_line) for f in document.fences] == [
        ("bash", "ls\n", 10, 12),
        ("", "", 16, 17),
    ]
    root = document.sections()
    assert root.own == "intro\n\n"
    (title,) = root.children
    assert [child.title for child in title.children] == ["Setext", "Next"]
    assert title.children[0].heading_line == "Setext\n------"
    assert (title.children[1].line, title.children[1].end_line) == (19, 21)
    assert "".join([root.own, *(section.markdown for section in root.children)]) == text + "\n"
    assert list(document.paragraphs()) == ["intro", "text"]


def test_structure_reuses_the_renders_of_one_write_within_bounds():
    """A write renders a document's Markdown fields, then reads their structure: the same
    parses, as long as few and small enough to hold for one document."""
    texts = [f"# Field {n}\n\ntext {n}\n" for n in range(markdown.REMEMBERED_TEXTS + 1)]
    rendered = []
    for text in texts:
        markdown.render(text)
        rendered.append(markdown._last_rendered.value[text])
    assert markdown.structure(texts[-1]) is rendered[-1]
    assert markdown.structure(texts[1]) is rendered[1]
    assert markdown.structure(texts[0]) is not rendered[0]  # the oldest, dropped
    assert markdown.structure(texts[0]).headings[0].text == "Field 0"
    large = "word " * (markdown.REMEMBERED_CHARACTERS // 5)
    markdown.render(large)
    assert list(markdown._last_rendered.value) == [large]  # the newest always stays
    assert markdown.structure(texts[-1]) is not rendered[-1]
