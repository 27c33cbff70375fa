"""Cross-organisation reuse: the documents of other organisations about the same thing as
one document ("3 other providers have a runbook for this alert", "similar failures
elsewhere"). Shared alert names weigh most, then shared components, then words of the
title; readable documents only, in a constant number of queries (three)."""

from __future__ import annotations

from django.db.models import FloatField

from ..models import SearchEntry
from . import index
from .backends import backend
from .index import EntrySQL
from .query import STOP_WORDS, words_of
from .service import Hit, kinds, readable_entries

LIMIT = 10
# Above any text score: at most TITLE_WORDS words, each worth less than 10.
ALERT_WEIGHT, COMPONENT_WEIGHT, TITLE_WORDS = 1000, 100, 12
DOCUMENT_KINDS = ("runbook", "practice", "incident")


def related_documents(document, reader, *, limit: int = LIMIT) -> list[Hit]:
    """Up to `limit` documents `reader` may read, of organisations other than the
    document's, most related first."""
    spec = index.searchable_for(type(document))
    own = SearchEntry.objects.filter(kind=spec.kind, object_id=document.pk).first()
    if own is None:
        return []
    alerts = []
    if hasattr(document, "alerts"):
        alerts = sorted(
            {w for name in document.alerts.values_list("name", flat=True) for w in words_of(name)}
        )
    title_words = [w for w in dict.fromkeys(words_of(own.title)) if w not in STOP_WORDS]
    title_words = title_words[:TITLE_WORDS]
    engine = backend()
    parts, params, conditions, condition_params = [], [], [], []
    if alerts:
        sql, more = engine.title_words_sql(alerts)
        parts.append(f"(CASE WHEN {sql} THEN {ALERT_WEIGHT} ELSE 0 END)")
        params += more
        conditions.append(sql)
        condition_params += more
    if own.components:
        component = index.contains_any("components", own.components)
        parts.append(f"(CASE WHEN {component.template} THEN {COMPONENT_WEIGHT} ELSE 0 END)")
        params += list(component.params)
        conditions.append(component.template)
        condition_params += list(component.params)
    if title_words:
        # Title to title (and alert names): a word in another document's body says little
        # about its being about the same thing, and testing and ranking every body that has
        # one of these words is what made this slow (150 ms at 25k documents).
        sql, more = engine.title_words_sql(title_words)
        conditions.append(sql)
        condition_params += more
        score, more = engine.title_words_score(title_words)
        parts.append(f"({score})")
        params += more
    if not conditions:
        return []
    candidates = (
        readable_entries(reader)
        .filter(kind__in=DOCUMENT_KINDS)
        .exclude(organisation_id=own.organisation_id)
        .filter(EntrySQL("(" + " OR ".join(conditions) + ")", condition_params))
        .annotate(related=EntrySQL(" + ".join(parts), params, output_field=FloatField()))
        .select_related("organisation")
        .order_by("-related", "-updated", "-id")[:limit]
    )
    labels = kinds()
    return [Hit.of_entry(entry, labels, score=entry.related) for entry in candidates]
