"""`GET /r/<alertname>`: from a Prometheus alert to the runbook that answers it, and the small
search page its "not found" answer points to.

Alertmanager templates link `runbook_url: https://<host>/r/{{ $labels.alertname }}`, so the
resolver must answer with one redirect to the best runbook the browser's user may read:

- candidates: published runbooks the caller may read (`visible_to`) that list the alert name
  (case-insensitively); `?organisation=` (providers put it in every `runbook_url`),
  `?component=` (children included) and `?release=` narrow them;
- the caller's own organisation's runbook wins; otherwise, when exactly one organisation
  answers, its runbook; when several do, a chooser page lists one runbook of each (a
  runbook naming another provider's alert must not take over that provider's links);
- within an organisation: the more specific runbook (fewer alert names), the most recently
  updated, then slug, so the same question always gets the same answer.

The choice is one query whatever the number of candidates. Without a match the answer is a
404 page with near matches taken only from runbooks the caller may read, so it never tells
anyone which alerts other organisations have runbooks for.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Upper
from django.db.models.lookups import Contains
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from opsknowledge.hotcache import hot_cached
from opsknowledge.models import Component, Organisation, Release
from opsknowledge.models.documents import Status
from opsknowledge.references import did_you_mean
from opsknowledge.visibility import Access

from .models import Runbook, RunbookAlert

NEAR_MATCH_LIMIT = 10
# No stored alert name is longer (RunbookAlert.name); longer input cannot match anything,
# and difflib's cost grows with the length of what it compares.
ALERT_NAME_MAX_LENGTH = RunbookAlert._meta.get_field("name").max_length


class UnknownParameter(Exception):
    """A query parameter naming something the catalogue does not have."""

    def __init__(self, parameter: str, value: str, hint: str):
        self.parameter, self.value, self.hint = parameter, value, hint
        super().__init__(f"unknown {parameter} '{value}'{hint}")


CHOOSER_LIMIT = 50  # organisations listed on the chooser page


@dataclass(frozen=True)
class Narrowing:
    """What the query string asks for: the organisation, the components (ids, children
    included) and the release the runbook must be about."""

    organisation: Organisation | None = None
    component_ids: frozenset[int] | None = None
    release: Release | None = None

    @property
    def narrows(self) -> bool:
        return (
            self.organisation is not None
            or self.component_ids is not None
            or self.release is not None
        )


def _parameter(params, name: str) -> str:
    return params.get(name, "").strip()


def _unknown(parameter: str, value: str, model) -> UnknownParameter:
    # The catalogue is public (/api/v1/ lists it), so naming valid slugs leaks nothing.
    return UnknownParameter(
        parameter, value, did_you_mean(value, model.objects.values_list("slug", flat=True))
    )


def parse_narrowing(params) -> Narrowing:
    """The Narrowing the query string asks for; UnknownParameter for a slug that does not
    exist, as silently ignoring it would pick a runbook for the wrong component."""
    organisation = component_ids = release = None
    if slug := _parameter(params, "organisation"):
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            raise _unknown("organisation", slug, Organisation)
    if name := _parameter(params, "component"):
        component = Component.objects.lookup(name)
        if component is None:
            raise _unknown("component", name, Component)
        component_ids = frozenset(Component.objects.with_descendants([component]))
    if slug := _parameter(params, "release"):
        release = Release.objects.filter(slug=slug).first()
        if release is None:
            raise _unknown("release", slug, Release)
    return Narrowing(organisation, component_ids, release)


def published_runbooks(request):
    """The runbooks that may answer an alert for this caller. Drafts are excluded even for
    their own organisation: an alert link must not lead on-call staff to unfinished text."""
    return Runbook.objects.visible_to(request).filter(status=Status.PUBLISHED)


def answering(queryset, alertname: str):
    # A subquery rather than a join: no duplicate rows, and the alert count below stays the
    # runbook's full list rather than the matching rows only.
    matching = RunbookAlert.objects.filter(name__iexact=alertname).values("runbook_id")
    return queryset.filter(pk__in=matching)


def narrowed(queryset, narrowing: Narrowing):
    if narrowing.organisation is not None:
        queryset = queryset.filter(organisation=narrowing.organisation)
    if narrowing.component_ids is not None:
        about = Runbook.components.through.objects.filter(
            component_id__in=narrowing.component_ids
        ).values("runbook_id")
        queryset = queryset.filter(pk__in=about)
    if narrowing.release is not None:
        about = Runbook.releases.through.objects.filter(release=narrowing.release).values(
            "runbook_id"
        )
        queryset = queryset.filter(pk__in=about)
    return queryset


def preference(access: Access) -> Case:
    """0 for the caller's own organisations, 1 for the rest."""
    if not access.organisation_ids:
        return Value(1, output_field=IntegerField())
    return Case(
        When(organisation_id__in=access.organisation_ids, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def alert_count():
    return Subquery(
        RunbookAlert.objects.filter(runbook=OuterRef("pk"))
        .order_by()
        .values("runbook")
        .annotate(count=Count("pk"))
        .values("count"),
        output_field=IntegerField(),
    )


def answers(request, alertname: str, narrowing: Narrowing) -> list[Runbook]:
    """What `/r/<alertname>` leads to, in one query: [the runbook] when the caller's own
    organisation or a single organisation answers, the best runbook of each organisation
    when several do, [] when none does."""
    candidates = narrowed(answering(published_runbooks(request), alertname), narrowing)
    ranked = (
        candidates.select_related("organisation")
        .annotate(preference=preference(Access.of(request)), alerts_listed=alert_count())
        .order_by("preference", "organisation__slug", "alerts_listed", "-updated", "slug")
    )
    best_of = {}
    # Enough rows for CHOOSER_LIMIT organisations unless one has very many runbooks for
    # the same alert; the chooser then lists fewer, which is still an honest answer.
    for runbook in ranked[: CHOOSER_LIMIT * 4]:
        if runbook.preference == 0:
            return [runbook]
        best_of.setdefault(runbook.organisation_id, runbook)
    return list(best_of.values())[:CHOOSER_LIMIT]


# The most alert names the 404 page compares with the one asked for: its cost must not grow
# with the number of runbooks.
NEAR_MATCH_CANDIDATES = 500


def candidate_alert_names(request, alertname: str) -> list[str]:
    """The alert names some runbook the caller may read answers (those `/r/` resolves) that
    could be near matches of `alertname`: sharing its first letters, containing it, or
    contained in it (at most NEAR_MATCH_CANDIDATES, in one query)."""
    wanted = alertname.strip()
    near = (
        Q(name__istartswith=wanted[:4])
        | Q(name__icontains=wanted)
        | Q(Contains(Value(wanted.upper()), Upper("name")))  # a name inside the request
    )
    return list(
        RunbookAlert.objects.filter(near, runbook__in=published_runbooks(request).values("pk"))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()[:NEAR_MATCH_CANDIDATES]
    )


def near_matches(alertname: str, names: list[str]) -> list[str]:
    """Names close to `alertname`: difflib's best first, then those containing it or
    contained in it, case-insensitively, without the name itself."""
    wanted = alertname.lower()
    by_lower = {}
    for name in names:
        if name.lower() != wanted:
            by_lower.setdefault(name.lower(), name)
    close = difflib.get_close_matches(wanted, list(by_lower), n=NEAR_MATCH_LIMIT, cutoff=0.6)
    overlapping = sorted(lower for lower in by_lower if wanted in lower or lower in wanted)
    ordered = list(dict.fromkeys(close + overlapping))
    return [by_lower[lower] for lower in ordered[:NEAR_MATCH_LIMIT]]


def not_found(request, alertname: str, *, unknown: UnknownParameter | None = None, **context):
    return render(
        request,
        "runbooks/alert_not_found.html",
        {"alertname": alertname, "unknown": unknown, **context},
        status=404,
    )


# never_cache: the answer depends on who asks and changes as soon as a runbook is published;
# it also makes the answer `private`, so no shared cache keeps a 302 naming a hidden slug.
# The hot cache keeps anonymous readers' answers only, and a publication invalidates them.
@never_cache
@require_safe
@hot_cached
def alert_runbook(request, alertname: str):
    """302 to the best runbook for `alertname`, or a 404 page that helps find one."""
    try:
        narrowing = parse_narrowing(request.GET)
    except UnknownParameter as unknown:
        return not_found(request, alertname, unknown=unknown)
    if len(alertname) > ALERT_NAME_MAX_LENGTH:
        return not_found(request, alertname[:ALERT_NAME_MAX_LENGTH] + "…")
    runbooks = answers(request, alertname, narrowing)
    if len(runbooks) == 1:
        return HttpResponseRedirect(runbooks[0].get_absolute_url())
    if runbooks:
        return render(
            request, "runbooks/alert_chooser.html", {"alertname": alertname, "runbooks": runbooks}
        )
    names = candidate_alert_names(request, alertname)
    return not_found(
        request,
        alertname,
        near_matches=near_matches(alertname, names),
        # The alert has runbooks, just none about the component/release asked for.
        narrowed_out=narrowing.narrows and alertname.lower() in {n.lower() for n in names},
    )
