"""The one place Markdown becomes HTML: Python-Markdown, then nh3 with an allow-list.

Everything rendered for a browser or returned as `*_html` by the API goes through
`render()`; nothing else may mark text as safe.
"""

import markdown as _markdown
import nh3

# superfences (pymdown-extensions) rather than Python-Markdown's fenced_code: runbooks and
# release notes put code blocks inside list items, which fenced_code leaves as plain text.
EXTENSIONS = [
    "markdown.extensions.tables",
    "pymdownx.highlight",
    "pymdownx.superfences",
    "markdown.extensions.sane_lists",
    "markdown.extensions.toc",
]
EXTENSION_CONFIGS = {
    "markdown.extensions.toc": {"permalink": False},
    # No Pygments markup: the sanitiser would strip its spans and classes anyway.
    "pymdownx.highlight": {"use_pygments": False},
}

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


def _allowed_class(tag: str, attribute: str, value: str) -> str | None:
    # Only the language hint of fenced code blocks survives ("language-bash").
    if tag == "code" and attribute == "class":
        return value if value.startswith("language-") and value[9:].isidentifier() else None
    return value


def render(text: str) -> str:
    if not text:
        return ""
    html = _markdown.markdown(
        text, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
    )
    return sanitise(html)


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
