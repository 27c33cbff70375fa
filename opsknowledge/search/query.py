"""The one query language of search, parsed once for every backend.

Syntax (../API.md "Search"): words, `"phrases"`, `-exclusion` (of a word or a phrase) and
`or` between two terms. Every term is reduced to words of letters and digits, so nothing a
user types reaches a database's own query syntax: the backends build their queries from
these words, passed as parameters. One stop-word list serves both databases: PostgreSQL's
english configuration drops these words and would then match nothing, FTS5 has no stop
words at all, so the parser drops them before either sees the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_WORDS = 20

# PostgreSQL's english stop words that operators do not search for (not "up", "down",
# "off", "out": "filling up", "node down" and "failing over" mean something).
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    }
)

WORD = re.compile(r"[^\W_]+")
# A token: an optional "-", then a quoted phrase (closing quote optional) or a bare run.
TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))')


class QueryError(ValueError):
    """The query cannot be searched; the message says why (a 400 naming `q`)."""


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of several words in this order."""

    words: tuple[str, ...]

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Query:
    """All `groups` must match (each group: any of its terms) and no `excluded` term may."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()
    text: str = field(default="", compare=False)
    # A relaxed query matches any of the original groups (one group of all their terms).
    original_groups: tuple[tuple[Term, ...], ...] = ()

    @property
    def relaxed(self) -> bool:
        return bool(self.original_groups)

    def relax(self) -> Query | None:
        """The query matching documents with some of the terms, or None when it has one
        group only (nothing to relax)."""
        if len(self.groups) < 2:
            return None
        terms = tuple(dict.fromkeys(term for group in self.groups for term in group))
        return Query(
            groups=(terms,), excluded=self.excluded, text=self.text, original_groups=self.groups
        )

    @property
    def positive_terms(self) -> list[Term]:
        return [term for group in self.groups for term in group]

    @property
    def words(self) -> list[str]:
        """The positive single words (candidates for "did you mean")."""
        return [term.text for term in self.positive_terms if not term.is_phrase]


def words_of(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in WORD.findall(text))


def parse(text: str) -> Query:
    """The query `text`, or QueryError when it has no positive term or too many words."""
    # Control characters are never words; PostgreSQL refuses NUL in any string parameter.
    text = "".join(ch for ch in (text or "") if ch >= " " or ch in "\t\n").strip()
    if not text:
        raise QueryError("Give words to search for.")
    if len(text.split()) > MAX_QUERY_WORDS:
        raise QueryError(f"Use at most {MAX_QUERY_WORDS} words.")
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False  # the previous token was "or"
    for match in TOKEN.finditer(text):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if phrase is None and not negated and bare.lower() == "or":
            join_next = bool(groups)
            continue
        words = words_of(phrase if phrase is not None else bare)
        if phrase is None and len(words) == 1 and words[0] in STOP_WORDS:
            continue
        if not words:
            continue
        # "nova-compute" and "pg_repack" are phrases of their parts, as both databases
        # split them.
        term = Term(words)
        if negated:
            excluded.append(term)
            join_next = False
        elif join_next:
            groups[-1].append(term)
            join_next = False
        else:
            groups.append([term])
    if not groups:
        if excluded:
            raise QueryError(
                "Give at least one word to search for: an exclusion alone ('-word') matches "
                "almost everything."
            )
        raise QueryError("Give at least one word that is not a common word like 'the'.")
    return Query(
        groups=tuple(tuple(dict.fromkeys(group)) for group in groups),
        excluded=tuple(dict.fromkeys(excluded)),
        text=text,
    )


CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def split_camel_case(text: str) -> str:
    """`KubePodCrashLooping etcdNoLeader` → `Kube Pod Crash Looping etcd No Leader`: alert
    names are single lexemes otherwise, and "crash looping" would not find them."""
    return CAMEL_BOUNDARY.sub(" ", text)
