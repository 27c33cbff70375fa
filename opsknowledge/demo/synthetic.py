"""A seeded synthetic corpus for benchmarks: many runbooks of many organisations, with
words drawn from real documents in Zipf proportions (so some terms are in most documents
and most terms in few), mixed visibility and status, components and releases.

Bulk-inserted, not written through the services (100k documents at ~50 writes/s would take
half an hour): whatever derives from documents (the search index) is built afterwards by
its own rebuild. The search benchmark uses it; so can any other benchmark.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from ..models import Component, Organisation, Release, Status, Visibility

WORD = re.compile(r"[a-z][a-z0-9]{2,24}")
CONTENT = Path(__file__).resolve().parent / "content"
# Real documents beside the checkout (../shared/data), when there.
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TITLE_WORDS, SUMMARY_WORDS, BODY_WORDS = 5, 15, 120
VISIBILITIES = [Visibility.PUBLIC] * 6 + [Visibility.COMMUNITY] * 2 + [Visibility.ORGANISATION] * 2


def vocabulary(folders=()) -> list[str]:
    """Words of the Markdown files in `folders` (default: the real documents in
    ../shared/data if present, else the project's demo content), most frequent first."""
    counts = Counter()
    for folder in folders or ((REAL,) if REAL.is_dir() else (CONTENT,)):
        for path in sorted(Path(folder).rglob("*.md")):
            counts.update(WORD.findall(path.read_text(encoding="utf-8", errors="replace").lower()))
    return [word for word, _count in counts.most_common()]


@dataclass
class Corpus:
    words: list[str]
    weights: list[float]
    organisations: list
    documents: int

    def share(self, word: str) -> float:
        """The expected share of documents whose text has `word`."""
        p = self.weights[self.words.index(word)] / sum(self.weights)
        return 1 - (1 - p) ** (TITLE_WORDS + SUMMARY_WORDS + BODY_WORDS)

    def word_near(self, share: float) -> str:
        """The word whose expected share of documents is closest to `share`."""
        return min(self.words[:5000], key=lambda word: abs(self.share(word) - share))


def organisations(count: int) -> list:
    return [
        Organisation.objects.get_or_create(slug=f"bench-{n:02d}", defaults={"name": f"Bench {n}"})[
            0
        ]
        for n in range(count)
    ]


def corpus(documents: int, *, organisation_count=20, folders=()) -> Corpus:
    """The Corpus `generate` draws from (or drew from, for a database kept from a run)."""
    words = vocabulary(folders)[:20000]
    weights = [1 / (rank + 1) for rank in range(len(words))]
    return Corpus(words, weights, organisations(organisation_count), documents)


def generate(
    documents: int, *, organisation_count=20, folders=(), seed=13, batch=2000, report=None
):
    """Insert `documents` runbooks (slugs bench-<n>) spread over `organisation_count`
    organisations. Returns the Corpus (its words and their weights)."""
    from runbooks.models import Runbook

    rng = random.Random(seed)
    drawn = corpus(documents, organisation_count=organisation_count, folders=folders)
    words, weights, orgs = drawn.words, drawn.weights, drawn.organisations
    components = list(Component.objects.values_list("pk", flat=True))
    releases = list(Release.objects.values_list("pk", flat=True))
    component_links, release_links = Runbook.components.through, Runbook.releases.through
    now = timezone.now()

    cumulative = list(itertools.accumulate(weights))

    def text(count: int) -> str:
        return " ".join(rng.choices(words, cum_weights=cumulative, k=count))

    made = 0
    while made < documents:
        size = min(batch, documents - made)
        rows = []
        for n in range(made, made + size):
            title = text(TITLE_WORDS)
            rows.append(
                Runbook(
                    organisation=orgs[n % len(orgs)],
                    slug=f"bench-{n}",
                    title=title.capitalize(),
                    summary=text(SUMMARY_WORDS).capitalize() + ".",
                    body="## Meaning\n\n"
                    + text(BODY_WORDS // 2)
                    + "\n\n## Mitigation\n\n"
                    + text(BODY_WORDS // 2)
                    + "\n",
                    visibility=rng.choice(VISIBILITIES),
                    status=Status.DRAFT if rng.random() < 0.05 else Status.PUBLISHED,
                    updated=now,
                )
            )
        with transaction.atomic():
            created = Runbook.objects.bulk_create(rows)
            component_links.objects.bulk_create(
                component_links(runbook_id=runbook.pk, component_id=pk)
                for runbook in created
                for pk in rng.sample(components, k=min(2, len(components)))
            )
            release_links.objects.bulk_create(
                release_links(runbook_id=runbook.pk, release_id=rng.choice(releases))
                for runbook in created
            )
        made += size
        if report:
            report(size)
    return drawn
