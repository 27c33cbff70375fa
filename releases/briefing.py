"""The upgrade briefing: everything an operator should know before moving a cloud from one
release to another, hop by hop (API.md "Releases and upgrades").

`plan_briefing()` frames the path and counts what the reader may see on each step (aggregates
only); `fingerprint()` turns that into the ETag, so a 304 loads no document; `load_rows()`
then fetches the notes and each step's most relevant runbooks and reports (a bounded number);
`briefing_markdown()` renders it for a terminal. The JSON form is rendered by the API view.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode

from django.db.models import Case, Count, F, Max, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from incidents.models import FailureReport
from opsknowledge import markdown
from opsknowledge.models import BriefingStamp, Component, Release, Status
from opsknowledge.models.documents import having_any
from opsknowledge.visibility import Access
from runbooks.models import Runbook

from .models import BRIEFING_KINDS, NoteKind, ReleaseNote


class BriefingError(Exception):
    """Bad input: `status` 400 or 404, `field` the parameter at fault."""

    def __init__(self, status: int, field: str, message: str):
        self.status, self.field, self.message = status, field, message
        super().__init__(message)


# Each step shows at most this many upgrade runbooks and failure reports, the most relevant
# first; the counts and the filtered list URLs lead to the rest (API.md).
STEP_LIMIT = 10

try:
    APP_VERSION = importlib.metadata.version("opsknowledge")
except importlib.metadata.PackageNotFoundError:  # running from a tree that is not installed
    APP_VERSION = "unknown"


@dataclass
class Stamp:
    """What identifies the set of rows a reader sees on a step cheaply: its size, a version
    that changes on every write to one of them (or one joining or leaving the set), and the
    latest such write."""

    count: int = 0
    version: str = ""
    updated: datetime | None = None

    def __str__(self):
        at = self.updated.isoformat() if self.updated else ""
        return f"{self.count}:{self.version}:{at}"


@dataclass
class Step:
    previous: Release
    release: Release
    notes: list = field(default_factory=list)
    runbooks: list = field(default_factory=list)
    incidents: list = field(default_factory=list)
    stamps: dict[str, Stamp] = field(default_factory=dict)  # "notes"/"runbooks"/"incidents"
    runbooks_url: str = ""  # the filtered list endpoints (path and query)
    incidents_url: str = ""

    @property
    def runbooks_count(self) -> int:
        return self.stamps["runbooks"].count

    @property
    def incidents_count(self) -> int:
        return self.stamps["incidents"].count


@dataclass
class Briefing:
    start: Release
    end: Release
    component: Component | None
    kinds: tuple[str, ...]
    steps: list[Step]
    warnings: list[str]
    today: date
    access: Access | None = None
    component_ids: set[int] | None = None
    loaded: bool = False

    def last_modified(self):
        stamps = [s.updated for step in self.steps for s in step.stamps.values() if s.updated]
        return max(stamps) if stamps else None


def parse_kinds(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return tuple(BRIEFING_KINDS)
    kinds = tuple(dict.fromkeys(k.strip() for k in raw.split(",") if k.strip()))
    if not kinds:
        return tuple(BRIEFING_KINDS)
    unknown = [k for k in kinds if k not in NoteKind.values]
    if unknown:
        raise BriefingError(
            400, "kind", f"unknown kind '{unknown[0]}'; valid: {', '.join(NoteKind.values)}."
        )
    return kinds


def _release(slug: str | None, name: str, chain: list[Release]) -> Release:
    if not slug:
        raise BriefingError(400, name, f"'{name}' is required, e.g. {name}=r3.")
    for release in chain:
        if release.slug == slug:
            return release
    raise BriefingError(404, name, f"No release '{slug}'.")


def plan_briefing(
    *, start: str, end: str, access, component: str | None = None, kinds: str | None = None
) -> Briefing:
    """The briefing's frame and, per step, the size and version stamps of what the reader
    may see — aggregates only, no document row: enough for the ETag and the counts.
    `access` None is the instance's operator (management command): everything published."""
    chain = Release.objects.in_upgrade_order()
    first, last = _release(start, "from", chain), _release(end, "to", chain)
    if chain.index(first) > chain.index(last):
        raise BriefingError(
            400, "from", f"'{first.slug}' comes after '{last.slug}': briefings go forward."
        )
    wanted_kinds = parse_kinds(kinds)
    component_obj, component_ids = None, None
    if component:
        component_obj = Component.objects.lookup(component)
        if component_obj is None:
            raise BriefingError(404, "component", f"No component '{component}'.")
        component_ids = Component.objects.with_descendants([component_obj])
    hops = chain[chain.index(first) + 1 : chain.index(last) + 1]
    steps = [Step(previous=chain[chain.index(r) - 1], release=r) for r in hops]
    today = timezone.localdate()
    warnings = []
    if len(hops) > 1:
        warnings.append(
            f"This path crosses {len(hops)} releases ({', '.join(r.slug for r in hops)}). "
            "Upstream advises upgrading one release at a time: finish and verify each step "
            "before starting the next."
        )
    if last.end_of_maintenance and last.end_of_maintenance < today:
        warnings.append(
            f"{last.name} ({last.slug}) reached its end of maintenance on "
            f"{last.end_of_maintenance.isoformat()}: plan the next upgrade."
        )
    briefing = Briefing(
        first,
        last,
        component_obj,
        wanted_kinds,
        steps,
        warnings,
        today,
        access=access,
        component_ids=component_ids,
    )
    for step in steps:
        query = {"status": Status.PUBLISHED}
        if component_obj is not None:
            query["component"] = component_obj.slug
        step.runbooks_url = (
            reverse("api:runbook-list")
            + "?"
            + urlencode(
                {"upgrade_from": step.previous.slug, "upgrade_to": step.release.slug, **query}
            )
        )
        step.incidents_url = (
            reverse("api:incident-list") + "?" + urlencode({"release": step.release.slug, **query})
        )
        step.stamps = {name: Stamp() for name in ("notes", "runbooks", "incidents")}
    if steps:
        _stamp(briefing)
    return briefing


def _notes(briefing: Briefing):
    notes = _readable(ReleaseNote.objects.all(), briefing).filter(
        release__in=[s.release for s in briefing.steps],
        kind__in=briefing.kinds,
        status=Status.PUBLISHED,
    )
    if briefing.component_ids is not None:
        notes = notes.filter(component__in=briefing.component_ids)
    return notes


def _runbooks(briefing: Briefing):
    # A step's runbooks go from the release before it to it (not a skip over several).
    hops = Q()
    for step in briefing.steps:
        hops |= Q(upgrade_from=step.previous, upgrade_to=step.release)
    # upgrade_to__in as well: the briefing index's first column, so that the OR of the
    # pairs is checked on its entries rather than by a bitmap scan of the rows.
    runbooks = _readable(Runbook.objects.all(), briefing).filter(
        hops, upgrade_to__in=[step.release for step in briefing.steps], status=Status.PUBLISHED
    )
    if briefing.component_ids is not None:
        runbooks = having_any(runbooks, "components", briefing.component_ids)
    return runbooks


def _incidents(briefing: Briefing):
    # One row per (report, release of the path): the join column is the step.
    reports = _readable(FailureReport.objects.all(), briefing).filter(
        releases__in=[s.release for s in briefing.steps], status=Status.PUBLISHED
    )
    if briefing.component_ids is not None:
        reports = having_any(reports, "components", briefing.component_ids)
    return reports.annotate(step_release=F("releases"))


def _readable(queryset, briefing: Briefing):
    return queryset if briefing.access is None else queryset.visible_to(briefing.access)


def _stamp(briefing: Briefing) -> None:
    """The stamps the write services keep (models.BriefingStamp), summed over what the
    reader may see: one query over a few rows per step, whatever the number of documents.
    A component filter is not kept in stamps (a document has several components, and a
    parent's filter takes its children): then the documents are aggregated instead."""
    if briefing.component_ids is not None:
        _aggregate_stamps(briefing)
        return
    by_release = {step.release.pk: step for step in briefing.steps}
    names = {
        Runbook._meta.model_name: "runbooks",
        FailureReport._meta.model_name: "incidents",
        ReleaseNote._meta.model_name: "notes",
    }
    rows = (
        _readable(BriefingStamp.objects.all(), briefing)
        .filter(release__in=list(by_release), kind__in=list(names))
        .values_list("kind", "release_id", "start_pk", "note_kind")
        .annotate(n=Sum("count"), version=Sum("version"), at=Max("updated"))
        .order_by()
    )
    totals = {}
    for kind, release_pk, start_pk, note_kind, count, version, updated in rows:
        step = by_release[release_pk]
        # A runbook counts on the step from the release before; a note only of a kind shown.
        if kind == Runbook._meta.model_name and start_pk != step.previous.pk:
            continue
        if kind == ReleaseNote._meta.model_name and note_kind not in briefing.kinds:
            continue
        key = (release_pk, names[kind])
        total = totals.setdefault(key, [0, 0, None])
        total[0] += count
        total[1] += version
        total[2] = max(total[2] or updated, updated)
    for (release_pk, name), (count, version, updated) in totals.items():
        by_release[release_pk].stamps[name] = Stamp(count, str(version), updated)


def _aggregate_stamps(briefing: Briefing) -> None:
    """One aggregate query per kind of row for the whole path, grouped by step: the size,
    sums of the ids and revisions (an edit, or one row swapped for another) and the latest
    `updated` of what the reader may see."""
    by_release = {step.release.pk: step for step in briefing.steps}
    grouped = (
        ("notes", _notes(briefing), "release_id", Value(0)),
        ("runbooks", _runbooks(briefing), "upgrade_to_id", Sum("revision")),
        ("incidents", _incidents(briefing), "step_release", Sum("revision")),
    )
    for name, queryset, step_column, revisions in grouped:
        rows = (
            queryset.order_by()
            .values(step_column)
            .annotate(n=Count("pk"), ids=Sum("pk"), revs=revisions, at=Max("updated"))
        )
        for row in rows:
            by_release[row[step_column]].stamps[name] = Stamp(
                row["n"], f"{row['ids']}:{row['revs'] or 0}", row["at"]
            )


def _severity_rank(model):
    """The model's severities in their declared order (most severe first), unset last."""
    values = model._meta.get_field("severity").choices
    return Case(
        *[When(severity=value, then=Value(rank)) for rank, (value, _label) in enumerate(values)],
        default=Value(len(values)),
    )


def _relevance(briefing: Briefing, model) -> list:
    """The caller's organisation first, then severity, then the most recently updated."""
    own = sorted(briefing.access.organisation_ids) if briefing.access else []
    order = [_severity_rank(model).asc(), F("updated").desc(), F("pk").desc()]
    if own:
        order.insert(0, Case(When(organisation_id__in=own, then=Value(0)), default=Value(1)).asc())
    return order


# What the briefing shows of a runbook or report: never the bodies.
BRIEF_FIELDS = ("organisation__slug", "organisation__name", "slug", "title", "summary")
BRIEF_FIELDS += ("revision", "updated", "severity", "organisation_id")
BRIEF_EXTRA_FIELDS = {Runbook: ("upgrade_from_id", "upgrade_to_id"), FailureReport: ("started_at",)}


def _most_relevant(briefing: Briefing, model, candidates, step_column: str) -> list:
    """(step's release pk, row) for the STEP_LIMIT most relevant rows of each step, in
    order. The ranking reads only the columns the order needs (the model's briefing index
    holds them: an index-only scan), so the database ranks every candidate of the path
    without visiting a row; the few rows shown are then read by id, through the reader's
    visibility again (a row hidden in between is left out, never shown)."""
    ranked = list(
        candidates.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F(step_column)],
                order_by=_relevance(briefing, model),
            )
        )
        .filter(rank__lte=STEP_LIMIT)
        .order_by(step_column, "rank")
        .values_list(step_column, "pk")
    )
    rows = (
        _readable(model.objects.all(), briefing)
        .filter(status=Status.PUBLISHED)
        .select_related("organisation")
        .only(*BRIEF_FIELDS, *BRIEF_EXTRA_FIELDS[model])
        .in_bulk({pk for _, pk in ranked})  # no query when nothing was ranked
    )
    return [(step_pk, rows[pk]) for step_pk, pk in ranked if pk in rows]


def load_rows(briefing: Briefing) -> Briefing:
    """Fill each step with its notes and its most relevant runbooks and reports: one query
    for the notes and two for each of the other kinds (the ranking, the rows shown) for the
    whole path, whatever the number of documents."""
    if briefing.loaded or not briefing.steps:
        briefing.loaded = True
        return briefing
    by_release = {step.release.pk: step for step in briefing.steps}
    releases = {step.release.pk: step.release for step in briefing.steps}
    releases.update({step.previous.pk: step.previous for step in briefing.steps})
    notes = _notes(briefing).select_related("organisation", "component")
    for note in notes.order_by("release_id", "kind", "organisation__slug", "order", "pk"):
        note.release = releases[note.release_id]
        by_release[note.release_id].notes.append(note)
    runbooks = _most_relevant(briefing, Runbook, _runbooks(briefing), "upgrade_to_id")
    for step_pk, runbook in runbooks:
        runbook.upgrade_from = releases[runbook.upgrade_from_id]
        runbook.upgrade_to = releases[runbook.upgrade_to_id]
        by_release[step_pk].runbooks.append(runbook)
    reports = _most_relevant(briefing, FailureReport, _incidents(briefing), "step_release")
    for step_pk, report in reports:
        by_release[step_pk].incidents.append(report)
    briefing.loaded = True
    return briefing


def build_briefing(**kwargs) -> Briefing:
    """The whole briefing (see `plan_briefing` for the arguments)."""
    return load_rows(plan_briefing(**kwargs))


def fingerprint(briefing: Briefing, representation: str, *extra: str) -> str:
    """A strong ETag for the representation from the plan alone (no row loaded): the
    application version, the representation, the request's own parameters (`extra`), the
    reader, the releases of the path and the stamps of what the reader sees on each step.
    Anything that changes the output changes one of these: a document archived, hidden,
    published or edited changes its step's count, sums or latest `updated`."""
    access = briefing.access
    reader = (
        "operator"
        if access is None
        else (f"{sorted(access.organisation_ids)}:{access.is_community_member}")
    )
    parts = [
        APP_VERSION,
        representation,
        *extra,
        reader,
        briefing.start.slug,
        briefing.end.slug,
        ",".join(briefing.kinds),
        briefing.component.slug if briefing.component else "",
        ",".join(str(pk) for pk in sorted(briefing.component_ids or ())),
        *briefing.warnings,
    ]
    for step in briefing.steps:
        for release in (step.previous, step.release):
            parts.append(
                f"R{release.pk}:{release.slug}:{release.name}:{release.version}:"
                f"{release.released_on}:{release.end_of_maintenance}"
            )
        parts += [f"{name}={stamp}" for name, stamp in step.stamps.items()]
    return '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32] + '"'


def demote_headings(text: str, levels: int) -> str:
    """Push the headings of embedded Markdown below the briefing's own (at most ######)."""
    lines = text.split("\n")
    # Bottom up, so that a setext heading turned into one line moves no heading below it.
    for heading in reversed(markdown.parse(text).headings):
        hashes = "#" * min(6, heading.level + levels)
        if heading.end_line == heading.line:
            line = lines[heading.line - 1]
            at = line.index("#")  # what comes before is indentation or a quote's ">"
            lines[heading.line - 1] = line[:at] + hashes + line[at + heading.level :]
        elif not heading.nested:  # text and underline become one ATX heading
            source = " ".join(heading.source.split("\n"))
            lines[heading.line - 1 : heading.end_line] = [f"{hashes} {source}"]
    return "\n".join(lines)


def _release_line(release: Release) -> str:
    facts = [release.version] if release.version else []
    if release.released_on:
        facts.append(f"released {release.released_on.isoformat()}")
    if release.end_of_maintenance:
        facts.append(f"maintained until {release.end_of_maintenance.isoformat()}")
    return f"{release.name}" + (f" ({', '.join(facts)})" if facts else "")


def _more(step: Step, kind: str, noun: str, base_url: str) -> list[str]:
    """A line leading to the full list when the step shows only the first STEP_LIMIT."""
    shown, count = len(getattr(step, kind)), getattr(step, f"{kind}_count")
    if count <= shown:
        return []
    url = getattr(step, f"{kind}_url")
    return ["", f"Showing {shown} of {count} {noun}, most relevant first; all: <{base_url}{url}>"]


def briefing_markdown(briefing: Briefing, base_url: str = "") -> str:
    load_rows(briefing)
    lines = [
        f"# Upgrade briefing: {briefing.start.slug} → {briefing.end.slug}",
        "",
        f"From {_release_line(briefing.start)} to {_release_line(briefing.end)}.",
        f"Note kinds: {', '.join(briefing.kinds)}."
        + (f" Component: {briefing.component.name} (and its parts)." if briefing.component else ""),
        "",
    ]
    for warning in briefing.warnings:
        lines += [f"> **Warning:** {warning}", ""]
    if not briefing.steps:
        lines += ["Nothing to do: the cloud is already on this release.", ""]
    for number, step in enumerate(briefing.steps, start=1):
        lines += [
            f"## Step {number}: {step.previous.slug} → {step.release.slug}",
            "",
            _release_line(step.release) + ".",
            "",
            "### Upgrade runbooks",
            "",
        ]
        lines += [
            f"- **{r.title}** ({r.reference()}): {r.summary or 'no summary'} "
            f"<{base_url}{r.get_absolute_url()}>"
            for r in step.runbooks
        ] or ["- None published for this step."]
        lines += _more(step, "runbooks", "runbooks", base_url)
        lines += ["", "### What went wrong for others", ""]
        lines += [
            f"- **{i.title}** ({i.reference()}"
            + (f", {i.severity}" if i.severity else "")
            + (f", {i.started_at:%Y-%m-%d}" if i.started_at else "")
            + f"): {i.summary or 'no summary'} <{base_url}{i.get_absolute_url()}>"
            for i in step.incidents
        ] or ["- No published failure reports for this release."]
        lines += _more(step, "incidents", "failure reports", base_url)
        lines += ["", "### Release notes", ""]
        if not step.notes:
            lines += ["No notes of these kinds.", ""]
        for note in step.notes:
            about = f" [{note.component.name}]" if note.component else ""
            lines += [f"#### {note.get_kind_display()}: {note.title}{about}", ""]
            if note.body.strip():
                lines += [demote_headings(note.body.strip(), 4), ""]
            source = f" Source: <{note.source_url}>" if note.source_url else ""
            lines += [f"_Published by {note.organisation.name}.{source}_", ""]
    return "\n".join(lines).rstrip() + "\n"
