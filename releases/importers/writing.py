"""The writing half of the release importers: releases into the catalogue, notes through
`releases.services.release_note_upsert` (the same actor, permission and revision path as
every other write), and the outcome counts the commands report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

from opsknowledge.models import Component, Release
from opsknowledge.slug_repair import repaired

from .. import services
from .notes import ParsedNote, absolute_anchor_links


def cached_lookup():
    """Component.objects.lookup, asked once per word per run (it reads the catalogue)."""
    answers: dict[str, object] = {}

    def lookup(word: str):
        if word not in answers:
            answers[word] = Component.objects.lookup(word)
        return answers[word]

    return lookup


def save_release(*, number: int, version: str | None, released_on: date | None, previous):
    """Create or update release rN. `previous` is the Release it follows, "keep" to leave
    the link alone (its predecessor is unknown), or None for the head of the chain.
    Returns ("created" | "updated" | "unchanged", release)."""
    wanted = {"name": f"Release {number}"}
    if version:
        wanted["version"] = version
    if released_on is not None:
        wanted["released_on"] = released_on
    if previous != "keep":
        wanted["previous"] = previous
    release = Release.objects.filter(slug=f"r{number}").first()
    changed = (
        wanted
        if release is None
        else {name: value for name, value in wanted.items() if getattr(release, name) != value}
    )
    if not changed:
        return "unchanged", release
    if changed.get("previous") is not None:
        # The chain is one-to-one: whoever follows `previous` now must let go first.
        Release.objects.filter(previous=changed["previous"]).exclude(
            pk=getattr(release, "pk", None)
        ).update(previous=None)
    if release is None:
        return "created", Release.objects.create(slug=f"r{number}", **wanted)
    for name, value in changed.items():
        setattr(release, name, value)
    release.save(update_fields=list(changed))
    return "updated", release


def save_notes(
    *,
    release,
    organisation,
    notes: list[ParsedNote],
    slugs: list[str],
    page_url: str,
    visibility: str,
    component_of: Callable[[ParsedNote], object | None],
    actor,
) -> Counter:
    """Upsert the notes of one source page on `release` as `actor`; returns outcome counts.
    Notes the page no longer has are left alone (importers prune nothing)."""
    outcomes: Counter = Counter()
    for order, (note, slug) in enumerate(zip(notes, slugs, strict=True), start=1):
        fields = {
            "kind": note.kind,
            "title": note.title,
            "body": absolute_anchor_links(note.body, page_url),
            "component": component_of(note),
            "order": order,
            "source_url": f"{page_url}#{note.anchor}" if note.anchor else page_url,
            "visibility": visibility,
            "status": "published",
        }
        outcome, _note = services.release_note_upsert(
            organisation=organisation,
            release=release,
            # note_slugs keeps what slugify keeps, underscores ("etcd_prio_boost") too; the
            # stored slug has none (the same repair as migration releases 0003's).
            slug=repaired(slug),
            fields=fields,
            actor=actor,
        )
        outcomes[outcome] += 1
    return outcomes


def file_outcome(*outcomes: str | Counter) -> str:
    """One outcome for a file from its rows': created beats updated beats unchanged."""
    seen = Counter()
    for outcome in outcomes:
        seen.update(outcome if isinstance(outcome, Counter) else [outcome])
    return next((o for o in ("created", "updated") if seen[o]), "unchanged")


def counts_note(counts: Counter) -> str:
    parts = [f"{counts[o]} {o}" for o in ("created", "updated", "unchanged") if counts[o]]
    return ", ".join(parts) or "none"
