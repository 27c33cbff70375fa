"""Search as readers use it: `search(reader, q=..., ...)` → one page of ranked hits with
snippets, the count, facets and a suggestion, computed from documents `reader` may read
only (every query below starts from `SearchEntry.objects.visible_to(reader)`).

Errors are `ValidationError`s naming the parameter (a 400 at the API), never a 5xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q

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
    """One filter: a condition on SearchEntry, as keyword lookups (dict) or a conditional
    expression."""

    sql: object

    @property
    def expression(self):
        if isinstance(self.sql, dict):
            return ExpressionWrapper(Q(**self.sql), output_field=BooleanField())
        return self.sql


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
        conditions["kind"] = Condition({"kind__in": wanted})
    if organisation:
        found = _catalogue(Organisation, "organisation", organisation)
        conditions["organisation"] = Condition({"organisation_id": found.pk})
    if component:
        found = _catalogue(Component, "component", component, aliases=True)
        ids = Component.objects.with_descendants([found])
        slugs = set(Component.objects.filter(pk__in=ids).values_list("slug", flat=True))
        conditions["component"] = Condition(index.contains_any("components", slugs))
    if release:
        found = _catalogue(Release, "release", release)
        conditions["release"] = Condition(index.contains_any("releases", [found.slug]))
    if tag:
        name = str(tag).strip().lower()
        conditions["tag"] = Condition(index.contains_any("tags", [name]))
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


@dataclass
class Tally:
    """What one pass over the first SAMPLE matches (in id order, filters not applied) says:
    how many there are (`sampled`, at most SAMPLE), how many pass every filter, the
    largest id among them, and per dimension the counts of its values among the matches
    passing the other filters."""

    sampled: int
    passing: int
    last_id: int | None
    facets: dict[str, dict[str, int]]

    @property
    def complete(self) -> bool:
        return self.sampled <= EXACT_UP_TO


SAMPLE = EXACT_UP_TO + 1
# Per dimension: how its values come out of a sampled row (lists are JSON arrays).
FACET_VALUES = {
    "kind": ("kind", False),
    "organisation": ("organisation", False),
    "component": ("components", True),
    "release": ("releases", True),
    "tag": ("tags", True),
}


def _tally(base, conditions: dict) -> Tally:
    """Count and facets of the matches `base`, every facet with the other filters applied,
    in one statement: the sample of matches with one flag per filter, then a UNION ALL of
    one GROUP BY per dimension, cut to FACET_SIZE values each by a window. Nothing is
    decoded row by row in Python."""
    flags = {f"passes_{name}": condition.expression for name, condition in conditions.items()}
    sample = (
        base.order_by(F("id") + 0)
        .annotate(**flags)
        .values_list("id", "kind", "organisation__slug", "components", "releases", "tags", *flags)
    )[
        # By id, not through the primary key's index: walking it, PostgreSQL would test
        # `vector @@ query` row by row (591 ms at 100k documents, against a bitmap scan of
        # the GIN index and a sort).
        :SAMPLE
    ]
    sql, params = sample.query.sql_with_params()
    names = list(flags)
    columns = ["id", "kind", "organisation", "components", "releases", "tags", *names]
    postgresql = connection.vendor == "postgresql"

    def passing(*, besides=None) -> str:
        wanted = [f"m.{flag}" for flag in names if flag != f"passes_{besides}"]
        return " AND ".join(wanted) or "1 = 1"

    parts = [
        f"SELECT 'count' AS dimension, '' AS value, COUNT(*) AS n FROM m WHERE {passing()}",
        "SELECT 'sampled', '', COUNT(*) FROM m",
        "SELECT 'last', '', MAX(m.id) FROM m",
    ]
    for dimension in DIMENSIONS:
        column, is_list = FACET_VALUES[dimension]
        if not is_list:
            source, value = "m", f"m.{column}"
        elif postgresql:
            source, value = f"m, jsonb_array_elements_text(m.{column}) AS x(value)", "x.value"
        else:
            source, value = f"m, json_each(m.{column}) AS x", "x.value"
        parts.append(
            f"SELECT '{dimension}', {value}, COUNT(*) FROM {source}"
            f" WHERE {passing(besides=dimension)} GROUP BY {value}"
        )
    statement = (
        f"WITH m ({', '.join(columns)}) AS ({sql})"
        " SELECT dimension, value, n FROM (SELECT dimension, value, n, ROW_NUMBER() OVER"
        " (PARTITION BY dimension ORDER BY n DESC, value) AS place FROM ("
        + " UNION ALL ".join(parts)
        + f") AS dimensions) AS counted WHERE place <= {FACET_SIZE}"
    )
    facets = {dimension: {} for dimension in DIMENSIONS}
    totals = {}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for dimension, value, n in cursor.fetchall():
            if dimension in facets:
                facets[dimension][value] = n
            else:
                totals[dimension] = n
    for dimension, counts in facets.items():  # most frequent first, then by value
        facets[dimension] = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return Tally(
        sampled=totals["sampled"],
        passing=totals["count"],
        last_id=totals["last"],
        facets=facets,
    )


def _estimate(readable, tally: Tally) -> int:
    """Beyond the exact range: the sample (the first SAMPLE matches by id) reaches some way
    into the readable rows; the share of readable rows it covers, extrapolated to all of
    them. Computed from readable rows only, never from planner statistics or global counts,
    in one query that the visibility index answers."""
    counts = readable.aggregate(
        every=Count("id"), covered=Count("id", filter=Q(id__lte=tally.last_id))
    )
    return max(SAMPLE, round(tally.sampled * counts["every"] / (counts["covered"] or 1)))


def _bounded_count(queryset) -> int:
    return queryset.values("id")[:SAMPLE].count()


def _scaled(facets: dict, scale: float) -> dict:
    return {
        dimension: {value: round(n * scale) for value, n in counts.items()}
        for dimension, counts in facets.items()
    }


RANK_POOL = REACHABLE  # matches beyond the title tier ranked at most (the most recent)


def ranked_page(candidates, query: Query, ordering: str, start: int, size: int) -> list:
    """Entries start..start+size of `candidates` (readable, filtered) that match `query`,
    in `ordering`, their organisation selected.

    By relevance, in tiers, so that a common term never ranks every match: first the
    matches with every word in their title or alert names (an index lookup on PostgreSQL,
    a column filter in FTS5), ranked among themselves; only when they do not fill the page,
    the others, of which the RANK_POOL most recently updated are ranked (a LIMIT inside a
    subquery: beyond it nobody can page anyway). A row's tier and score depend on that row
    alone, so no order moves with documents the reader cannot read."""
    engine = backend()
    filtered = candidates.filter(engine.match(query))
    rows = filtered.select_related("organisation")
    end = start + size
    if ordering != "relevance":
        return list(rows.order_by("-updated", "-id")[start:end])
    ranking = ("-score", "-updated", "-id")
    score = engine.score(query)
    if query.relaxed:  # some of the words: how many a document has is the first tier
        return list(rows.annotate(score=score).order_by(*ranking)[start:end])
    # Every positive word in the title implies the whole vector has it: only exclusions
    # need the full vector (which costs a TOAST read per row on PostgreSQL).
    titled = candidates.filter(engine.title_match(query))
    if query.excluded:
        titled = titled.filter(engine.match(query))
    first = list(
        titled.select_related("organisation").annotate(score=score).order_by(*ranking)[:end]
    )
    if len(first) >= end:
        return first[start:end]
    pool = (
        filtered.filter(engine.title_match(query, negated=True))
        .order_by("-updated", "-id")
        .values("id")[: max(RANK_POOL, end)]
    )
    rest = (
        SearchEntry.objects.filter(id__in=pool)
        .select_related("organisation")
        .annotate(score=score)
        .order_by(*ranking)[: end - len(first)]
    )
    return [*first, *rest][start:end]


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
    filters = {
        "kind": kind,
        "organisation": organisation,
        "component": component,
        "release": release,
        "tag": tag,
    }
    with backend().planned():  # once the parameters are valid: an error leaves it clean
        return _results(
            reader, query, conditions, filters, archived, ordering, page, page_size, facets
        )


def _results(reader, query, conditions, filters, archived, ordering, page, page_size, facets):
    engine = backend()
    readable = readable_entries(reader, archived=archived)
    candidates = _apply(readable, conditions)

    def counted(query):
        base = matching(reader, query, archived=archived)
        tally = _tally(base, conditions)
        if tally.complete:
            return tally.passing, True, tally.facets
        # Beyond the exact range: the count exact while the filters leave few enough,
        # estimated otherwise, and the facets scaled from the sample.
        total = _estimate(readable, tally)
        count, exact = total, False
        if conditions:
            count = _bounded_count(_apply(base, conditions))
            exact = count <= EXACT_UP_TO
            if not exact:
                count = round(total * tally.passing / tally.sampled)
        return count, exact, _scaled(tally.facets, total / tally.sampled)

    count, exact, facet_counts = counted(query)
    strict_count = count
    relaxed = query.relax() if count == 0 else None
    if relaxed is not None:
        # No readable document has every word: show those with some of them, most first.
        relaxed_result = counted(relaxed)
        if relaxed_result[0]:
            query = relaxed
            count, exact, facet_counts = relaxed_result
    hits = []
    if count and (page - 1) * page_size < count:
        start = (page - 1) * page_size
        entries = ranked_page(candidates, query, ordering, start, page_size)
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
        filters=filters,
    )
