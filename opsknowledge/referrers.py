"""What still points at a catalogue object, counted and never named: the counts include
documents the caller may not read, whose titles must not travel in an error message."""

from collections import Counter


def referrers(obj) -> Counter:
    """How many rows of each model refer to `obj` (foreign keys and many-to-many links,
    hidden relations included); models with none are left out."""
    counts = Counter()
    for relation in obj._meta.related_objects:
        model = relation.related_model
        found = model._base_manager.filter(**{relation.field.name: obj}).count()
        if found:
            counts[model] += found
    return counts


def by_model(objects) -> Counter:
    return Counter(type(obj) for obj in objects)


def describe(counts: Counter) -> str:
    """{Runbook: 3, ReleaseNote: 1} as "1 release note, 3 runbooks"."""
    parts = []
    for model, count in counts.items():
        meta = model._meta
        parts.append(f"{count} {meta.verbose_name if count == 1 else meta.verbose_name_plural}")
    return ", ".join(sorted(parts, key=lambda part: part.split(" ", 1)[1]))
