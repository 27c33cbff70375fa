"""How each database matches, ranks, highlights and suggests, for a parsed `Query`.

Every fragment here is SQL of our own with the query's words as parameters: nothing typed
reaches SQL or a database's query syntax unquoted. What a backend computes for a row
depends on that row alone (PostgreSQL's `ts_rank`, SQLite's per-column tiers), never on
corpus statistics, so no score or order moves when a document the reader cannot read is
added: that is why SQLite's `bm25()` (document frequencies of the whole table) is not used.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import html
import re

from django.db import connection, transaction
from django.db.models import BooleanField, FloatField

from .index import PLAIN_VALUE, EntrySQL
from .query import Query, Term

START, STOP = "\x01", "\x02"  # hit markers in snippets, never in indexed text
MARKUP = re.compile(r"[`*#]+|^\s*>+", re.MULTILINE)
SPACE = re.compile(r"\s+")
TITLE_BOOST = 10.0  # a document whose title is the query ranks first


def mark_snippet(raw: str) -> str:
    """Snippet text with hits between START and STOP as escaped HTML whose only markup is
    <mark>."""
    text = SPACE.sub(" ", MARKUP.sub("", raw or "")).strip()
    escaped = html.escape(text, quote=False)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


class Backend:
    def planned(self):
        """A context in which the search's statements run (see PostgreSQL.planned)."""
        return contextlib.nullcontext()

    def match(self, query: Query, *, few=False, narrowing=()) -> EntrySQL:
        """SQL true for the entries that match `query`; `few`: the caller expects few
        matches (a plan may then start from them); `narrowing`: expressions of
        `narrowing()` the matches must also satisfy."""
        raise NotImplementedError

    def narrowing(self, values) -> str | None:
        """A condition the text index can test with the words, true for every entry whose
        components or tags include any of `values` (and maybe for others: the filter still
        tests each row), or None when the backend has no use for one."""
        return None

    def score(self, query: Query) -> EntrySQL:
        raise NotImplementedError

    def title_match(self, query: Query, *, negated=False) -> EntrySQL:
        """SQL true when the title or alert names (weight A) have every positive group of
        `query` (false, with `negated`): ranking's first tier."""
        raise NotImplementedError

    def snippets(self, query: Query, ids: list[int]) -> dict[int, str]:
        raise NotImplementedError

    def candidates(self, word: str) -> list[str]:
        """Indexed words close to `word`, closest first (readable or not: the caller keeps
        only those that find a document the reader can read)."""
        raise NotImplementedError

    def word_match(self, word: str) -> EntrySQL:
        raise NotImplementedError

    def title_words_sql(self, words) -> tuple[str, list]:
        """SQL true when the title or alert names have any of `words`."""
        raise NotImplementedError

    def title_words_score(self, words) -> tuple[str, list]:
        """SQL of a score of at most one per word, growing with how many of `words` the
        title and alert names have: a fact of the row alone."""
        raise NotImplementedError

    def title_boost(self, query: Query) -> tuple[str, tuple]:
        return (
            f"(CASE WHEN lower({{entry}}.title) = %s THEN {TITLE_BOOST} ELSE 0 END)",
            (query.text.strip().strip('"').lower(),),
        )


class PostgreSQL(Backend):
    # Each word stemmed as each document language stems it, and as written (product
    # names): a document matches through its own language's stems or the unstemmed words.
    CONFIGS = ("english", "german", "simple")

    @contextlib.contextmanager
    def planned(self):
        """Matches found through the GIN indexes, never by testing `vector @@ query` row by
        row. The planner prices that test like a comparison, but each one decompresses a
        vector from TOAST: at 100k documents it chose a sequential scan for a filtered
        count (1.7 s) where the bitmap scan of the GIN index takes a fraction of it, and an
        index scan of the sample slice's partial index testing each row (42 ms) where
        intersecting that index with the GIN one takes 8. Sequential and plain index
        scans are off for the search's statements alone (SET LOCAL, in a transaction of
        their own): bitmap scans remain, and index-only scans, which have their own
        setting. So is JIT compilation: the count-and-facets statement is estimated far
        above jit_above_cost (the planner assumes 100 values per JSON list), and compiling
        it took 22 ms of a 32 ms statement."""
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('enable_seqscan', 'off', true),"
                " set_config('enable_indexscan', 'off', true), set_config('jit', 'off', true)"
            )
            yield

    def term(self, term: Term) -> tuple[str, list]:
        return "%s::tsquery", [_tsquery_text(term.text)]

    def tsquery(self, query: Query, *, positive_only=False) -> tuple[str, list]:
        parts, params = [], []
        for group in query.groups:
            sqls = []
            for term in group:
                sql, more = self.term(term)
                sqls.append(sql)
                params += more
            parts.append("(" + " || ".join(sqls) + ")")
        if not positive_only:
            for term in query.excluded:
                sql, more = self.term(term)
                parts.append(f"!!{sql}")
                params += more
        return "(" + " && ".join(parts) + ")", params

    def match(self, query, *, few=False, narrowing=()):
        # Filters are facet keys of the vector here (index.FACET_KEYS): no narrowing.
        sql, params = self.tsquery(query)
        return EntrySQL(f"{{entry}}.vector @@ {sql}", params, output_field=BooleanField())

    def score(self, query):
        sql, params = self.tsquery(query, positive_only=True)
        boost, boost_params = self.title_boost(query)
        parts, more = [f"ts_rank({{entry}}.rank_vector, {sql})", boost], [*params, *boost_params]
        if query.relaxed:
            # Some of the words: the more of them a document has, the higher it ranks.
            for group in query.original_groups:
                group_sql, group_params = self.tsquery(Query(groups=(group,)), positive_only=True)
                parts.append(f"({{entry}}.vector @@ {group_sql})::int")
                more += group_params
        return EntrySQL(" + ".join(parts), more, output_field=FloatField())

    def title_match(self, query, *, negated=False):
        sql, params = self.tsquery(query, positive_only=True)
        condition = f"{{entry}}.title_vector @@ {sql}"
        return EntrySQL(f"NOT ({condition})" if negated else condition, params)

    def snippets(self, query, ids):
        if not ids:
            return {}
        sql, params = self.tsquery(query, positive_only=True)
        options = (
            f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, MaxFragments=2,"
            ' FragmentDelimiter=" … "'
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, ts_headline(CASE language WHEN 'de' THEN 'german' ELSE 'english' END"
                "::regconfig, summary || E'\\n' || left(text_c, 20000),"
                f" {sql}, %s) FROM opsknowledge_searchentry WHERE id = ANY(%s)",
                (*params, options, list(ids)),
            )
            return {pk: mark_snippet(text) for pk, text in cursor.fetchall()}

    def candidates(self, word):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT word FROM opsknowledge_searchword WHERE word %% %s AND word <> %s"
                " ORDER BY similarity(word, %s) DESC, word",
                (word, word, word),
            )
            return [row[0] for row in cursor.fetchall()]

    def word_match(self, word):
        return EntrySQL(
            "{entry}.vector @@ plainto_tsquery('simple', %s)", (word,), output_field=BooleanField()
        )

    def title_words_sql(self, words) -> tuple[str, list]:
        """SQL true when the title or alert names have any of `words`: the title vector,
        small enough to live in the row and with its own GIN index, not the full one."""
        sql, params = _pg_any_word_at_a(words)
        return f"{{entry}}.title_vector @@ {sql}", params

    def title_words_score(self, words) -> tuple[str, list]:
        sql, params = _pg_any_word_at_a(words)
        # ts_rank is below 1 for any vector (normalised by document length, 1: a long
        # title of the same words ranks below a short one).
        return f"ts_rank({{entry}}.title_vector, {sql}, 1) * {len(words)}", params


@functools.lru_cache(maxsize=4096)
def _tsquery_text(text: str) -> str:
    """`text` as a phrase in each of PostgreSQL.CONFIGS, each distinct form once, as tsquery
    text: 'issu' | 'issue', not 'issu' | 'issu' | 'issue'. The planner estimates an OR of
    the same lexeme three times as far more common than it is, and then does not
    intersect the GIN index of the words with another (an organisation's rows): 26 ms
    instead of 10 for a common word filtered by organisation at 100k documents. The forms
    come from PostgreSQL's own parser and go back as a parameter; the stemmers do not
    change while the server runs, so they are remembered per process."""
    columns = ", ".join(f"phraseto_tsquery('{config}', %s)::text" for config in PostgreSQL.CONFIGS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", [text] * len(PostgreSQL.CONFIGS))
        forms = [form for form in cursor.fetchone() if form]
    return " | ".join(f"( {form} )" for form in dict.fromkeys(forms))


def _pg_any_word_at_a(words) -> tuple[str, list]:
    # Words are letters and digits (query.WORD), so they are plain lexemes in tsquery syntax.
    return "to_tsquery('simple', %s)", [" | ".join(f"{word}:A" for word in words)]


FTS_WORD = re.compile(r"[a-z0-9]+")  # ASCII letters and digits: words to FTS5's tokenizer


def _fts_term(term: Term) -> str:
    # Words are letters and digits only (query.WORD): quoted, they are never FTS5 syntax.
    return '"' + " ".join(term.words) + '"'


class SQLite(Backend):
    SIMILARITY = 0.7

    def expression(self, query: Query, *, positive_only=False) -> str:
        groups = ["(" + " OR ".join(_fts_term(t) for t in group) + ")" for group in query.groups]
        expression = "(" + " AND ".join(groups) + ")"
        if not positive_only:
            for term in query.excluded:
                expression = f"{expression} NOT {_fts_term(term)}"
        return expression

    def _in(self, expression: str, table="search_fts") -> tuple[str, list]:
        return (
            f"{{entry}}.id IN (SELECT rowid FROM {table} WHERE {table} MATCH %s)",
            [expression],
        )

    def match(self, query, *, few=False, narrowing=()):
        expression = self.expression(query)
        if narrowing:  # one FTS query intersects them, before any row is read
            expression = " AND ".join([f"({expression})", *(f"({n})" for n in narrowing)])
        sql, params = self._in(expression)
        if few:
            # Each match looked up by id, in the index keyed by id that covers what
            # counting, facets and filters read (migration opsknowledge 0016): for a rare
            # word at 100k documents 1 ms, where walking the readable rows takes 9 (an
            # editor's, 22).
            return EntrySQL(sql, params, output_field=BooleanField())
        # `+id`: not a lookup of every match (a common term has tens of thousands: 510 ms
        # for 60k rows of the table, whose columns after the body live in overflow pages)
        # but a walk of the readable-rows index, which covers the same columns, testing
        # each id against the matches.
        return EntrySQL("+" + sql, params, output_field=BooleanField())

    def narrowing(self, values):
        # Text B holds each component's name, slug and aliases and each tag (index._row),
        # as words: the slug's or name's words as a phrase find every entry that has it.
        phrases = []
        for value in values:
            # Only slug-like values: FTS5 folds "café" to "cafe", which no ASCII split has.
            if not PLAIN_VALUE.fullmatch(str(value)):
                return None
            words = FTS_WORD.findall(str(value))
            phrases.append('"' + " ".join(words) + '"')
        return "{text_b} : (" + " OR ".join(phrases) + ")" if phrases else None

    def score(self, query):
        # Per group: 3 when the title or alert names have it, 1 when the summary,
        # components or tags do, 1 when the document has it at all (some of the words:
        # the more a document has, the higher it ranks): per-row facts, unlike bm25.
        parts, params = [], []
        for group in query.original_groups if query.relaxed else query.groups:
            expression = "(" + " OR ".join(_fts_term(t) for t in group) + ")"
            for column, weight in (("text_a", 3), ("text_b", 1), (None, 1)):
                if column is None:
                    if query.relaxed:
                        sql, more = self._in(expression)
                        parts.append(f"({sql}) * {weight}")
                        params += more
                    continue
                sql, more = self._in(f"{{{column}}} : {expression}")
                parts.append(f"({sql}) * {weight}")
                params += more
        boost, boost_params = self.title_boost(query)
        return EntrySQL(
            " + ".join([*parts, boost]), (*params, *boost_params), output_field=FloatField()
        )

    def title_match(self, query, *, negated=False):
        sql, params = self._in("{text_a} : " + self.expression(query, positive_only=True))
        return EntrySQL(sql.replace(" IN ", " NOT IN ", 1) if negated else sql, params)

    def snippets(self, query, ids):
        if not ids:
            return {}
        placeholders = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            # snippet() works only in a plain query of the FTS table (no join, no GROUP BY).
            cursor.execute(
                f"SELECT rowid, snippet(search_fts, -1, char(1), char(2), ' … ', 24)"
                f" FROM search_fts WHERE search_fts MATCH %s AND rowid IN ({placeholders})",
                (self.expression(query, positive_only=True), *ids),
            )
            return {pk: mark_snippet(text) for pk, text in cursor.fetchall()}

    def candidates(self, word):
        with connection.cursor() as cursor:
            cursor.execute(
                # Words with the same first letter (as fuzzy matchers usually require:
                # typos rarely hit it), a range search in the vocabulary.
                "SELECT term FROM search_vocab WHERE term >= %s AND term < %s"
                " AND length(term) BETWEEN %s AND %s",
                (word[0], chr(ord(word[0]) + 1), max(1, len(word) - 2), len(word) + 2),
            )
            terms = [row[0] for row in cursor.fetchall()]
        scored = []
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(word)  # the costly side, prepared once (as get_close_matches does)
        for term in terms:
            if term == word or not term[:1].isalpha():
                continue
            matcher.set_seq1(term)
            if (
                matcher.real_quick_ratio() >= self.SIMILARITY
                and matcher.quick_ratio() >= self.SIMILARITY
                and matcher.ratio() >= self.SIMILARITY
            ):
                scored.append((-matcher.ratio(), term))
        return [term for _ratio, term in sorted(scored)]

    def word_match(self, word):
        sql, params = self._in(f'"{word}"', table="search_plain")
        return EntrySQL(sql, params, output_field=BooleanField())

    def title_words_sql(self, words) -> tuple[str, list]:
        return self._in("{text_a} : (" + " OR ".join(f'"{w}"' for w in words) + ")")

    def title_words_score(self, words) -> tuple[str, list]:
        # One point per word the title or alert names have, each one FTS lookup.
        parts, params = [], []
        for word in words:
            sql, more = self._in(f'{{text_a}} : "{word}"')
            parts.append(f"({sql})")
            params += more
        return " + ".join(parts), params


def backend() -> Backend:
    return PostgreSQL() if connection.vendor == "postgresql" else SQLite()
