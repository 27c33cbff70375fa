"""Reading Markdown documents with YAML front matter, and importing them through the same
validation (the API serializers) and the same write services as the API, so that an import
behaves exactly like an API call. Used by every importer and by load_demo."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction
from django.utils.module_loading import import_string
from rest_framework.exceptions import APIException, ValidationError

from . import services
from .api.documents import replacement_defaults
from .api.errors import flatten_errors
from .revisions import ANY

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class ImportFailure(Exception):
    """A file that cannot be imported, with where and why."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason, self.line = reason, line
        super().__init__(reason if line is None else f"line {line}: {reason}")


@dataclass
class MarkdownFile:
    front_matter: dict = field(default_factory=dict)
    body: str = ""
    body_line: int = 1  # the line of the file where the body starts (1-based)


def read_markdown(text: str) -> MarkdownFile:
    """Split optional YAML front matter (between `---` lines at the very top) from the body."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return MarkdownFile(body=text)
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            raw = "\n".join(lines[1:index])
            try:
                data = yaml.safe_load(raw) if raw.strip() else {}
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                line = mark.line + 2 if mark is not None else 1
                raise ImportFailure(f"invalid front matter: {exc.problem}", line) from None
            except yaml.YAMLError as exc:
                raise ImportFailure(f"invalid front matter: {exc}", 1) from None
            if not isinstance(data, dict):
                raise ImportFailure("front matter must be a mapping of keys to values", 2)
            return MarkdownFile(
                front_matter=data,
                body="\n".join(lines[index + 1 :]).lstrip("\n"),
                body_line=index + 2,
            )
    raise ImportFailure("front matter starts with '---' but never ends", 1)


def headings(body: str):
    """(level, text, line) of every Markdown heading outside fenced code blocks."""
    in_fence = None
    for number, line in enumerate(body.split("\n"), start=1):
        fence = FENCE.match(line)
        if fence:
            if in_fence is None:
                in_fence = fence.group(1)
            elif fence.group(1) == in_fence:
                in_fence = None
            continue
        if in_fence is None:
            match = HEADING.match(line)
            if match:
                yield len(match.group(1)), match.group(2).strip(), number


def first_heading(body: str) -> str | None:
    for _level, text, _line in headings(body):
        return text
    return None


def is_markdown_file(path: Path) -> bool:
    """`.md`/`.markdown` files, and extensionless text files that start with a heading."""
    if path.suffix.lower() in (".md", ".markdown"):
        return True
    if path.suffix or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            start = handle.read(4096)
        text = start.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.startswith("#") or first.strip() == "---"


def serializer_for(model):
    return import_string(model.SERIALIZER)


@transaction.atomic
def import_document(*, model, organisation, slug: str, fields: dict, actor, dry_run=False):
    """Create or update one document from importer `fields` (API field names, references as
    slugs). Returns ("created" | "updated" | "unchanged", document). Raises ImportFailure.

    The importer owns the content it imports, so an update replaces whatever is current
    (If-Match: *). With `dry_run` the same work is done and rolled back.
    """
    existing = model.objects.filter(organisation=organisation, slug=slug).first()
    serializer = serializer_for(model)(
        instance=existing, data={**fields, "organisation": organisation.slug, "slug": slug}
    )
    if not serializer.is_valid():
        errors = flatten_errors(serializer.errors)
        raise ImportFailure(
            "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        )
    data = dict(serializer.validated_data)
    acknowledge = data.pop("acknowledge_warnings", False)
    data.pop("organisation", None)
    data.pop("slug", None)
    try:
        if existing is None:
            document = services.document_create(
                model=model,
                organisation=organisation,
                slug=slug,
                data=data,
                actor=actor,
                message="Imported",
                acknowledge_warnings=acknowledge,
            )
            outcome = "created"
        else:
            document, changed = services.document_update(
                document=existing,
                data={**replacement_defaults(model), **data},
                actor=actor,
                if_match=ANY,
                message="Imported",
                acknowledge_warnings=acknowledge,
            )
            outcome = "updated" if changed else "unchanged"
    except ValidationError as exc:
        errors = flatten_errors(exc.detail)
        raise ImportFailure(
            "; ".join(
                f"{name}: {' '.join(map(str, messages))}" for name, messages in errors.items()
            )
        ) from None
    except APIException as exc:
        raise ImportFailure(str(exc.detail)) from None
    if dry_run:
        transaction.set_rollback(True)
    return outcome, document
