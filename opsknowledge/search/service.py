"""Search as readers use it: `search(reader, q=..., ...)` → one page of ranked hits with
snippets, the count, facets and a suggestion, computed from documents `reader` may read
only (every query below starts from `SearchEntry.objects.visible_to(reader)`).

Errors are `ValidationError`s naming the parameter (a 400 at the API), never a 5xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q

from ..models import Component, Organisation, Release, SearchEntry
from ..references import TAG_MAX_LENGTH, TAG_PATTERN, did_you_mean
from . import index
from .backends import backend, mark_snippet
from .index import EntrySQL
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
    expression; `indexed`, when given, is the same condition as the search index's GIN
    index answers it (PostgreSQL's facet keys), for filtering. The tally tests `sql` on
    each row it has read already, where the other would be a TOAST read per row."""

    sql: object
    indexed: object = None
    narrowing: str | None = None  # Backend.narrowing's, for counting the filtered matches

    @property
    def expression(self):
        if isinstance(self.sql, dict):
            return ExpressionWrapper(Q(**self.sql), output_field=BooleanField())
        return self.sql


def _listed(dimension: str, values) -> Condition:
    """The filter "the JSON list `dimension` holds any of `values`"."""
    sql = index.contains_any(dimension, values)
    if connection.vendor == "postgresql" and values:
        keys = index.facet_keys_tsquery(dimension, values)
        return Condition(sql, EntrySQL("{entry}.vector @@ %s::tsquery", (keys,)))
    if dimension in ("components", "tags"):  # text B has their words; releases it has not
        return Condition(sql, narrowing=backend().narrowing(values))
    return Condition(sql)


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
        conditions["component"] = _listed("components", slugs)
    if release:
        found = _catalogue(Release, "release", release)
        conditions["release"] = _listed("releases", [found.slug])
    if tag:
        name = str(tag).strip().lower()
        if len(name) > TAG_MAX_LENGTH or not TAG_PATTERN.fullmatch(name):
            # No tag can have this name: nothing matches. Not an error, as a name that
            # could exist is not one either; and PostgreSQL refuses a lexeme over 2 KB.
            conditions["tag"] = Condition(EntrySQL("1 = 0"))
        else:
            conditions["tag"] = _listed("tags", [name])
    return conditions


def _apply(queryset, conditions: dict):
    for condition in conditions.values():
        if condition.indexed is not None:
            queryset = queryset.filter(condition.indexed)
        elif isinstance(condition.sql, dict):
            queryset = queryset.filter(**condition.sql)
        else:
            queryset = queryset.filter(condition.sql)
    return queryset


def readable_entries(reader, *, archived=False):
    entries = SearchEntry.objects.visible_to(reader)
    return entries if archived else entries.filter(archived=False)


def matching(readable, query: Query, *, few=False, narrowing=()):
    """The entries of `readable` (readable_entries()) that match `query` (no filters);
    `few`, `narrowing`: Backend.match."""
    return readable.filter(backend().match(query, few=few, narrowing=narrowing))


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
    """What one pass over some matches (filters not applied) says: how many there are
    (`sampled`), how many pass every filter, and per dimension the counts of its values
    among the matches passing the other filters."""

    sampled: int
    passing: int
    facets: dict[str, dict[str, int]]
    # The ids of the matches passing every filter, when they fit the exact range and are at
    # most RANK_POOL: the page then ranks them without matching again (None otherwise).
    ids: list[int] | None = None

    @property
    def complete(self) -> bool:
        return self.sampled <= EXACT_UP_TO


SAMPLE = EXACT_UP_TO + 1
RANK_POOL = REACHABLE  # matches beyond the title tier ranked at most (the most recent)
# Beyond the exact range, count and facets are scaled from the slice of the matches whose
# id hashes into the first 1/SLICE of the hash range (Knuth's multiplicative hash, so that
# ids made in a rhythm, a report and its runbook, do not all fall in or out of it). A
# row's membership is a fact of the row alone, so the estimate depends on readable rows
# only. Partial indexes of the same predicate serve it (PostgreSQL: a GIN index of the
# slice's vectors; SQLite: the readable-rows index of the slice's rows), so a common
# term's slice costs a sixteenth of its matches' rows.
SLICE = 16
HASH_RANGE = 2**32
# A slice this large means more matches than the exact range holds, so they are not
# counted first. 1.5 times: for a total within the exact range the slice would have to
# come out 13 standard deviations above its share (10,000 matches, 1/16: 625 ± 24 rows).
SURELY_BEYOND = 1.5


def slice_sql() -> str:
    """SQL true for the rows of the sample slice (the partial indexes' predicate, literally:
    migration opsknowledge 0016)."""
    return f"({{entry}}.id * 2654435761) %% {HASH_RANGE} < {HASH_RANGE // SLICE}"


# Per dimension: how its values come out of a sampled row (lists are JSON arrays).
FACET_VALUES = {
    "kind": ("kind", False),
    "organisation": ("organisation", False),
    "component": ("components", True),
    "release": ("releases", True),
    "tag": ("tags", True),
}


def _tally(base, conditions: dict, *, limit: int | None = SAMPLE) -> Tally:
    """Count and facets of the matches `base` (at most `limit` of them), every facet with
    the other filters applied, in one statement: the matches with one flag per filter,
    then a UNION ALL of one GROUP BY per dimension, cut to FACET_SIZE values each by a
    window. Nothing is decoded row by row in Python. With a limit, the facets are counted
    only when the matches fit the exact range (the statement skips them otherwise: they
    would be thrown away), and the ids passing every filter come back when at most
    RANK_POOL do."""
    flags = {f"passes_{name}": condition.expression for name, condition in conditions.items()}
    sample = (
        base.order_by()
        .annotate(**flags)
        .values_list("id", "kind", "organisation__slug", "components", "releases", "tags", *flags)
    )
    if limit is not None:
        sample = sample[:limit]
    sql, params = sample.query.sql_with_params()
    names = list(flags)
    columns = ["id", "kind", "organisation", "components", "releases", "tags", *names]
    postgresql = connection.vendor == "postgresql"
    # One-time conditions (PostgreSQL evaluates them once and skips the part when false).
    fits = f" AND (SELECT n FROM total) <= {EXACT_UP_TO}" if limit is not None else ""

    def passing(*, besides=None) -> str:
        wanted = [f"m.{flag}" for flag in names if flag != f"passes_{besides}"]
        return " AND ".join(wanted) or "1 = 1"

    parts = [
        f"SELECT 'count' AS dimension, '' AS value, COUNT(*) AS n FROM m WHERE {passing()}",
        "SELECT 'sampled', '', n FROM total",
    ]
    for dimension in DIMENSIONS:
        column, is_list = FACET_VALUES[dimension]
        where = passing(besides=dimension) + fits
        if not is_list:
            parts.append(
                f"SELECT '{dimension}', m.{column}, COUNT(*) FROM m WHERE {where}"
                f" GROUP BY m.{column}"
            )
            continue
        # An empty list has nothing to count: not unpacking it saves a call per row (most
        # documents have no tags).
        where += f" AND m.{column} <> '[]'"
        # The lists of all rows joined into one JSON array (each list's text without its
        # brackets, comma-separated, is the text of their elements) and unpacked by one
        # call: a set-returning call per row was most of a tally's facet time (PostgreSQL:
        # 47 -> 25 ms for the tally of 6,810 matches at 100k documents).
        joined = "string_agg" if postgresql else "group_concat"
        elements = "jsonb_array_elements_text" if postgresql else "json_each"
        text = f"m.{column}::text" if postgresql else f"m.{column}"
        lists = f"(SELECT '[' || {joined}(trim({text}, '[]'), ',') || ']' FROM m WHERE {where})"
        if postgresql:
            source, value = f"{elements}(({lists})::jsonb) AS x(value)", "x.value"
        else:
            source, value = f"{elements}({lists}) AS x", "x.value"
        parts.append(f"SELECT '{dimension}', {value}, COUNT(*) FROM {source} GROUP BY {value}")
    if limit is not None:
        parts.append(
            f"SELECT 'id', CAST(m.id AS TEXT), 0 FROM m WHERE {passing()}{fits}"
            f" AND (SELECT COUNT(*) FROM m WHERE {passing()}) <= {RANK_POOL}"
        )
    materialized = " MATERIALIZED" if postgresql else ""
    statement = (
        f"WITH m ({', '.join(columns)}) AS{materialized} ({sql}),"
        " total (n) AS (SELECT COUNT(*) FROM m)"
        " SELECT dimension, value, n FROM (SELECT dimension, value, n, ROW_NUMBER() OVER"
        " (PARTITION BY dimension ORDER BY n DESC, value) AS place FROM ("
        + " UNION ALL ".join(parts)
        + f") AS dimensions) AS counted WHERE place <= {FACET_SIZE} OR dimension = 'id'"
    )
    facets = {dimension: {} for dimension in DIMENSIONS}
    totals, ids = {}, []
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for dimension, value, n in cursor.fetchall():
            if dimension in facets:
                facets[dimension][value] = n
            elif dimension == "id":
                ids.append(int(value))
            else:
                totals[dimension] = n
    for dimension, counts in facets.items():  # most frequent first, then by value
        facets[dimension] = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    tally = Tally(sampled=totals["sampled"], passing=totals["count"], facets=facets)
    if limit is not None and tally.complete and tally.passing <= RANK_POOL:
        tally.ids = ids
    return tally


def _bounded_count(queryset) -> int:
    return queryset.values("id")[:SAMPLE].count()


def _scaled(facets: dict, scale: float) -> dict:
    return {
        dimension: {value: round(n * scale) for value, n in counts.items()}
        for dimension, counts in facets.items()
    }


class Counted(NamedTuple):
    count: int
    exact: bool
    facets: dict
    ids: list[int] | None = None  # the matching ids, when few (Tally.ids)


# Up to this many matches, looking each up (Backend.match's `few`) costs less than
# walking every readable row: the exact count (which runs only below it) and the page's
# ranking pool do so.
FEW = round(SURELY_BEYOND * EXACT_UP_TO)


def count_and_facets(matches, conditions: dict) -> Counted:
    """Count (and whether it is exact), facets and, when few, the ids of the matches
    (`matches(few, narrowing=())`: the readable entries that match the query, as
    Backend.match has them)
    under `conditions`: exact up to EXACT_UP_TO matches, scaled from the sample slice
    beyond. The slice comes first, as it is cheap whatever the matches: only when it
    leaves the total in doubt are the matches counted (up to SAMPLE of them)."""
    sliced = _tally(matches(False).filter(EntrySQL(slice_sql())), conditions, limit=None)
    surely_beyond = sliced.sampled * SLICE > SURELY_BEYOND * EXACT_UP_TO
    if not surely_beyond:
        tally = _tally(matches(True), conditions)
        if tally.complete:
            return Counted(tally.passing, True, tally.facets, tally.ids)
    # Beyond the exact range (at least SAMPLE matches): the filtered count exact while the
    # filters leave few enough, scaled from the slice otherwise.
    base = matches(False)
    total = max(SAMPLE, sliced.sampled * SLICE)
    facets = _scaled(sliced.facets, total / sliced.sampled if sliced.sampled else 0)
    count = round(total * sliced.passing / sliced.sampled) if sliced.sampled else 0
    if not conditions:
        return Counted(total, False, facets)
    if count <= SURELY_BEYOND * EXACT_UP_TO:
        narrowing = [c.narrowing for c in conditions.values() if c.narrowing]
        if narrowing:  # the filters' words narrow the matches down before any row is read
            base = matches(True, narrowing)
        exact = _bounded_count(_apply(base, conditions))
        if exact <= EXACT_UP_TO:
            return Counted(exact, True, facets)
        count = max(SAMPLE, count)
    return Counted(count, False, facets)


def ranked_page(
    candidates,
    query: Query,
    ordering: str,
    start: int,
    size: int,
    *,
    ids=None,
    few=False,
    narrowing=(),
) -> list:
    """Entries start..start+size of `candidates` (readable, filtered) that match `query`,
    in `ordering`, their organisation selected; `ids`, when given, are those matches (all
    of them, at most RANK_POOL), which are then ranked without matching again; `few` and
    `narrowing` (the filters'): Backend.match's.

    By relevance, in tiers, so that a common term never ranks every match: first the
    matches with every word in their title or alert names (an index lookup on PostgreSQL,
    a column filter in FTS5), ranked among themselves; only when they do not fill the page,
    the others, of which the RANK_POOL most recently updated are ranked (a LIMIT inside a
    subquery: beyond it nobody can page anyway). A row's tier and score depend on that row
    alone, so no order moves with documents the reader cannot read."""
    engine = backend()
    if ids is not None:
        # What matching would find, by primary key: a phrase's matching reads every
        # vector with the words to check their positions.
        # Readable still: a document made private since the count is not shown.
        filtered = candidates.filter(id__in=ids)
    else:
        filtered = candidates.filter(engine.match(query, few=few, narrowing=narrowing))
    rows = filtered.select_related("organisation")
    end = start + size
    if ordering != "relevance":
        return list(rows.order_by("-updated", "-id")[start:end])
    ranking = ("-score", "-updated", "-id")
    score = engine.score(query)
    if query.relaxed:  # some of the words: how many a document has is the first tier
        return list(rows.annotate(score=score).order_by(*ranking)[start:end])
    if ids is not None:  # all of them fit the pool: both tiers in one ranking
        titled = ExpressionWrapper(engine.title_match(query), output_field=BooleanField())
        return list(
            rows.annotate(titled=titled, score=score).order_by("-titled", *ranking)[start:end]
        )
    # Every positive word in the title implies the whole vector has it: only exclusions
    # need the full vector (which costs a TOAST read per row on PostgreSQL).
    titled = candidates.filter(engine.title_match(query))
    if query.excluded:
        titled = titled.filter(engine.match(query, few=few, narrowing=narrowing))
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


def _suggestion(readable, query: Query) -> str | None:
    """The query with each word that finds nothing readable replaced by the closest indexed
    word that does; None when there is nothing to correct. Candidates are all indexed words
    above a similarity threshold, tried closest first, and a candidate counts only if a
    document the reader can read contains it: what is suggested never depends on documents
    the reader cannot read."""
    engine = backend()
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
        def matches(few, narrowing=()):
            return matching(readable, query, few=few, narrowing=narrowing)

        return count_and_facets(matches, conditions)

    result = counted(query)
    strict_count = result.count
    relaxed = query.relax() if result.count == 0 else None
    if relaxed is not None:
        # No readable document has every word: show those with some of them, most first.
        relaxed_result = counted(relaxed)
        if relaxed_result.count:
            query, result = relaxed, relaxed_result
    count, exact, facet_counts = result.count, result.exact, result.facets
    hits = []
    if count and (page - 1) * page_size < count:
        start = (page - 1) * page_size
        entries = ranked_page(
            candidates,
            query,
            ordering,
            start,
            page_size,
            ids=result.ids,
            few=count < FEW,
            narrowing=[c.narrowing for c in conditions.values() if c.narrowing],
        )
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
    suggestion = _suggestion(readable, query) if strict_count < SUGGEST_BELOW else None
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
