"""The search index: one row per searchable document of any kind (runbooks, practices,
failure reports, release notes), written by the services at the end of every write
(`opsknowledge.search.index`) and read by `opsknowledge.search`.

The row copies what visibility reads (organisation, visibility, status), so search filters
readable rows with the one `visible_to()` over a single table, whatever the kinds. What
each database matches on lives beside it and is not a Django field (migrations
0010_search_index, 0011_search_ranking): on PostgreSQL the `vector`, `rank_vector` and
`title_vector` tsvector columns of this table, with GIN indexes; on SQLite the FTS5 tables
`search_fts` and `search_plain` over the text columns, kept in step by triggers on this
table. A later AlterField on this model would make SQLite rebuild the table and lose those
triggers: the migration test checks they exist.
"""

from django.db import models

from ..visibility import VisibleQuerySet
from .catalogue import Organisation
from .documents import Status, Visibility


class SearchEntry(models.Model):
    VISIBILITY_PUBLIC = Visibility.PUBLIC
    VISIBILITY_COMMUNITY = Visibility.COMMUNITY
    # `status` holds the status as visibility reads it: a kind's members-only status
    # (a release note's archived) is stored as draft, with `archived` set.
    READABLE_STATUSES = (Status.PUBLISHED, Status.ARCHIVED)

    kind = models.CharField(max_length=16)
    object_id = models.PositiveIntegerField()
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(max_length=150)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    url = models.CharField(max_length=500)
    api_url = models.CharField(max_length=500)
    visibility = models.CharField(max_length=16, choices=Visibility.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    archived = models.BooleanField(default=False)
    language = models.CharField(max_length=8, default="en")
    # Weighted text: A title and alert names (CamelCase split too), B summary, components,
    # slug and tags, C the body and the other Markdown sections.
    text_a = models.TextField(blank=True)
    text_b = models.TextField(blank=True)
    text_c = models.TextField(blank=True)
    # Slugs (components, releases) and tag names, for filters and facets.
    components = models.JSONField(default=list, blank=True)
    releases = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    updated = models.DateTimeField()

    objects = VisibleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="one_search_entry_each")
        ]
        indexes = [
            models.Index(fields=["organisation", "updated"], name="search_entry_org"),
            # Readable rows counted, and (SQLite) matches counted and faceted, from the
            # index alone: SQLite keeps these columns after the body, in overflow pages.
            models.Index(
                fields=[
                    "visibility",
                    "status",
                    "organisation",
                    "archived",
                    "id",
                    "kind",
                    "updated",
                    "components",
                    "releases",
                    "tags",
                ],
                name="search_entry_readable",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.organisation_id}/{self.slug}"


class SearchWord(models.Model):
    """Words of titles, summaries, components and tags, for "did you mean" on PostgreSQL
    (with a trigram index added by the migration). The list is global and only ever grows:
    a word is suggested only once a document the reader can read is found by it."""

    word = models.CharField(max_length=64, primary_key=True)

    def __str__(self):
        return self.word
