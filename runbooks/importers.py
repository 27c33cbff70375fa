"""Runbooks as code: a tree of Markdown files (optional YAML front matter) in, and out again.

`RunbookTreeImporter` is what `import_runbooks` and `POST /api/v1/import/` both run (via
opsknowledge.importing.run_import), so a pipeline's upload behaves exactly like the command.
Whatever the front matter leaves out is derived: the title from the first real heading,
the slug from the file name, the alert name from a CamelCase file name, the component from
the folder. `export_tree` writes the same layout back, with complete front matter.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml
from django.contrib.contenttypes.models import ContentType
from django.utils.text import slugify

from opsknowledge import markdown, services
from opsknowledge.importing import (
    ImportFailure,
    import_document,
    is_markdown_file,
    publication_fields,
    read_markdown,
)
from opsknowledge.models import Component, Revision, Status
from opsknowledge.revisions import ANY

from .models import Practice, Runbook

KINDS = {"runbook": Runbook, "practice": Practice}
# Front matter keys the importer reads; anything else (Hugo's weight, aliases...) is
# ignored and reported once per run.
KNOWN_KEYS = {
    "title", "slug", "summary", "components", "releases", "tags", "alerts", "severity",
    "visibility", "status", "license", "upgrade_from", "upgrade_to", "last_reviewed",
}  # fmt: skip
RUNBOOK_ONLY_KEYS = {"alerts", "severity", "upgrade_from", "upgrade_to"}
# An alert name as Prometheus rules spell them: KubePodCrashLooping, TargetDown.
CAMEL_CASE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$")
NO_COMPONENT_FOLDER = "no-component"


def slug_from_file_name(path: Path) -> str:
    """Django's slugify of the file name without its Markdown extension (API.md)."""
    name = path.stem if path.suffix.lower() in (".md", ".markdown") else path.name
    return slugify(name)


def first_paragraph(body: str, limit: int = 300) -> str:
    """The first paragraph of prose (not a heading, list, table, quote or code): a summary
    for lists and search results when the front matter has none."""
    # One that opens with a Hugo shortcode or raw HTML is markup, not a summary.
    prose = (text for text in markdown.parse(body).paragraphs() if not text.startswith(("{{", "<")))
    text = next(prose, "")
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def as_list(value, key: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    raise ImportFailure(f"front matter '{key}' must be a list or a single value")


class RunbookTreeImporter:
    """Import one tree of Markdown files into one organisation (see module docstring)."""

    def __init__(
        self, *, kind: str = "runbook", create_components: bool = False, prune: bool = False
    ):
        self.model = KINDS[kind]
        self.create_components = create_components
        self.prune = prune
        self.ignored_keys: Counter = Counter()
        self.unknown_folders: dict[str, int] = Counter()
        self.imported_slugs: dict[str, str] = {}  # slug -> file, to refuse duplicates

    # -- the files ------------------------------------------------------------------------

    def sources(self, options):
        root = Path(options["root"])
        if not root.is_dir():
            raise ImportFailure(f"{root} is not a directory")
        files = sorted(p for p in root.rglob("*") if p.is_file() and not self._hidden(p, root))
        markdown = [p for p in files if is_markdown_file(p)]
        for path in markdown:
            yield str(path.relative_to(root)), path

    @staticmethod
    def _hidden(path: Path, root: Path) -> bool:
        return any(part.startswith(".") for part in path.relative_to(root).parts)

    def import_one(self, name: str, path: Path, options):
        if path.name.startswith("_"):
            return "skipped", "a section page (_index.md), not a runbook"
        if not path.suffix:
            twin = path.with_name(path.name + ".md")
            if twin.exists():
                return (
                    "skipped",
                    f"an extensionless duplicate of {twin.name}; that file is imported",
                )
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFailure(f"not valid UTF-8 (byte {exc.start})") from None
        parsed = read_markdown(text)
        fields, slug = self.fields_for(path, Path(options["root"]), parsed)
        earlier = self.imported_slugs.get(slug)
        if earlier is not None:
            raise ImportFailure(f"slug '{slug}' is already used by {earlier}")
        create_defaults = publication_fields(fields, options)
        outcome, _document = import_document(
            model=self.model,
            organisation=options["organisation"],
            slug=slug,
            fields=fields,
            actor=options["actor"],
            dry_run=options["dry_run"],
            create_defaults=create_defaults,
        )
        self.imported_slugs[slug] = name
        return outcome, ""

    def fields_for(self, path: Path, root: Path, parsed) -> tuple[dict, str]:
        front = dict(parsed.front_matter)
        for key in sorted(set(front) - KNOWN_KEYS):
            self.ignored_keys[key] += 1
            front.pop(key)
        if self.model is not Runbook:
            for key in sorted(RUNBOOK_ONLY_KEYS & set(front)):
                self.ignored_keys[key] += 1
                front.pop(key)
        slug = str(front.pop("slug", "") or slug_from_file_name(path))
        if not slug:
            raise ImportFailure("no slug: set 'slug' in the front matter")
        fields = {"body": parsed.body, **front}
        headings = markdown.parse(parsed.body).headings
        first_heading = headings[0].source if headings else None
        fields["title"] = str(front.get("title") or first_heading or path.stem)
        if "summary" not in front:
            fields["summary"] = first_paragraph(parsed.body)
        if self.model is Runbook and "alerts" not in front:
            stem = path.stem if path.suffix else path.name
            fields["alerts"] = [stem] if CAMEL_CASE.match(stem) else []
        if "components" in front:
            fields["components"] = [
                self.component_named(str(name), from_folder=False)
                for name in as_list(front["components"], "components")
            ]
        else:
            folder = path.parent.relative_to(root).parts
            component = self.component_named(folder[-1], from_folder=True) if folder else None
            fields["components"] = [component] if component else []
        for key in ("releases", "tags", "alerts"):
            if key in fields:
                fields[key] = [str(item) for item in as_list(fields[key], key)]
        return fields, slug

    def component_named(self, name: str, *, from_folder: bool) -> str | None:
        """The slug of the component `name` names (slug or alias); with create_components
        a missing one is created, else a folder is reported and a front matter name fails."""
        if from_folder and name == NO_COMPONENT_FOLDER:
            return None
        component = Component.objects.lookup(name)
        if component is not None:
            return component.slug
        slug = slugify(name)
        if self.create_components and slug:
            component, _ = Component.objects.get_or_create(
                slug=slug, defaults={"name": name.replace("-", " ").title()}
            )
            return component.slug
        if from_folder:
            self.unknown_folders[name] += 1
            return None
        raise ImportFailure(f"unknown component '{name}' (use --create-components to create it)")

    # -- after all files ------------------------------------------------------------------

    def finish(self, options) -> dict:
        result, notes = {}, []
        if self.ignored_keys:
            notes.append(
                "ignored front matter keys: "
                + ", ".join(f"{key} ({n} files)" for key, n in sorted(self.ignored_keys.items()))
            )
        if self.unknown_folders:
            notes.append(
                "folders that name no component (documents imported without one; "
                "--create-components creates them): "
                + ", ".join(f"{f} ({n} files)" for f, n in sorted(self.unknown_folders.items()))
            )
        if self.prune:
            result["pruned"] = self.prune_missing(options)
        result["notes"] = notes
        return result

    def prune_missing(self, options) -> int:
        """Archive (never delete) the organisation's imported documents whose files are gone."""
        imported = Revision.objects.filter(
            content_type=ContentType.objects.get_for_model(self.model),
            via=Revision.Via.IMPORT,
        ).values("object_id")
        gone = (
            self.model.objects.filter(organisation=options["organisation"], pk__in=imported)
            .exclude(slug__in=self.imported_slugs)
            .exclude(status=Status.ARCHIVED)
        )
        pruned = 0
        for document in gone:
            if not options["dry_run"]:
                services.document_archive(
                    document=document,
                    actor=options["actor"],
                    if_match=ANY,
                    message="Archived: its file disappeared from the imported tree",
                )
            pruned += 1
        return pruned


# -- export -------------------------------------------------------------------------------


def front_matter_of(document) -> dict:
    """Complete front matter: every content field, references as slugs."""
    content = document.content_data()
    front = {"title": document.title, "slug": document.slug}
    for name in document.CONTENT_FIELDS:
        if name in ("title", "body"):
            continue
        value = content[name]
        if isinstance(value, list):
            value = sorted(getattr(item, "slug", item) for item in value)
        elif hasattr(value, "slug"):
            value = value.slug
        front[name] = value
    return front


def export_path(document, *, per_organisation: bool) -> Path:
    components = sorted(c.slug for c in document.components.all())
    folder = components[0] if components else NO_COMPONENT_FOLDER
    path = Path(folder) / f"{document.slug}.md"
    return Path(document.organisation.slug) / path if per_organisation else path


def export_document(document) -> str:
    front = yaml.safe_dump(
        front_matter_of(document), sort_keys=False, allow_unicode=True, width=100
    )
    return f"---\n{front}---\n{document.body}"
