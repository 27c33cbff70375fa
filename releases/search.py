"""What release notes contribute to search: the note under its release, found by its
title, its component and its release; hits link to the note on its release page."""

from opsknowledge.search.index import Indexed, Searchable, register

from .models import ReleaseNote


def _note(note, content: dict) -> Indexed:
    release = note.release
    component = content.get("component")
    return Indexed(
        title=content["title"],
        summary="",
        b=[note.get_kind_display(), release.name, release.slug, release.version],
        c=[content["body"]],
        components=[component] if component else [],
        releases=[release.slug],
    )


register(
    Searchable(
        kind="release-note",
        model=ReleaseNote,
        label="Release note",
        describe=_note,
        url=lambda note: note.page_url(),
        api_url=lambda note: note.get_absolute_url(),
        select_related=("organisation", "release", "component"),
    )
)
