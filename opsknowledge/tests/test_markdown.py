"""The Markdown renderer must turn hostile input into inert HTML and keep the useful parts.

Hostile payloads are judged on what a browser would act on: the tags and attributes that
survive (parsed with html.parser) and the URLs in them, after entity decoding. Escaped markup
shown as visible text (`&lt;script&gt;`) is harmless and allowed.
"""

import html
import re
from html.parser import HTMLParser

import pytest

from opsknowledge import markdown
from opsknowledge.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render

XSS_PAYLOADS = [
    # <script> and <style>, plain, mixed case, broken up and nested.
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt src=https://evil.example/x.js></ScRiPt>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    "text <script>alert(1)</script> more text",
    "<style>body { background: url(javascript:alert(1)) }</style>",
    "<STYLE>@import 'https://evil.example/x.css';</STYLE>",
    "<div><script>alert(1)</script></div>",
    # javascript: URLs in Markdown links, in every spelling.
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;&#x76;&#x61;script:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](java&#x0A;script:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](%20javascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '[x][ref]\n\n[ref]: JAVASCRIPT:alert(1) "title"',
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href=' javascript:alert(1)'>x</a>",
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">x</a>',
    '<a href="jav&#x0D;ascript:alert(1)">x</a>',
    # data: and vbscript: URLs in links and images.
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x](vbscript:msgbox(1))",
    "![x](VBScript:msgbox(1))",
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "[x][d]\n\n[d]: data:text/html,alert(1)",
    # Event handler attributes.
    "<img src=x onerror=alert(1)>",
    '<img src="https://ok.example/a.png" onerror="alert(1)">',
    "<img src=x ONERROR=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">hover</div>',
    '<div ONCLICK="alert(1)">click</div>',
    "<details open ontoggle=alert(1)><summary>s</summary>x</details>",
    '<p onclick="alert(1)">p</p>',
    "<a href=https://ok.example onfocus=alert(1) autofocus>x</a>",
    # SVG and MathML.
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
    '<math href="javascript:alert(1)">x</math>',
    # Embedding and navigation elements.
    "<iframe src=https://evil.example></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<form action="https://evil.example"><input type=submit></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<input autofocus onfocus=alert(1)>",
    '<textarea autofocus onfocus="alert(1)"></textarea>',
    '<video><source onerror="alert(1)"></video>',
    # style= attributes.
    '<div style="width: expression(alert(1))">x</div>',
    "<p style=\"background:url('javascript:alert(1)')\">x</p>",
    '<span style="behavior: url(x.htc)">x</span>',
    # Raw HTML inside link text and image alt text.
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "[<script>alert(1)</script>](https://ok.example)",
    "![<img src=x onerror=alert(1)>](https://ok.example/a.png)",
    '![x" onerror="alert(1)](https://ok.example/a.png)',
    "[x](https://ok.example/<script>alert(1)</script>)",
    # Comments and CDATA tricks.
    "<!-- <script>alert(1)</script> -->",
    "<!--><script>alert(1)</script>-->",
    "<!-- --!><img src=x onerror=alert(1)> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<![CDATA[><img src=x onerror=alert(1)>]]>",
    "<? <img src=x onerror=alert(1)> ?>",
    # Attribute-breaking quotes in link titles.
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "[x](https://ok.example 'a' onmouseover='alert(1)')",
    '[x](https://ok.example "a&quot; onmouseover=&quot;alert(1)")',
    '[x][t]\n\n[t]: https://ok.example "a\\" onclick=\\"alert(1)"',
    # Markdown attribute lists are not enabled; they must stay inert text.
    '## Heading {: onclick="alert(1)"}',
    'paragraph\n{: onclick="alert(1)" style="color:red"}',
    "[x](https://ok.example){: onmouseover=alert(1)}",
    # Fenced code: a hostile language hint.
    '```" onmouseover="alert(1)\ncode\n```',
    "```javascript:alert(1)\ncode\n```",
    # Template injection is just text.
    "{{ 7*7 }}",
    "{% debug %}{{ settings.SECRET_KEY }}",
    "${7*7} #{7*7} <%= 7*7 %>",
]

# Tags that must never appear as real markup (escaped text starts with "&lt;" instead).
FORBIDDEN_TAGS = [
    "script", "style", "iframe", "object", "embed", "svg", "math", "form", "meta", "base",
    "link", "input", "textarea", "button", "body", "html", "frame", "frameset", "template",
    "applet", "source", "video", "audio", "noscript", "xmp", "plaintext",
]  # fmt: skip
FORBIDDEN_TAG_RE = re.compile(r"<\s*/?\s*(" + "|".join(FORBIDDEN_TAGS) + r")\b", re.IGNORECASE)
# A whole tag in the serialised output, quoted attribute values included (text "<" is always
# escaped, so every "<" followed by a letter, "/", "!" or "?" starts markup).
TAG_RE = re.compile(r"""<[a-zA-Z!/?](?:"[^"]*"|'[^']*'|[^'">])*>""")
QUOTED_VALUE_RE = re.compile(r""""[^"]*"|'[^']*'""")
EVENT_ATTRIBUTE_RE = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
DANGEROUS_ATTRIBUTE_RE = re.compile(r"\s(style|srcdoc|xlink:href|formaction)\s*=", re.IGNORECASE)
SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
URL_ATTRIBUTES = {"href", "src"}


class TagCollector(HTMLParser):
    """Collect every start tag with its attributes, as a browser-like tokenizer sees them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, [(name, value), ...])
        self.comments = []
        self.declarations = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_decl(self, decl):
        self.declarations.append(decl)

    def unknown_decl(self, data):
        self.declarations.append(data)

    def handle_pi(self, data):
        self.declarations.append(data)


def parse(output):
    parser = TagCollector()
    parser.feed(output)
    parser.close()
    return parser


def _normalised_url(value):
    """The URL as a browser's URL parser starts on it (WHATWG URL standard): entities decoded,
    leading and trailing C0 controls and spaces stripped, tabs and newlines removed anywhere."""

    decoded = html.unescape(value)
    return re.sub(r"[\t\n\r]", "", decoded.strip("".join(map(chr, range(0x21)))))


def assert_safe_url(tag, name, value):
    """Allowed: http(s)/mailto URLs, "#fragment", "/path" and scheme-less relative paths.

    A browser only treats the start of a URL as a scheme when it is a letter followed by letters,
    digits, "+", "-" or "." up to a ':' (WHATWG URL standard). So "javascript:x" is a scheme,
    while "%20javascript:x" or "java    script:x" are relative paths resolved against the page.
    """

    url = _normalised_url(value)
    scheme = SCHEME_RE.match(url)
    if scheme is None:
        return  # "#fragment", "/path" or a relative path
    assert scheme.group(1).lower() in {"http", "https", "mailto"}, (
        f"<{tag} {name}={value!r}> has the disallowed scheme {scheme.group(1)!r}"
    )


def assert_inert(output):
    """Every tag and attribute in `output` is allowed and no URL can run code."""

    assert not FORBIDDEN_TAG_RE.search(output), output
    for markup in TAG_RE.findall(output):
        # Attribute values are text; only names outside quotes are attributes.
        names_only = QUOTED_VALUE_RE.sub('""', markup)
        assert not EVENT_ATTRIBUTE_RE.search(names_only), f"{markup!r} in {output!r}"
        assert not DANGEROUS_ATTRIBUTE_RE.search(names_only), f"{markup!r} in {output!r}"

    parsed = parse(output)
    assert not parsed.comments, output
    assert not parsed.declarations, output
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, f"tag <{tag}> is not allowed in {output!r}"
        allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        for name, value in attrs:
            assert name in allowed, f"<{tag} {name}> is not allowed in {output!r}"
            assert not name.startswith("on"), output
            assert name not in {"style", "srcdoc", "xlink:href"}, output
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                assert_safe_url(tag, name, value)
            if tag == "a" and name == "rel":
                assert value == "noopener nofollow", output
            if tag == "code" and name == "class":
                assert re.fullmatch(r"language-[A-Za-z_][A-Za-z0-9_]*", value), output


def test_payload_list_is_substantial():
    assert len(XSS_PAYLOADS) >= 40
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralised(payload):
    output = render(payload)
    assert_inert(output)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralised_in_context(payload):
    """The same payloads embedded in an ordinary document, inside lists and quotes."""

    text = (
        f"# Runbook\n\nIntro with [a link](https://ok.example).\n\n{payload}\n\n- item {payload}\n"
    )
    text += f"\n> {payload}\n\n| a | b |\n|---|---|\n| {payload} | x |\n"
    assert_inert(render(text))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_sanitise_alone_neutralises_raw_payload(payload):
    """`sanitise()` is also a public entry point: raw HTML that skipped Markdown is still safe."""

    assert_inert(markdown.sanitise(payload))


def test_assert_inert_catches_dangerous_output():
    # Guard the guard: the checker itself must reject what it is meant to reject.
    bad_outputs = [
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)" rel="noopener nofollow">x</a>',
        '<a href="&#106;avascript:alert(1)" rel="noopener nofollow">x</a>',
        '<a href="java&#x09;script:alert(1)" rel="noopener nofollow">x</a>',
        '<a href="&#x20;JAVASCRIPT&colon;alert(1)" rel="noopener nofollow">x</a>',
        '<a href="vbscript:msgbox(1)" rel="noopener nofollow">x</a>',
        '<img src="x" title="t" onerror="alert(1)">',
        '<img src="data:text/html,x">',
        '<img src="x" onerror="alert(1)">',
        '<p style="color:red">x</p>',
        "<svg></svg>",
        '<a href="ftp://example.com" rel="noopener nofollow">x</a>',
        '<code class="language-x y">x</code>',
        "<!-- comment -->",
    ]
    for bad in bad_outputs:
        with pytest.raises(AssertionError):
            assert_inert(bad)


def test_escaped_markup_is_visible_text():
    output = render("<script>alert(1)</script> and <b>bold</b>")
    assert "<script" not in output.lower()
    assert "<b>bold</b>" in output


def test_template_syntax_is_plain_text():
    output = render("{{ 7*7 }}")
    assert output == "<p>{{ 7*7 }}</p>"
    assert "49" not in output


def test_fenced_code_keeps_language_class():
    output = render("```bash\nkubectl get pods\n```")
    assert '<code class="language-bash">' in output
    assert "kubectl get pods" in output
    assert "<pre>" in output
    assert_inert(output)


def test_table_renders():
    output = render("| Name | Value |\n|:-----|------:|\n| cpu | 90% |\n")
    assert "<table>" in output
    assert "<th" in output and "<td" in output
    assert "cpu" in output and "90%" in output
    assert_inert(output)


def test_headings_get_ids():
    output = render("# Title\n\n## Meaning\n\ntext\n\n### Next steps")
    assert '<h2 id="meaning">Meaning</h2>' in output
    assert '<h3 id="next-steps">Next steps</h3>' in output
    assert_inert(output)


def test_links_get_rel_and_keep_https_href():
    output = render("[docs](https://docs.example.com/runbook?a=1&b=2)")
    parsed = parse(output)
    links = [dict(attrs) for tag, attrs in parsed.tags if tag == "a"]
    assert links == [
        {"href": "https://docs.example.com/runbook?a=1&b=2", "rel": "noopener nofollow"}
    ]
    assert_inert(output)


def test_link_title_survives_as_attribute():
    output = render('[docs](https://docs.example.com "The docs")')
    links = [dict(attrs) for tag, attrs in parse(output).tags if tag == "a"]
    assert links == [
        {"href": "https://docs.example.com", "title": "The docs", "rel": "noopener nofollow"}
    ]


def test_raw_link_gets_rel_too():
    output = render('<a href="https://ok.example" rel="opener" target="_blank">x</a>')
    links = [dict(attrs) for tag, attrs in parse(output).tags if tag == "a"]
    assert links == [{"href": "https://ok.example", "rel": "noopener nofollow"}]


def test_details_summary_survive():
    output = render("<details><summary>Logs</summary>\n\nsee below\n\n</details>")
    assert "<details>" in output
    assert "<summary>Logs</summary>" in output
    assert "</details>" in output
    assert_inert(output)


def test_mailto_links_survive():
    output = render("[mail us](mailto:oncall@example.com)")
    links = [dict(attrs) for tag, attrs in parse(output).tags if tag == "a"]
    assert links == [{"href": "mailto:oncall@example.com", "rel": "noopener nofollow"}]
    assert_inert(output)


def test_https_image_survives():
    output = render('![graph](https://ok.example/cpu.png "CPU")')
    images = [dict(attrs) for tag, attrs in parse(output).tags if tag == "img"]
    assert images == [{"src": "https://ok.example/cpu.png", "alt": "graph", "title": "CPU"}]


def test_relative_link_survives():
    output = render("[other runbook](/runbooks/disk-full/)")
    links = [dict(attrs) for tag, attrs in parse(output).tags if tag == "a"]
    assert links == [{"href": "/runbooks/disk-full/", "rel": "noopener nofollow"}]


def test_empty_string_renders_empty():
    assert render("") == ""


def test_code_blocks_inside_list_items_are_code():
    html = render("* Add the key:\n\n    ```yaml\n    neutron_ssh_key:\n    ```\n")
    assert '<li>\n<p>Add the key:</p>\n<pre><code class="language-yaml">' in html
