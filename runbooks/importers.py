"""Runbooks as code: a tree of Markdown files (optional YAML front matter) in, and out again.

`RunbookTreeImporter` is what `import_runbooks` and `POST /api/v1/import/` both run (via
opsknowledge.importing.run_import), so a pipeline's upload behaves exactly like the command.
Whatever the front matter leaves out is derived: the title from the first real heading,
the slug from the file name, the alert name from a CamelCase file name, the component from
the folder. `export_tree` writes the same layout back, with complete front matter.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import yaml
from django.utils.text import slugify

from opsknowledge import markdown, references
from opsknowledge.importing import (
    ImportFailure,
    find_license,
    import_document,
    is_markdown_file,
    prune_missing,
    publication_fields,
    read_markdown,
)
from opsknowledge.models import Component
from opsknowledge.references import MARKDOWN_SUFFIXES

from .models import Practice, Runbook

KINDS = {"runbook": Runbook, "practice": Practice}
# Front matter keys the importer reads; anything else (Hugo's weight, aliases...) is
# ignored and reported once per run.
KNOWN_KEYS = {
    "title", "slug", "summary", "components", "releases", "tags", "alerts", "severity",
    "visibility", "status", "license", "upgrade_from", "upgrade_to", "last_reviewed",
}  # fmt: skip
RUNBOOK_ONLY_KEYS = {"alerts", "severity", "upgrade_from", "upgrade_to"}
# An alert name as Prometheus rules spell them (KubePodCrashLooping, etcdNoLeader,
# ACMRemoteWriteError): an identifier with an upper-case letter after the first character,
# which a word ("diagnosis") or a sentence never is.
ALERT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEPRECATED = re.compile(r"\s*\[deprecated\]\s*$", re.I)
NO_COMPONENT_FOLDER = "no-component"
SOURCE_URL_MAX = 500  # Document.source_url
# A folder's overview page: it takes the folder's name (or is skipped when it only links).
OVERVIEW_NAMES = references.OVERVIEW_STEMS
# A list item that is nothing but a link (a table of contents, a list of the folder's pages).
LINK_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+(?:\[[^\]]*\]\([^)]*\)|<[^>]+>|https?://\S+)\s*")


def slug_from_file_name(path: Path) -> str:
    """The one derivation (opsknowledge.references), for a path."""
    return references.slug_from_file_name(path.name)


def is_alert_name(name: str) -> bool:
    return ALERT_NAME.fullmatch(name) is not None and any(c.isupper() for c in name[1:])


def first_paragraph(body: str, limit: int = 300) -> str:
    """The first real paragraph as plain text (markdown.Document.prose: no table of
    contents, badges or markup): a summary for lists and search results when the front
    matter has none."""
    text = next(markdown.parse(body).prose(), "")
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def readable_name(path: Path) -> str:
    """A file name as a title: `pg_repack.md` → "pg repack"."""
    stem = path.stem if path.suffix.lower() in MARKDOWN_SUFFIXES else path.name
    return " ".join(re.sub(r"[_\-]+", " ", stem).split()) or stem


def only_links(body: str) -> bool:
    """Nothing but headings, link-only list items and blank lines: a list of pages."""
    return all(
        not line.strip() or line.lstrip().startswith("#") or LINK_ITEM.fullmatch(line)
        for line in body.split("\n")
    )


def first_h1(body: str) -> str | None:
    """The plain text of the first level-1 heading outside lists and quotes."""
    return next(
        (h.text.strip() for h in markdown.parse(body).headings if h.level == 1 and not h.nested),
        None,
    )


def as_list(value, key: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    raise ImportFailure(f"front matter '{key}' must be a list or a single value")


class RunbookTreeImporter:
    """Import one tree of Markdown files into one organisation (see module docstring).

    `refused`: (name, reason) of archive entries the upload did not unpack (links), so
    that they are reported as skipped files like the command reports them. `license_top`:
    the folder above which no licence file is looked for (an upload's archive root)."""

    def __init__(
        self,
        *,
        kind: str = "runbook",
        create_components: bool = False,
        prune: bool = False,
        refused=(),
        license_top: Path | None = None,
        source_url: str = "",
    ):
        self.model = KINDS[kind]
        self.create_components = create_components
        self.prune = prune
        self.license_top = license_top
        self.ignored_keys: Counter = Counter()
        self.unknown_folders: dict[str, int] = Counter()
        self.imported_slugs: dict[str, str] = {}  # slug -> file, to refuse duplicates
        self.kept_slugs: set[str] = set()  # documents --prune must keep: files that failed
        self.kept_paths: set[str] = set()  # the same, by source path
        # The raw-file address of the tree's root (a repository's): documents link to it.
        self.source_url = source_url.rstrip("/")
        self.skips: dict[str, str] = dict(refused)
        self.alert_folders: set[Path] = set()
        self.renamed: list[str] = []
        self.license: str | None = None
        self.license_note = ""

    # -- the files ------------------------------------------------------------------------

    def sources(self, options):
        root = Path(options["root"])
        if not root.is_dir():
            raise ImportFailure(f"{root} is not a directory")
        self._settle_license(root, options)
        found = []
        for folder, dirs, files in os.walk(root, followlinks=False):
            here = Path(folder)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in list(dirs):
                if (here / name).is_symlink():
                    # A linked folder may lead out of the tree; os.walk does not enter it.
                    relative = str((here / name).relative_to(root))
                    self.skips[relative] = "a symbolic link; links are not followed"
                    found.append((relative, here / name))
            for name in sorted(f for f in files if not f.startswith(".")):
                path = here / name
                relative = str(path.relative_to(root))
                if path.is_symlink():
                    # Not read, not even to see whether it is Markdown: it may point anywhere.
                    if name.lower().endswith(MARKDOWN_SUFFIXES) or not path.suffix:
                        self.skips[relative] = "a symbolic link; links are not followed"
                        found.append((relative, path))
                elif is_markdown_file(path):
                    found.append((relative, path))
        markdown_paths = [path for name, path in found if name not in self.skips]
        self._find_alert_folders(markdown_paths)
        found.extend((name, None) for name in self.skips if name not in dict(found))
        return sorted(found, key=lambda item: item[0])

    def _find_alert_folders(self, paths):
        """Folders holding at least one alert runbook (an H1 that is an alert name): only
        there does a file without such an H1 get its alert name from its file name, so
        `helpers/checkOperator.md` names no alert."""
        for path in paths:
            try:
                body = read_markdown(path.read_bytes().decode("utf-8")).body
            except (OSError, UnicodeDecodeError, ImportFailure):
                continue
            heading = first_h1(body)
            if heading and is_alert_name(DEPRECATED.sub("", heading)):
                self.alert_folders.add(path.parent)

    def _settle_license(self, root: Path, options):
        """The repository's licence file decides for files whose front matter names none;
        --license only when there is none (issue: CC-BY-SA-4.0 whatever the repository said)."""
        found = find_license(root, top=self.license_top)
        if found is None:
            # The default needs no note: only what overrides it is said.
            if options.get("license"):
                self.license_note = (
                    f"licence {options['license']} (--license; no LICENSE or COPYING file found)"
                )
            return
        spdx, path = found
        where = path.name if path.parent == root.resolve() else os.path.relpath(path, root)
        if spdx is None:
            self.license_note = f"{where} names no licence known here; not applied"
            return
        self.license = spdx
        self.license_note = f"licence {spdx} from {where}"

    def import_one(self, name: str, path: Path | None, options):
        try:
            return self._import_one(name, path, options)
        except ImportFailure:
            # A file that fails is broken, not gone: --prune keeps the document its name
            # derives (a slug from broken front matter is not known).
            self.kept_paths.add(name)
            stem = path.stem.lower() if path.suffix.lower() in MARKDOWN_SUFFIXES else path.name
            named = path.parent if stem in OVERVIEW_NAMES else path
            self.kept_slugs.add(references.slug_from_file_name(named.name))
            raise

    def _import_one(self, name: str, path: Path | None, options):
        if name in self.skips:
            return "skipped", self.skips[name]
        root = Path(options["root"])
        stem = path.stem.lower() if path.suffix.lower() in MARKDOWN_SUFFIXES else path.name.lower()
        overview = stem in OVERVIEW_NAMES
        if path.name.startswith("_") and not overview:
            return "skipped", "a partial of a site generator ('_' name), not a runbook"
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
        if not text.strip():
            return "skipped", "an empty file"
        parsed = read_markdown(text)
        if overview:
            if only_links(parsed.body):
                what = "a section page (_index.md)" if stem == "_index" else "a folder overview"
                return "skipped", f"{what} with nothing but headings and links"
            if path.parent == root:
                return "skipped", "the repository's README, not a runbook"
        if not parsed.body.strip():
            return "skipped", "nothing but front matter"
        fields, slug, derived = self.fields_for(path, root, parsed, overview=overview)
        note = ""
        earlier = self.imported_slugs.get(slug)
        if earlier is not None and derived:
            # Two files of one tree with the same name (OpenShift has KubeAPIDown.md in two
            # operator folders): the later one in path order takes its folder as a prefix,
            # the same on every run, and neither replaces the other.
            prefixed = f"{references.slug_from_file_name(path.parent.name)}-{slug}"
            note = f"slug '{slug}' is taken by {earlier}; imported as '{prefixed}'"
            slug, earlier = prefixed, self.imported_slugs.get(prefixed)
        if earlier is not None:
            raise ImportFailure(f"slug '{slug}' is already used by {earlier}")
        self.imported_slugs[slug] = name
        self.kept_slugs.add(slug)
        self.kept_paths.add(name)
        fields["source_path"] = name
        if self.source_url:
            url = f"{self.source_url}/{quote(Path(name).as_posix())}"
            if len(url) <= SOURCE_URL_MAX:  # else its images stay unresolved (lint says so)
                fields["source_url"] = url
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
        return outcome, note

    def fields_for(self, path: Path, root: Path, parsed, *, overview=False):
        """(fields, slug, whether the slug was derived from the file name)."""
        front = dict(parsed.front_matter)
        for key in sorted(set(front) - KNOWN_KEYS):
            self.ignored_keys[key] += 1
            front.pop(key)
        if self.model is not Runbook:
            for key in sorted(RUNBOOK_ONLY_KEYS & set(front)):
                self.ignored_keys[key] += 1
                front.pop(key)
        derived = not front.get("slug")
        if not derived:
            slug = str(front.pop("slug"))
        else:
            # The derivation relative links resolve by (opsknowledge.sourcelinks).
            slug = references.slug_from_tree_path(path.relative_to(root).as_posix())
        front.pop("slug", None)
        if not slug:
            raise ImportFailure(
                f"no slug: the file name '{path.name}' has no letters or digits; "
                "set 'slug' in the front matter"
            )
        fields = {"body": parsed.body, **front}
        heading = first_h1(parsed.body)
        deprecated = heading is not None and DEPRECATED.search(heading) is not None
        if heading is not None:
            heading = DEPRECATED.sub("", heading).strip() or None
        title = front.get("title")
        if title is not None and not isinstance(title, str):
            raise ImportFailure(f"front matter 'title' must be text, not {type(title).__name__}")
        if isinstance(title, str):
            title = " ".join(markdown.parse(title).prose()) or title.strip()
        readable = readable_name(path.parent if overview else path)
        fields["title"] = title or heading or readable
        if "summary" not in front:
            fields["summary"] = first_paragraph(parsed.body)
        if self.model is Runbook and "alerts" not in front:
            fields["alerts"] = self.alert_names(path, heading)
        if "components" in front:
            fields["components"] = [
                self.component_named(str(name), from_folder=False)
                for name in as_list(front["components"], "components")
            ]
        else:
            component = self.folder_component(path.parent.relative_to(root).parts)
            fields["components"] = [component] if component else []
        for key in ("releases", "tags", "alerts"):
            if key in fields:
                fields[key] = [str(item) for item in as_list(fields[key], key)]
        if deprecated:
            fields["tags"] = sorted({*fields.get("tags", []), "deprecated"})
        if "license" not in fields and self.license:
            fields["license"] = self.license
        return fields, slug, derived

    def alert_names(self, path: Path, heading: str | None) -> list[str]:
        """The file name and the H1 when they look like alert names (both, when they name
        different alerts: `MachineConfigDaemonRebootError.md` / `# MCDRebootError`); none
        when the H1 is a sentence or the folder holds no alert runbook (`helpers/`)."""
        if heading is not None and not is_alert_name(heading):
            return []
        if path.parent not in self.alert_folders:
            return []
        stem = path.stem if path.suffix.lower() in MARKDOWN_SUFFIXES else path.name
        names = [name for name in (stem, heading) if name and is_alert_name(name)]
        return list(dict.fromkeys(names))

    def folder_component(self, folders: tuple[str, ...]) -> str | None:
        """The nearest folder naming a catalogue component (slug or alias); else, with
        create_components, the first folder below the import root. `alerts/`, `helpers/`
        or an archive's top folder is not a component because it is a folder."""
        if not folders or NO_COMPONENT_FOLDER in folders:
            return None
        for name in reversed(folders):
            component = Component.objects.lookup(name)
            if component is not None:
                return component.slug
        return self.component_named(folders[0], from_folder=True)

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
        result, notes = {}, [self.license_note] if self.license_note else []
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
        """Archive the organisation's imported documents whose files are gone or now
        skipped, by their stored source path (opsknowledge.importing.prune_missing)."""
        return prune_missing(self.model, self.kept_paths, options, kept_slugs=self.kept_slugs)


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
