"""Runbook lint: what makes a runbook less useful at 3 a.m. Findings are advice, shown in
the runbook's detail (`lint`) and by `lint_runbooks`; they never block a write.

Checks: required sections (Meaning, Impact, Diagnosis, Mitigation, or the organisation's
own set), empty code blocks, dead internal links (other runbooks by relative .md path,
Hugo `ref` shortcode or site URL, and anchors within the page), reviews older than
RUNBOOK_REVIEW_MAX_AGE_DAYS, and runbooks that only apply to releases past their end of
maintenance.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify

from opsknowledge import markdown

from .models import RunbookPolicy

LINK = re.compile(r"\]\(\s*(?:\{\{<\s*ref\s+\"([^\"]+)\"\s*>\}\}|<?([^)\s>]+)>?)")
SITE_LINK = re.compile(r"^/(runbooks|practices)/([a-z0-9-]+)/([a-z0-9-]+)/?(?:#.*)?$")


def finding(check: str, message: str, line: int | None = None) -> dict:
    return {"check": check, "message": message, "line": line}


def required_sections(runbook) -> tuple[str, ...]:
    return RunbookPolicy.sections_for(runbook.organisation_id)


def missing_sections(runbook, document) -> list[dict]:
    present = {heading.source.strip().lower() for heading in document.headings}
    return [
        finding("missing_section", f"No '{name}' section.")
        for name in required_sections(runbook)
        if name.lower() not in present
    ]


def empty_code_blocks(document) -> list[dict]:
    return [
        finding("empty_code_block", "An empty code block.", fence.line)
        for fence in document.fences
        if not fence.content.strip()
    ]


def dead_links(runbook, document, existing: set[tuple[str, str]]) -> list[dict]:
    """`existing`: (organisation slug, document slug) of every runbook and practice."""
    anchors = document.anchors
    found = []
    for number, line in enumerate(runbook.body.split("\n"), start=1):
        for match in LINK.finditer(line):
            target = (match.group(1) or match.group(2)).strip()
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if target.startswith("#"):
                if target[1:] and target[1:] not in anchors:
                    found.append(
                        finding("dead_link", f"No heading for the anchor '{target}'.", number)
                    )
                continue
            site = SITE_LINK.match(target)
            if site:
                key = (site.group(2), site.group(3))
            elif target.split("#")[0].lower().endswith(".md"):
                name = target.split("#")[0].rsplit("/", 1)[-1]
                key = (runbook.organisation.slug, slugify(name[:-3]))
            else:
                continue  # not a link to another document
            if key not in existing:
                found.append(finding("dead_link", f"'{target}' links to no document here.", number))
    return found


def review_age(runbook, today) -> list[dict]:
    reviewed = runbook.last_reviewed or runbook.created.date()
    limit = timedelta(days=settings.RUNBOOK_REVIEW_MAX_AGE_DAYS)
    if today - reviewed <= limit:
        return []
    what = "last reviewed" if runbook.last_reviewed else "never reviewed since it was created"
    return [
        finding(
            "review_overdue",
            f"{what.capitalize()} on {reviewed.isoformat()}, more than "
            f"{settings.RUNBOOK_REVIEW_MAX_AGE_DAYS} days ago.",
        )
    ]


def outdated_releases(runbook, today) -> list[dict]:
    releases = list(runbook.releases.all())
    if releases and all(r.end_of_maintenance and r.end_of_maintenance < today for r in releases):
        names = ", ".join(sorted(r.slug for r in releases))
        return [
            finding(
                "releases_unmaintained",
                f"Applies only to releases past their end of maintenance ({names}).",
            )
        ]
    return []


def existing_documents(organisation_ids=None) -> set[tuple[str, str]]:
    from .models import Practice, Runbook

    keys = set()
    for model in (Runbook, Practice):
        rows = model.objects.all()
        if organisation_ids is not None:
            rows = rows.filter(organisation_id__in=organisation_ids)
        keys.update(rows.values_list("organisation__slug", "slug"))
    return keys


def lint(runbook, *, existing=None, today=None) -> list[dict]:
    today = today or timezone.localdate()
    if existing is None:
        existing = existing_documents()
    # One parse for every body check: the headings, anchors and fences the page shows.
    document = markdown.parse(runbook.body)
    return (
        missing_sections(runbook, document)
        + empty_code_blocks(document)
        + dead_links(runbook, document, existing)
        + review_age(runbook, today)
        + outdated_releases(runbook, today)
    )
