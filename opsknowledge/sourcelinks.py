"""Relative links in an imported document, resolved when its Markdown is rendered: the
stored body stays byte for byte as in the repository, and its `body_html` links work here.

A link is resolved from the document's stored source path (Document.source_path):
- to another Markdown file of the tree (`../x/y.md#anchor`): the page of the document that
  file becomes, by the slug importers derive from its path (references.slug_from_tree_path).
  The slug is deterministic, so the link is right whatever the import order and needs no
  re-rendering when the target arrives later; a target whose slug is not derived from its
  path (front matter `slug`, a repeated file name) is not found, and lint says so.
- to an image or any other file of the tree: the raw file in the repository, when the
  document's source URL says where that is (`import_runbooks --source-url`). Nothing of the
  repository is served from our origin, so an SVG never runs script here.
- links leaving the tree, absolute paths, anchors and URLs with a scheme stay as written.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from urllib.parse import unquote, urljoin, urlsplit

from django.urls import NoReverseMatch, reverse

from .references import MARKDOWN_SUFFIXES, slug_from_tree_path


def tree_target(source_path: str, url: str) -> tuple[str, str] | None:
    """(path in the tree, fragment) a relative link in the file at `source_path` points
    to; None when the link is not relative or leaves the tree."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source_path), unquote(parts.path)))
    if joined == ".." or joined.startswith("../"):
        return None
    return joined, parts.fragment


def is_markdown_path(path: str) -> bool:
    return path.lower().endswith(MARKDOWN_SUFFIXES)


def resolver(
    kind: str, organisation: str, source_path: str, source_url: str = ""
) -> Callable[[str, bool], str | None] | None:
    """`resolve(url, image)` → the URL to render instead, or None to keep it as written;
    None when the document has no source path (nothing is relative to anything)."""
    if not source_path:
        return None

    def resolve(url: str, image: bool) -> str | None:
        found = tree_target(source_path, url)
        if found is None:
            return None
        path, fragment = found
        if not image and is_markdown_path(path):
            slug = slug_from_tree_path(path)
            try:
                page = reverse(f"{kind}-page", kwargs={"organisation": organisation, "slug": slug})
            except NoReverseMatch:
                return None
            return f"{page}#{fragment}" if fragment else page
        if source_url:
            return urljoin(source_url, url)
        return None

    return resolve


def unresolvable(source_path: str, source_url: str, url: str) -> bool:
    """A relative link that rendering cannot make work: it leaves the tree, or it names a
    file that is no document while the repository's address is not known."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return False
    found = tree_target(source_path, url)
    return found is None or (not is_markdown_path(found[0]) and not source_url)
