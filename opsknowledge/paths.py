"""Documents' addresses: each URL pattern reversed once, then filled in per document.

A list page names two addresses per row (`url`, `api_url`). Django's `reverse` and
`build_absolute_uri` cost about 50 µs per address: a fifth of a 200-row list's time. A
document's address is `<prefix><organisation slug>/<slug>/` and slugs only hold characters
that need no quoting ([-a-zA-Z0-9_], what the `slug` converter accepts), so the pattern
reversed once with placeholders and filled in by concatenation is the same string.
"""

import re

from django.urls import get_script_prefix, get_urlconf, reverse

# What the URL patterns' `slug` converter accepts: anything else goes through `reverse`,
# which refuses it as it always did.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# Placeholders the slug converter accepts and no real prefix contains.
_ORGANISATION_MARK, _SLUG_MARK = "okb0organisation0mark", "okb0slug0mark"

# (URL name, urlconf, script prefix) -> (before, between, after): the text around the
# organisation slug and the document slug. Filled lazily; a race only reverses twice.
_patterns: dict[tuple, tuple[str, str, str]] = {}


def document_path(name: str, organisation: str, slug: str) -> str:
    """`reverse(name, kwargs={"organisation": organisation, "slug": slug})`, cheaply."""
    if not (_SLUG.fullmatch(organisation) and _SLUG.fullmatch(slug)):
        return reverse(name, kwargs={"organisation": organisation, "slug": slug})
    key = (name, get_urlconf(), get_script_prefix())
    parts = _patterns.get(key)
    if parts is None:
        marked = reverse(name, kwargs={"organisation": _ORGANISATION_MARK, "slug": _SLUG_MARK})
        before, rest = marked.split(_ORGANISATION_MARK)
        between, after = rest.split(_SLUG_MARK)
        parts = _patterns[key] = (before, between, after)
    before, between, after = parts
    return f"{before}{organisation}{between}{slug}{after}"


def absolute_url(request, path: str) -> str:
    """`request.build_absolute_uri(path)` for this project's paths, with the origin worked
    out once per request; `path` itself when there is no request."""
    if request is None:
        return path
    # Django's own fast case (an absolute path without dot segments), and ASCII, which
    # iri_to_uri leaves as it is.
    if not path.startswith("/") or path.startswith("//") or "/." in path or not path.isascii():
        return request.build_absolute_uri(path)
    origin = getattr(request, "_okb_origin", None)
    if origin is None:
        origin = request.build_absolute_uri("/").removesuffix("/")
        request._okb_origin = origin
    return origin + path
