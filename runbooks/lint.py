"""Runbook lint: what makes a runbook less useful at 3 a.m. Findings are advice, shown in
the runbook's detail (`lint`) and by `lint_runbooks`; they never block a write.

Checks: required sections (Meaning, Impact, Diagnosis, Mitigation, or the organisation's
own set), empty code blocks, dead internal links (other runbooks by relative .md path,
Hugo `ref` shortcode or site URL, and anchors within the page), reviews older than
RUNBOOK_REVIEW_MAX_AGE_DAYS, and runbooks that only apply to releases past their end of
maintenance.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .body import body_facts
from .models import RunbookPolicy

__all__ = ["body_facts", "lint"]


def finding(check: str, message: str, line: int | None = None) -> dict:
    return {"check": check, "message": message, "line": line}


def required_sections(runbook) -> tuple[str, ...]:
    # The organisation object when it is loaded: it may carry its policy (a write reads it
    # with the row), else its id.
    cached = type(runbook).organisation.is_cached(runbook)
    return RunbookPolicy.sections_for(runbook.organisation if cached else runbook.organisation_id)


def missing_sections(runbook, facts) -> list[dict]:
    present = set(facts["headings"])
    return [
        finding("missing_section", f"No '{name}' section.")
        for name in required_sections(runbook)
        if name.lower() not in present
    ]


def empty_code_blocks(facts) -> list[dict]:
    return [
        finding("empty_code_block", "An empty code block.", line)
        for line in facts["empty_code_blocks"]
    ]


def linked_keys(runbook, facts) -> set[tuple[str, str]]:
    return {
        (link["key"][0] or runbook.organisation.slug, link["key"][1])
        for link in facts["links"]
        if "key" in link
    }


def dead_links(runbook, facts, existing: set[tuple[str, str]]) -> list[dict]:
    """`existing`: the (organisation slug, document slug) among the linked ones that exist
    (for the reader: that the reader may read)."""
    found = []
    for link in facts["links"]:
        if link.get("anchor"):
            message = f"No heading for the anchor '{link['target']}'."
        elif (link["key"][0] or runbook.organisation.slug, link["key"][1]) not in existing:
            message = f"'{link['target']}' links to no document here."
        else:
            continue
        found.append(finding("dead_link", message, link["line"]))
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


def existing_documents(keys, reader=None) -> set[tuple[str, str]]:
    """Which of the (organisation slug, document slug) `keys` are runbooks or practices,
    among those `reader` may read (None: the operator, who sees all). One query."""
    from django.db.models import Q

    from .models import Practice, Runbook

    if not keys:
        return set()
    match = Q()
    for organisation, slug in keys:
        match |= Q(organisation__slug=organisation, slug=slug)
    found = []
    for model in (Runbook, Practice):
        rows = model.objects.all() if reader is None else model.objects.visible_to(reader)
        found.append(rows.filter(match).values_list("organisation__slug", "slug").order_by())
    return set(found[0].union(found[1]))  # one query for both kinds


def lint(runbook, *, reader=None, today=None) -> list[dict]:
    """The findings for `runbook` as `reader` may know them: the body's from the stored
    facts, the rest (links, review age, releases) as of now, in a constant number of
    queries (the policy, one for the linked documents; releases are prefetched)."""
    today = today or timezone.localdate()
    facts = runbook.lint_facts or body_facts(runbook.body)
    existing = existing_documents(linked_keys(runbook, facts), reader)
    return (
        missing_sections(runbook, facts)
        + empty_code_blocks(facts)
        + dead_links(runbook, facts, existing)
        + review_age(runbook, today)
        + outdated_releases(runbook, today)
    )
