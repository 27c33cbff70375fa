"""The document kinds, as the apps that define them register them (in their AppConfig's
`ready()`), so that the core serves feeds, demo content and search for every kind without
naming any: a new kind app registers itself and is served like the others."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    model: type
    # "Runbooks": the kind has an Atom feed at /feeds/<kind>s.atom under this title.
    feed_title: str | None = None

    @property
    def name(self) -> str:
        return self.model.kind


_KINDS: dict[str, Kind] = {}


def register(model, *, feed_title: str | None = None):
    _KINDS[model.kind] = Kind(model=model, feed_title=feed_title)


def all_kinds() -> list[Kind]:
    return list(_KINDS.values())


def model_for(name: str):
    """The model of the kind called `name` ("runbook", "incident", ...)."""
    try:
        return _KINDS[name].model
    except KeyError:
        raise LookupError(f"no document kind '{name}'; kinds: {', '.join(_KINDS)}") from None
