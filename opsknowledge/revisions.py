"""Revision, ETag and If-Match machinery shared by every document kind.

A document's content is its `snapshot()`: a JSON-able dict of its CONTENT_FIELDS, with
references as slugs and lists sorted. Two writes with equal snapshots are the same content
(no new revision); each new revision stores the snapshot in full.
"""

import datetime
import difflib
import re

from django.db import models

ANY = "*"  # If-Match: * — replace whatever is current
# A revision number as clients write it: ASCII digits ("²".isdigit() is true), bounded.
REVISION_NUMBER = re.compile(r"[0-9]{1,9}")


def snapshot_value(value):
    """The JSON-able form of one field value, in the snapshot's vocabulary."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        if hasattr(value, "reference"):
            return value.reference()  # a document: "organisation/slug"
        return getattr(value, "slug", None) or str(value)
    if isinstance(value, dict):
        return {key: snapshot_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        items = [snapshot_value(item) for item in value]
        # Sets of references and tags are compared and stored sorted; ordered lists
        # (timelines, action items) arrive as lists of dicts and keep their order.
        if all(isinstance(item, str) for item in items):
            return sorted(set(items))
        return items
    return str(value)


def snapshot(document) -> dict:
    """The content of `document` as stored now."""
    return {name: snapshot_value(value) for name, value in document.content_data().items()}


def parse_if_match(header: str | None):
    """None when absent, ANY for `*`, else the set of revision numbers it names.

    Accepts `"3"`, `W/"3"`, `3` and comma-separated lists; entity tags that are no revision
    number can match nothing and so yield an empty set (→ 412).
    """
    if header is None:
        return None
    header = header.strip()
    if header == ANY:
        return ANY
    numbers = set()
    for part in header.split(","):
        part = part.strip().removeprefix("W/").strip('"')
        if REVISION_NUMBER.fullmatch(part):
            numbers.add(int(part))
    return numbers


def etag(revision: int) -> str:
    return f'"{revision}"'


def _lines(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item if isinstance(item, str) else _format_item(item) for item in value]
    return str(value).splitlines()


def _format_item(item) -> str:
    if isinstance(item, dict):
        return " | ".join(f"{key}: {item[key]}" for key in sorted(item))
    return str(item)


def diff_snapshots(old: dict, new: dict, *, old_label: str, new_label: str) -> dict[str, str]:
    """{"field": "<unified diff>"} for every field whose value differs."""
    changes = {}
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        diff = difflib.unified_diff(
            _lines(before),
            _lines(after),
            fromfile=f"{old_label}/{name}",
            tofile=f"{new_label}/{name}",
            lineterm="",
        )
        changes[name] = "\n".join(diff) + "\n"
    return changes
