"""The upgrade briefing: everything an operator should know before moving a cloud from one
release to another, hop by hop (API.md "Releases and upgrades").

`build_briefing()` selects what the reader may see; `fingerprint()` identifies that
selection cheaply (for ETag/304); `briefing_markdown()` renders it for a terminal. The JSON
form is rendered by the API view.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from incidents.models import FailureReport
from opsknowledge import markdown
from opsknowledge.models import Component, Release, Status
from runbooks.models import Runbook

from .models import BRIEFING_KINDS, NoteKind, ReleaseNote


class BriefingError(Exception):
    """Bad input: `status` 400 or 404, `field` the parameter at fault."""

    def __init__(self, status: int, field: str, message: str):
        self.status, self.field, self.message = status, field, message
        super().__init__(message)


@dataclass
class Step:
    previous: Release
    release: Release
    notes: list = field(default_factory=list)
    runbooks: list = field(default_factory=list)
    incidents: list = field(default_factory=list)


@dataclass
class Briefing:
    start: Release
    end: Release
    component: Component | None
    kinds: tuple[str, ...]
    steps: list[Step]
    warnings: list[str]
    today: date

    def rows(self):
        for step in self.steps:
            yield from step.notes
            yield from step.runbooks
            yield from step.incidents

    def last_modified(self):
        stamps = [row.updated for row in self.rows()]
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


def build_briefing(
    *, start: str, end: str, access, component: str | None = None, kinds: str | None = None
) -> Briefing:
    """`access` None is the instance's operator (management command): everything published."""
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
    by_release = {step.release.pk: step for step in steps}

    def readable(queryset):
        return queryset if access is None else queryset.visible_to(access)

    # One query per kind of row for the whole path, grouped by hop below.
    notes = readable(ReleaseNote.objects.all()).filter(
        release__in=hops, kind__in=wanted_kinds, status=Status.PUBLISHED
    )
    runbooks = readable(Runbook.objects.all()).filter(upgrade_to__in=hops, status=Status.PUBLISHED)
    incidents = readable(FailureReport.objects.all()).filter(
        releases__in=hops, status=Status.PUBLISHED
    )
    if component_ids is not None:
        notes = notes.filter(component__in=component_ids)
        runbooks = runbooks.filter(components__in=component_ids)
        incidents = incidents.filter(components__in=component_ids)
    for note in notes.select_related("organisation", "component", "release").order_by(
        "release_id", "kind", "organisation__slug", "order", "pk"
    ):
        by_release[note.release_id].notes.append(note)
    for runbook in (
        runbooks.select_related("organisation", "upgrade_from")
        .distinct()
        .order_by("organisation__slug", "slug")
    ):
        step = by_release[runbook.upgrade_to_id]
        if runbook.upgrade_from_id == step.previous.pk:
            step.runbooks.append(runbook)
    for report in (
        incidents.select_related("organisation")
        .prefetch_related("releases")
        .distinct()
        .order_by("-started_at", "organisation__slug", "slug")
    ):
        for release in report.releases.all():
            if release.pk in by_release:
                by_release[release.pk].incidents.append(report)

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
    return Briefing(first, last, component_obj, wanted_kinds, steps, warnings, today)


def fingerprint(briefing: Briefing, representation: str) -> str:
    """A strong ETag for the representation, without rendering it: everything the output is
    made of (releases, the rows the reader sees and their versions, warnings, format)."""
    parts = [
        representation,
        briefing.start.slug,
        briefing.end.slug,
        ",".join(briefing.kinds),
        briefing.component.slug if briefing.component else "",
        *briefing.warnings,
    ]
    for step in briefing.steps:
        release = step.release
        parts.append(f"R{release.pk}:{release.name}:{release.version}:{release.released_on}")
        parts += [f"N{n.pk}:{n.updated.isoformat()}" for n in step.notes]
        parts += [f"B{r.pk}:{r.revision}:{r.updated.isoformat()}" for r in step.runbooks]
        parts += [f"I{i.pk}:{i.revision}:{i.updated.isoformat()}" for i in step.incidents]
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


def briefing_markdown(briefing: Briefing, base_url: str = "") -> str:
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
        lines += ["", "### What went wrong for others", ""]
        lines += [
            f"- **{i.title}** ({i.reference()}"
            + (f", {i.severity}" if i.severity else "")
            + (f", {i.started_at:%Y-%m-%d}" if i.started_at else "")
            + f"): {i.summary or 'no summary'} <{base_url}{i.get_absolute_url()}>"
            for i in step.incidents
        ] or ["- No published failure reports for this release."]
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
