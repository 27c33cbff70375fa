"""Search as readers use it: `search(reader, q=..., ...)` → one page of ranked hits with
snippets, the count, facets and a suggestion, computed from documents `reader` may read
only (every query below starts from `SearchEntry.objects.visible_to(reader)`).

Errors are `ValidationError`s naming the parameter (a 400 at the API), never a 5xx.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection

from ..models import Component, Organisation, Release, SearchEntry
from ..references import did_you_mean
from . import index
from .backends import backend, mark_snippet
from .query import Query, QueryError, parse

EXACT_UP_TO = 10_000  # count and facets are exact up to here (API.md), estimated beyond
REACHABLE = 1_000  # hits reachable by paging
PAGE_SIZE, MAX_PAGE_SIZE = 20, 50
FACET_SIZE = 20  # values per facet, most frequent first
ORDERINGS = ("relevance", "-updated")
DIMENSIONS = ("kind", "organisation", "component", "release", "tag")
# The query parameters the API and the page pass as they come (page and page_size aside).
PARAMETERS = ("q", "kind", "organisation", "component", "release", "tag", "status", "ordering")
SUGGEST_BELOW = 5  # results under which "did you mean" is looked for


@dataclass
class Hit:
    kind: str
    label: str
    organisation: str
    slug: str
    title: str
    url: str
    api_url: str
    snippet: str
    score: float
    updated: object

    @classmethod
    def of_entry(cls, entry, labels: dict, *, snippet: str = "", score: float = 0.0) -> Hit:
        """The hit for one index entry (its organisation selected with it)."""
        return cls(
            kind=entry.kind,
            label=labels.get(entry.kind, entry.kind),
            organisation=entry.organisation.slug,
            slug=entry.slug,
            title=entry.title,
            url=entry.url,
            api_url=entry.api_url,
            snippet=snippet,
            score=round(float(score), 6),
            updated=entry.updated,
        )


@dataclass
class Results:
    query: Query
    count: int
    count_exact: bool
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    all_terms: bool  # False: no document has every term; these have some
    page: int
    page_size: int
    filters: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        reachable = min(self.count, REACHABLE)
        return max(1, -(-reachable // self.page_size))


def _invalid(name: str, message: str):
    raise ValidationError({name: [message]})


def kinds() -> dict[str, str]:
    """kind → label, of every registered kind."""
    return {spec.kind: spec.label for spec in index.searchables()}


def _catalogue(model, name: str, value: str, *, aliases=False):
    value = value.strip().lower()
    found = model.objects.filter(slug=value).first()
    if found is None and aliases:
        found = model.objects.lookup(value)
    if found is None:
        noun = model._meta.verbose_name
        choices = model.objects.values_list("slug", flat=True)
        _invalid(name, f"unknown {noun} '{value}'" + did_you_mean(value, choices))
    return found


def _number(name: str, value, default: int, *, low: int, high: int | None = None) -> int:
    if value in (None, ""):
        return default
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,9}", text):
        _invalid(name, f"'{text[:20]}' is not a whole number.")
    number = int(text)
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        _invalid(name, f"must be {bound}.")
    return number


@dataclass(frozen=True)
class Condition:
    """One filter, as SQL on SearchEntry and as a test of a facet row (kind, organisation
    slug, components, releases, tags) for facets counted in one pass."""

    sql: object  # keyword lookups (dict) or a conditional expression
    test: object  # callable(row) -> bool


KIND, ORGANISATION, COMPONENTS, RELEASES, TAGS = range(5)
FACET_COLUMNS = ("kind", "organisation__slug", "components", "releases", "tags")


def filter_conditions(
    *, kind=None, organisation=None, component=None, release=None, tag=None
) -> dict[str, Condition]:
    """The filters by dimension; unknown catalogue values are a ValidationError naming the
    parameter and the closest valid one (the catalogue is public), tags are not validated
    (the tag table is shared and must not tell)."""
    conditions = {}
    if kind:
        wanted = [k.strip() for k in str(kind).split(",") if k.strip()]
        valid = kinds()
        unknown = [k for k in wanted if k not in valid]
        if unknown:
            _invalid("kind", f"unknown kind '{unknown[0]}'; use {', '.join(valid)}.")
        conditions["kind"] = Condition({"kind__in": wanted}, lambda row: row[KIND] in wanted)
    if organisation:
        found = _catalogue(Organisation, "organisation", organisation)
        conditions["organisation"] = Condition(
            {"organisation_id": found.pk}, lambda row: row[ORGANISATION] == found.slug
        )
    if component:
        found = _catalogue(Component, "component", component, aliases=True)
        ids = Component.objects.with_descendants([found])
        slugs = set(Component.objects.filter(pk__in=ids).values_list("slug", flat=True))
        conditions["component"] = Condition(
            index.contains_any("components", slugs),
            lambda row: not slugs.isdisjoint(row[COMPONENTS]),
        )
    if release:
        found = _catalogue(Release, "release", release)
        conditions["release"] = Condition(
            index.contains_any("releases", [found.slug]), lambda row: found.slug in row[RELEASES]
        )
    if tag:
        name = str(tag).strip().lower()
        conditions["tag"] = Condition(
            index.contains_any("tags", [name]), lambda row: name in row[TAGS]
        )
    return conditions


def _apply(queryset, conditions: dict):
    for condition in conditions.values():
        if isinstance(condition.sql, dict):
            queryset = queryset.filter(**condition.sql)
        else:
            queryset = queryset.filter(condition.sql)
    return queryset


def readable_entries(reader, *, archived=False):
    entries = SearchEntry.objects.visible_to(reader)
    return entries if archived else entries.filter(archived=False)


def matching(reader, query: Query, *, archived=False):
    """Readable entries that match `query` (no filters)."""
    return readable_entries(reader, archived=archived).filter(backend().match(query))


def matching_ids(model, q: str):
    """Ids of `model` objects whose entry matches `q` (a subquery): the lists' `?q=`, which
    filter visibility on the model themselves."""
    try:
        query = parse(q)
    except QueryError as error:
        raise ValidationError({"q": [str(error)]}) from None
    spec = index.searchable_for(model)
    entries = SearchEntry.objects.filter(kind=spec.kind).filter(backend().match(query))
    return entries.values("object_id")


def _count(queryset, readable) -> tuple[int, bool]:
    count = queryset.values("id")[: EXACT_UP_TO + 1].count()
    if count <= EXACT_UP_TO:
        return count, True
    return _estimate(queryset, readable), False


def _estimate(queryset, readable) -> int:
    """Beyond the exact range: the first EXACT_UP_TO + 1 matches by id reach some way into
    the readable rows; the share they cover there, extrapolated to all readable rows.
    Computed from readable rows only, never from planner statistics or global counts."""
    ids = queryset.order_by("id").values_list("id", flat=True)[: EXACT_UP_TO + 1]
    last = max(ids)
    span = readable.filter(id__lte=last).count() or 1
    return max(EXACT_UP_TO + 1, round((EXACT_UP_TO + 1) * readable.count() / span))


def _facet_rows(queryset) -> list[tuple]:
    """(kind, organisation slug, components, releases, tags) of the first EXACT_UP_TO + 1
    matches, in one query."""
    sql, params = queryset.values_list(*FACET_COLUMNS).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT {EXACT_UP_TO + 1}", params)
        rows = cursor.fetchall()
    if rows and isinstance(rows[0][COMPONENTS], str):  # SQLite: JSON as text
        rows = [(r[0], r[1], json.loads(r[2]), json.loads(r[3]), json.loads(r[4])) for r in rows]
    return rows


def _facets(rows, conditions: dict, scale: float = 1.0) -> tuple[int, dict]:
    """The rows passing every filter, and per dimension the counts of its values among the
    rows passing the other filters: all facets in one pass over the matches."""
    counters = {dimension: Counter() for dimension in DIMENSIONS}
    columns = dict(zip(DIMENSIONS, range(5), strict=True))
    passing = 0
    for row in rows:
        failed = [name for name, condition in conditions.items() if not condition.test(row)]
        if not failed:
            passing += 1
        for dimension in DIMENSIONS:
            if failed and failed != [dimension]:
                continue
            value = row[columns[dimension]]
            counters[dimension].update(value if isinstance(value, list) else [value])
    facets = {
        dimension: {
            value: round(count * scale)
            for value, count in sorted(counter.items(), key=lambda item: (-item[1], item[0]))[
                :FACET_SIZE
            ]
        }
        for dimension, counter in counters.items()
    }
    return passing, facets


def _suggestion(reader, query: Query, archived: bool) -> str | None:
    """The query with each word that finds nothing readable replaced by the closest indexed
    word that does; None when there is nothing to correct. Candidates are all indexed words
    above a similarity threshold, tried closest first, and a candidate counts only if a
    document the reader can read contains it: what is suggested never depends on documents
    the reader cannot read."""
    engine = backend()
    readable = readable_entries(reader, archived=archived)
    replacements = {}
    for word in dict.fromkeys(query.words):
        if readable.filter(engine.word_match(word)).exists():
            continue
        for candidate in engine.candidates(word):
            if readable.filter(engine.word_match(candidate)).exists():
                replacements[word] = candidate
                break
    if not replacements:
        return None
    pattern = re.compile(
        r"(?<![^\W_])(" + "|".join(re.escape(w) for w in replacements) + r")(?![^\W_])",
        re.IGNORECASE,
    )
    return pattern.sub(lambda m: replacements[m.group(1).lower()], query.text)


def search(
    reader,
    *,
    q,
    kind=None,
    organisation=None,
    component=None,
    release=None,
    tag=None,
    status=None,
    ordering=None,
    page=None,
    page_size=None,
    facets=True,
) -> Results:
    try:
        query = parse(q if isinstance(q, str) else "")
    except QueryError as error:
        raise ValidationError({"q": [str(error)]}) from None
    if status not in (None, "", "archived"):
        _invalid("status", "use 'archived' to include archived documents, or leave it out.")
    archived = status == "archived"
    ordering = ordering or "relevance"
    if ordering not in ORDERINGS:
        _invalid(
            "ordering", f"'{str(ordering)[:30]}' is not an ordering; use {', '.join(ORDERINGS)}."
        )
    page_size = _number("page_size", page_size, PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
    page = _number("page", page, 1, low=1)
    if (page - 1) * page_size >= REACHABLE:
        _invalid("page", f"only the first {REACHABLE} hits can be paged to; narrow the search.")
    conditions = filter_conditions(
        kind=kind, organisation=organisation, component=component, release=release, tag=tag
    )
    engine = backend()
    readable = readable_entries(reader, archived=archived)

    def counted(query):
        base = matching(reader, query, archived=archived)
        filtered = _apply(base, conditions)
        rows = _facet_rows(base)
        if len(rows) <= EXACT_UP_TO:
            count, facet_counts = _facets(rows, conditions)
            return filtered, count, True, facet_counts
        # Beyond the exact range: the count estimated, facets scaled from the first rows.
        count, exact = _count(filtered, readable)
        total, _exact = _count(base, readable)
        return filtered, count, exact, _facets(rows, conditions, total / len(rows))[1]

    filtered, count, exact, facet_counts = counted(query)
    strict_count = count
    relaxed = query.relax() if count == 0 else None
    if relaxed is not None:
        # No readable document has every word: show those with some of them, most first.
        relaxed_result = counted(relaxed)
        if relaxed_result[1]:
            query = relaxed
            filtered, count, exact, facet_counts = relaxed_result
    hits = []
    if count and (page - 1) * page_size < count:
        ranked = filtered.select_related("organisation")
        if ordering == "relevance":
            ranked = ranked.annotate(score=engine.score(query)).order_by(
                "-score", "-updated", "-id"
            )
        else:
            ranked = ranked.order_by("-updated", "-id")
        start = (page - 1) * page_size
        entries = list(ranked[start : start + page_size])
        snippets = engine.snippets(query, [entry.pk for entry in entries])
        labels = kinds()
        for entry in entries:
            snippet = snippets.get(entry.pk) or ""
            if "<mark>" not in snippet and entry.summary:
                snippet = mark_snippet(entry.summary[:300])
            hits.append(
                Hit.of_entry(entry, labels, snippet=snippet, score=getattr(entry, "score", 0.0))
            )
    if not facets:
        facet_counts = {}
    suggestion = _suggestion(reader, query, archived) if strict_count < SUGGEST_BELOW else None
    return Results(
        query=query,
        count=count,
        count_exact=exact,
        hits=hits,
        facets=facet_counts,
        suggestion=suggestion,
        all_terms=not query.relaxed,
        page=page,
        page_size=page_size,
        filters={
            "kind": kind,
            "organisation": organisation,
            "component": component,
            "release": release,
            "tag": tag,
        },
    )
