"""Reading Markdown documents with YAML front matter, and importing them through the same
write services (and so the same rules) as the API, so that an import behaves exactly like
an API call. Used by every importer and by load_demo."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from . import audit, services
from .exceptions import DomainError, PermissionDenied, ValidationError
from .metrics import IMPORT_RESULTS
from .models import Revision, Status
from .progress import Progress
from .revisions import ANY

logger = logging.getLogger(__name__)


def _huge_number(value) -> bool:
    if isinstance(value, int):
        return abs(value) > 10**18
    if isinstance(value, list):
        return any(_huge_number(item) for item in value)
    if isinstance(value, dict):
        return any(_huge_number(item) for item in value.values())
    return False


class FrontMatterLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases: front matter has no use for them, and
    a few nested aliases expand into gigabytes (the "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases are not allowed in front matter",
                event.start_mark,
            )
        return super().compose_node(parent, index)


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
                data = yaml.load(raw, Loader=FrontMatterLoader) if raw.strip() else {}
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                line = mark.line + 2 if mark is not None else 1
                raise ImportFailure(f"invalid front matter: {exc.problem}", line) from None
            except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
                # Also what the constructors raise: 2020-02-30, a 5000-digit number.
                raise ImportFailure(f"invalid front matter: {exc}", 1) from None
            if not isinstance(data, dict):
                raise ImportFailure("front matter must be a mapping of keys to values", 2)
            if not all(isinstance(key, str) for key in data):
                raise ImportFailure("front matter keys must be words, e.g. 'title'", 2)
            if any(_huge_number(value) for value in data.values()):
                raise ImportFailure("front matter holds a number too large to be meant", 2)
            return MarkdownFile(
                front_matter=data,
                body="\n".join(lines[index + 1 :]),
                body_line=index + 2,
            )
    raise ImportFailure("front matter starts with '---' but never ends", 1)


# Extensionless files that are never documents, whatever their first line says (an
# `OWNERS` file is YAML whose first line is often a `# comment`).
NOT_DOCUMENTS = {
    "OWNERS", "OWNERS_ALIASES", "CODEOWNERS", "MAINTAINERS", "LICENSE", "LICENCE", "COPYING",
    "NOTICE", "AUTHORS", "MAKEFILE", "DOCKERFILE", "VAGRANTFILE",
}  # fmt: skip
# A line of a YAML mapping or list: `approvers:`, `  - wking`, a `# comment`.
YAML_LINE = re.compile(r"\s*(?:#.*|-\s.*|-|[\w.\-]+:(?:\s.*)?)")


def is_markdown_file(path: Path) -> bool:
    """`.md`/`.markdown` files, and extensionless text files that are Markdown documents
    (start with a heading or front matter and are not a YAML file with `#` comments).
    A symbolic link is never one: it may point anywhere, /etc/passwd included."""
    if path.is_symlink() or not path.is_file():
        return False
    if path.suffix.lower() in (".md", ".markdown"):
        return True
    # "PM2022-009 - Bad AWS EKS AMI" has no extension; neither has "Notes v1.2 upgrade".
    has_extension = re.fullmatch(r"\.[A-Za-z0-9]{1,8}", path.suffix) is not None
    if has_extension or path.name.upper() in NOT_DOCUMENTS:
        return False
    try:
        with path.open("rb") as handle:
            start = handle.read(4096)
        text = start.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if not (first.startswith("#") or first.strip() == "---"):
        return False
    return not all(YAML_LINE.fullmatch(line) for line in lines)


# -- licences -----------------------------------------------------------------------------

LICENSE_FILE_NAMES = ("LICENSE", "LICENCE", "COPYING")
# Phrases of each licence's text, most specific first (the CC names contain each other).
LICENSE_PHRASES = [
    ("attribution-noncommercial-noderivatives 4.0", "CC-BY-NC-ND-4.0"),
    ("attribution-noncommercial-sharealike 4.0", "CC-BY-NC-SA-4.0"),
    ("attribution-noderivatives 4.0", "CC-BY-ND-4.0"),
    ("attribution-sharealike 4.0", "CC-BY-SA-4.0"),
    ("attribution 4.0 international", "CC-BY-4.0"),
    ("cc0 1.0 universal", "CC0-1.0"),
    ("apache license", "Apache-2.0"),
    ("mozilla public license version 2.0", "MPL-2.0"),
    ("mozilla public license, version 2.0", "MPL-2.0"),
    ("gnu affero general public license", "AGPL-3.0"),
    ("gnu general public license", "GPL"),
    ("permission is hereby granted, free of charge", "MIT"),
    ("redistribution and use in source and binary forms", "BSD"),
]


def license_of_text(text: str) -> str | None:
    """The SPDX id of a licence file's text, or None when it is none of those we know."""
    lower = " ".join(text.lower().split())
    for phrase, spdx in LICENSE_PHRASES:
        if phrase not in lower:
            continue
        if spdx == "Apache-2.0" and "version 2.0" not in lower:
            return None
        if spdx == "BSD":
            # The third clause forbids using the authors' names to endorse derivatives.
            return "BSD-3-Clause" if "neither the name" in lower else "BSD-2-Clause"
        if spdx == "GPL":
            version = "3.0" if "version 3" in lower else "2.0" if "version 2" in lower else None
            spdx = f"GPL-{version}" if version else None
        if spdx in ("AGPL-3.0", "GPL-3.0", "GPL-2.0"):
            # The full text ends with the how-to notice ("or (at your option) any later
            # version"), so only a notice above the terms says "or later".
            terms = lower.find("terms and conditions")
            later = "any later version" in lower[: max(terms, 0)]
            return f"{spdx}-{'or-later' if later else 'only'}"
        return spdx
    return None


def find_license(root: Path, *, levels: int = 3, top: Path | None = None):
    """(SPDX id, licence file) of the `LICENSE`/`COPYING` file in `root` or its nearest
    ancestor that has one, at most `levels` up and never above `top`; None when there is
    none. A licence file that names no licence we know is (None, file): it is reported,
    not guessed."""
    folder = root.resolve()
    top = top.resolve() if top is not None else None
    for _ in range(levels + 1):
        candidates = (
            sorted(
                path
                for path in folder.iterdir()
                if path.is_file()
                and not path.is_symlink()
                and path.name.upper().split(".")[0] in LICENSE_FILE_NAMES
            )
            if folder.is_dir()
            else []
        )
        if candidates:
            try:
                text = candidates[0].read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None, candidates[0]
            return license_of_text(text), candidates[0]
        if folder == top or folder.parent == folder:
            break
        folder = folder.parent
    return None


def describe(error: ValidationError) -> str:
    """A ValidationError as one line: "field: message; other: message"."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def import_document(
    *, model, organisation, slug: str, fields: dict, actor, dry_run=False, create_defaults=None
):
    """Create or replace one document from importer `fields` (API field names, references as
    slugs, times as ISO strings). Returns ("created" | "updated" | "unchanged", document).
    Raises ImportFailure.

    The importer owns the content it imports, so an update replaces whatever is current
    (If-Match: *). `create_defaults` apply only when the document is new. With `dry_run` the
    same work is done and rolled back.
    """
    if dry_run:
        with transaction.atomic():
            outcome, document = _import_document(
                model, organisation, slug, fields, actor, create_defaults
            )
            transaction.set_rollback(True)
        return outcome, document
    # The services' writes are atomic themselves: another savepoint here would cost two
    # statements per file and change nothing.
    return _import_document(model, organisation, slug, fields, actor, create_defaults)


def _import_document(model, organisation, slug, fields, actor, create_defaults):
    data = dict(fields)
    acknowledge = bool(data.pop("acknowledge_warnings", False))
    try:
        outcome, document = services.document_put(
            model=model,
            organisation=organisation,
            slug=slug,
            data=data,
            actor=actor,
            if_match=services.OWNED,
            create_defaults=create_defaults,
            message="Imported",
            acknowledge_warnings=acknowledge,
        )
    except ValidationError as error:
        raise ImportFailure(describe(error)) from None
    except (DomainError, PermissionDenied) as error:
        raise ImportFailure(str(error)) from None
    return outcome, document


def prune_missing(model, kept_paths, options, *, kept_slugs=None) -> int:
    """Archive (never delete) the organisation's imported documents whose source file is
    gone or now skipped. A document is found by the path it was imported from
    (Document.source_path), not by its slug: a file that moved, or whose slug came from
    front matter, is still the same file. `kept_paths` are the files imported or failed in
    this run (a broken file keeps its document). Documents imported before paths were
    stored have none: `kept_slugs`, when given, decides for them."""
    imported = Revision.objects.filter(
        content_type=ContentType.objects.get_for_model(model), via=Revision.Via.IMPORT
    ).values("object_id")
    documents = model.objects.filter(organisation=options["organisation"], pk__in=imported).exclude(
        status=Status.ARCHIVED
    )
    gone = list(documents.exclude(source_path="").exclude(source_path__in=kept_paths))
    if kept_slugs is not None:
        gone += documents.filter(source_path="").exclude(slug__in=kept_slugs)
    for document in gone:
        if not options["dry_run"]:
            services.document_archive(
                document=document,
                actor=options["actor"],
                if_match=ANY,
                message="Archived: its file is gone from the imported tree, or now skipped",
            )
    return len(gone)


OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")


@dataclass
class ImportSummary:
    """What an import did, file by file, and in total."""

    total: int = 0
    counts: dict = field(
        default_factory=lambda: dict.fromkeys(
            ("created", "updated", "unchanged", "skipped", "failed"), 0
        )
    )
    files: list = field(default_factory=list)  # {"file", "outcome", "note"}
    notes: list = field(default_factory=list)  # remarks about the whole run

    @property
    def ok(self) -> bool:
        return self.counts.get("failed", 0) == 0

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "files_total": self.total,
            **self.counts,
            "files": self.files,
            "notes": self.notes,
        }


# What an import publishes with, unless the files or the options say otherwise: nothing
# becomes public by accident (API.md "Management commands").
PUBLICATION_DEFAULTS = {"visibility": "organisation", "status": "published", "license": None}


def settle_publication_options(options: dict):
    """Note which of --visibility, --status and --license were given (`options["explicit"]`)
    and fill in the defaults for the others."""
    if "explicit" in options:
        return
    options["explicit"] = {name for name in PUBLICATION_DEFAULTS if options.get(name)}
    for name, default in PUBLICATION_DEFAULTS.items():
        if not options.get(name):
            options[name] = default


def publication_fields(fields: dict, options: dict) -> dict:
    """Apply the publication options to one file's `fields`; returns the defaults for a
    document the import creates. What the file sets wins; an option given explicitly
    applies to existing documents too; a default applies only to new ones, so re-importing
    a tree never hides what was made public since."""
    settle_publication_options(options)
    create_defaults = {}
    for name in PUBLICATION_DEFAULTS:
        if name in fields or options.get(name) is None:
            continue
        if name in options["explicit"]:
            fields[name] = options[name]
        else:
            create_defaults[name] = options[name]
    return create_defaults


def run_import(importer, options: dict, *, on_start=None, on_file=None) -> ImportSummary:
    """Run an importer (anything with sources(), import_one() and finish()) over its files.

    Files are imported FILES_PER_TRANSACTION to a transaction, each in its own savepoint
    (all-or-nothing per file); a file that fails is recorded and the others go on.
    `on_start(total)` once the files are known, and `on_file(index, total, record)` after
    each, report progress. A dry run does all the work in a transaction that is rolled
    back, so what it reports is what a real run would do (catalogue entries it creates
    included).
    """
    settle_publication_options(options)
    if options.get("dry_run"):
        with transaction.atomic():
            summary = _run_import(importer, options, on_start, on_file)
            transaction.set_rollback(True)
        return summary
    return _run_import(importer, options, on_start, on_file)


# Files imported per transaction. A commit per file costs a WAL flush per file (with the
# default synchronous_commit); a savepoint per file still keeps a failing file to itself.
FILES_PER_TRANSACTION = 100


def _run_import(importer, options, on_start, on_file) -> ImportSummary:
    summary = ImportSummary()
    sources = list(importer.sources(options))
    summary.total = len(sources)
    if on_start is not None:
        on_start(summary.total)
    for start in range(0, len(sources), FILES_PER_TRANSACTION):
        with transaction.atomic():
            batch = sources[start : start + FILES_PER_TRANSACTION]
            for index, (name, path) in enumerate(batch, start=start + 1):
                record = _import_file(importer, name, path, options)
                summary.counts[record["outcome"]] = summary.counts.get(record["outcome"], 0) + 1
                summary.files.append(record)
                if on_file is not None:
                    on_file(index, len(sources), record)
    for name, value in importer.finish(options).items():
        if name == "notes":
            summary.notes.extend(value)
        else:
            summary.counts[name] = summary.counts.get(name, 0) + value
    _account_for(importer, options, summary)
    return summary


def _account_for(importer, options, summary: ImportSummary):
    """One audit event for the whole run (each document it wrote has its own), and the
    outcomes in the metrics. A dry run changed nothing: neither is told about it."""
    if options.get("dry_run"):
        return
    model = getattr(importer, "model", None)
    kind = model._meta.model_name if model is not None else type(importer).__name__
    for outcome, count in summary.counts.items():
        if count and outcome in OUTCOMES:
            IMPORT_RESULTS.labels(kind=kind, outcome=outcome).inc(count)
    actor = options.get("actor")
    if actor is not None:
        audit.record(
            actor,
            "import",
            organisation=options.get("organisation"),
            detail={"kind": kind, "files": summary.total, **summary.counts},
        )


def _import_file(importer, name, path, options) -> dict:
    """One file, in a savepoint of the batch's transaction: whatever fails, this file's
    writes alone are rolled back and the batch goes on."""
    try:
        with transaction.atomic():
            outcome, note = importer.import_one(name, path, options)
    except ImportFailure as failure:
        outcome, note = "failed", str(failure)
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
        # A bug, not bad input: logged with its traceback, and this file fails alone
        # (its savepoint was rolled back).
        logger.exception("importing %s failed unexpectedly", name)
        outcome, note = "failed", f"unexpected error ({type(error).__name__}); see the log"
    return {"file": name, "outcome": outcome, "note": note}


class ImportCommand(BaseCommand):
    """The shape every importer command shares (API.md "Management commands"): acts as the
    instance's operator, needs an existing organisation, `--visibility` (default
    organisation: nothing becomes public by accident), `--status` (default published),
    `--dry-run`, progress on stderr (opsknowledge.progress) and a summary on stdout; exit 1
    when any file failed.

    Subclasses implement `sources(options)` (yielding (name, path) pairs) and
    `import_one(name, path, options)` returning (outcome, note); raising ImportFailure
    marks the file failed, returning ("skipped", reason) skips it deliberately.
    """

    status_choices = ("draft", "published")
    # An importer object that does the work (sources, import_one, finish), for commands
    # that share one with the API's upload; set it in handle() before calling super().
    importer = None

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="publishing organisation slug")
        parser.add_argument(
            "--visibility",
            choices=["public", "community", "organisation"],
            help="for documents the import creates (default: organisation); given "
            "explicitly, also for existing documents whose file does not set it",
        )
        parser.add_argument(
            "--status",
            choices=self.status_choices,
            help="as --visibility (default: published)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="do everything but write; print the summary"
        )

    def handle(self, *args, **options):
        from .models import Organisation

        try:
            options["organisation"] = Organisation.objects.get(slug=options["organisation"])
        except Organisation.DoesNotExist:
            raise CommandError(
                f"No organisation '{options['organisation']}'; create it with create_organisation."
            ) from None
        options["actor"] = services.Actor.operator()

        name = self.__module__.rsplit(".", 1)[-1]
        with Progress(self.stderr, name, unit="files") as bar:

            def report(index, total, record):
                if record["outcome"] in ("failed", "skipped") or record["note"]:
                    stream = self.stderr if record["outcome"] == "failed" else self.stdout
                    bar.write(f"{record['outcome']}: {record['file']}: {record['note']}", stream)
                bar.update()

            summary = run_import(self.importer or self, options, on_start=bar.start, on_file=report)
        for note in summary.notes:
            self.stdout.write(f"note: {note}")
        counts = ", ".join(f"{count} {outcome}" for outcome, count in summary.counts.items())
        prefix = "Dry run, nothing written: " if options["dry_run"] else ""
        self.stdout.write(f"{prefix}{summary.total} files: {counts}.")
        if not summary.ok:
            raise CommandError(f"{summary.counts['failed']} file(s) failed; see above.")

    def sources(self, options):
        raise NotImplementedError

    def import_one(self, name, path, options):
        raise NotImplementedError

    def finish(self, options) -> dict:
        """Work after all files (e.g. pruning); returns more summary counts, and remarks
        about the whole run under "notes"."""
        return {}
