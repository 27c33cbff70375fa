"""Template filters of the document pages."""

import re
from html import unescape

from django import template

register = template.Library()

# body_html is the sanitiser's output, so its markup is regular enough for a pattern.
LEADING_H1 = re.compile(r"\A\s*<h1(?:\s[^>]*)?>(.*?)</h1>\s*", re.S)
TAG = re.compile(r"<[^>]+>")


def _comparable(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())


@register.filter
def without_title_heading(html: str, title: str) -> str:
    """`html` without a leading H1 that repeats the document's title (ignoring case, spaces
    and punctuation): the page shows the title as its own H1. The stored body keeps it, as
    its author wrote it for the Git hosting that shows no title of its own."""
    heading = LEADING_H1.match(html)
    if heading and _comparable(unescape(TAG.sub("", heading.group(1)))) == _comparable(title):
        return html[heading.end() :]
    return html


HEADING_WITH_ID = re.compile(r'<h([1-6]) id="([^"<>]+)">(.*?)</h\1>', re.S)


@register.filter
def with_anchor_links(html: str) -> str:
    """Each heading that has an anchor gets a link to itself, to copy a section's address."""
    return HEADING_WITH_ID.sub(
        lambda m: (
            f'<h{m[1]} id="{m[2]}">{m[3]} <a class="heading-anchor" href="#{m[2]}" '
            f'aria-label="Link to this section">#</a></h{m[1]}>'
        ),
        html,
    )
