"""The abstract base of every published document (runbooks, practices, failure reports)."""

import hashlib

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils.text import slugify
from taggit.managers import TaggableManager
from taggit.models import Tag, TaggedItem

from ..paths import document_path
from ..visibility import VisibleQuerySet
from .catalogue import Component, Organisation, Release, slug_validator


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    COMMUNITY = "community", "Community (signed-in members of any organisation)"
    ORGANISATION = "organisation", "Organisation members only"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


# Runbooks and practices; failure reports use every Status (they add in_review).
DOCUMENT_STATUS_CHOICES = [
    (s.value, s.label) for s in (Status.DRAFT, Status.PUBLISHED, Status.ARCHIVED)
]


class License(models.TextChoices):
    """SPDX ids offered for documents; adoption is refused for those forbidding derivatives."""

    CC_BY_SA_4_0 = "CC-BY-SA-4.0", "Creative Commons Attribution-ShareAlike 4.0"
    CC_BY_4_0 = "CC-BY-4.0", "Creative Commons Attribution 4.0"
    CC0_1_0 = "CC0-1.0", "Creative Commons Zero 1.0"
    CC_BY_ND_4_0 = "CC-BY-ND-4.0", "Creative Commons Attribution-NoDerivatives 4.0"
    CC_BY_NC_SA_4_0 = "CC-BY-NC-SA-4.0", "Creative Commons Attribution-NonCommercial-ShareAlike 4.0"
    CC_BY_NC_ND_4_0 = (
        "CC-BY-NC-ND-4.0",
        "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
    )
    APACHE_2_0 = "Apache-2.0", "Apache License 2.0"
    MIT = "MIT", "MIT License"
    # The ids the importers detect from a repository's LICENSE file (opsknowledge.importing).
    BSD_2_CLAUSE = "BSD-2-Clause", "BSD 2-Clause License"
    BSD_3_CLAUSE = "BSD-3-Clause", "BSD 3-Clause License"
    MPL_2_0 = "MPL-2.0", "Mozilla Public License 2.0"
    GPL_2_0_ONLY = "GPL-2.0-only", "GNU General Public License v2.0 only"
    GPL_2_0_OR_LATER = "GPL-2.0-or-later", "GNU General Public License v2.0 or later"
    GPL_3_0_ONLY = "GPL-3.0-only", "GNU General Public License v3.0 only"
    GPL_3_0_OR_LATER = "GPL-3.0-or-later", "GNU General Public License v3.0 or later"
    AGPL_3_0_ONLY = "AGPL-3.0-only", "GNU Affero General Public License v3.0 only"
    AGPL_3_0_OR_LATER = "AGPL-3.0-or-later", "GNU Affero General Public License v3.0 or later"
    PROPRIETARY = "proprietary", "Proprietary (no reuse)"

    @classmethod
    def allows_derivatives(cls, spdx: str) -> bool:
        return spdx != cls.PROPRIETARY and "-ND-" not in f"{spdx}-"

    @classmethod
    def refusal(cls, spdx: str) -> str:
        return f"'{spdx}' is not a valid choice of licence; use one of {', '.join(cls.values)}."

    @classmethod
    def is_share_alike(cls, spdx: str) -> bool:
        """Copyleft: a derivative must keep exactly this licence."""
        return spdx.startswith(("CC-BY-SA-", "CC-BY-NC-SA-", "GPL-", "AGPL-")) or spdx == "MPL-2.0"


class Language(models.TextChoices):
    """The language a document is written in: search stems its words accordingly."""

    ENGLISH = "en", "English"
    GERMAN = "de", "German"


def having_any(queryset, relation: str, values):
    """The rows of `queryset` with at least one of `values` (ids) in the many-to-many field
    `relation`, as an EXISTS: a join would repeat each row once per match and need a
    DISTINCT over every column, bodies included."""
    field = queryset.model._meta.get_field(relation)
    through = field.remote_field.through
    matches = through.objects.filter(
        **{field.m2m_field_name(): OuterRef("pk"), f"{field.m2m_reverse_field_name()}__in": values}
    )
    return queryset.filter(Exists(matches))


def _tag_plan(names) -> tuple[dict[str, int], list]:
    """(ids of the existing tags among `names`, unsaved Tags for the missing ones), in one
    query. `names` are normalised (lower case, see references.normalise_tags)."""
    names = sorted(set(names))
    if not names:
        return {}, []
    slugs = {name: slugify(name) or name for name in names}
    known = Tag.objects.filter(models.Q(name__in=names) | models.Q(slug__in=slugs.values()))
    ids, taken = {}, set()
    for pk, name, slug in known.values_list("pk", "name", "slug"):
        taken.add(slug)
        if name in slugs:
            ids[name] = pk
    missing = []
    for name in names:
        if name in ids:
            continue
        slug = slugs[name]
        if slug in taken:  # "a.b" and "ab" slugify alike: keep slugs unique, as taggit does
            slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        taken.add(slug)
        missing.append(Tag(name=name, slug=slug))
    return ids, missing


def tag_lock_keys(tags) -> list[int]:
    """The advisory-lock keys of creating `tags` (unsaved Tags), sorted: one per slug as
    slugify gives it, so names that slugify alike ("a.b", "ab") share one."""
    keys = set()
    for tag in tags:
        digest = hashlib.sha256(f"taggit_tag:{slugify(tag.name) or tag.name}".encode()).digest()
        keys.add(int.from_bytes(digest[:8], "big", signed=True))
    return sorted(keys)


# Writers creating the same tag at once wait for each other behind these locks (PostgreSQL;
# true once this transaction holds the locks of the keys passed, sorted, so in key order:
# writers creating several tags cannot deadlock on them). Without them the writers race inside
# `INSERT ... ON CONFLICT (name)`: ON CONFLICT settles a clash on its arbiter index only, and
# a tag has a second unique index (slug). A writer that passes the arbiter's check before the
# other's row is indexed then waits on the slug index and fails with a unique violation when
# the other commits: a 409 for a write nothing was wrong with (seen under load). Behind the
# lock the later writer's upsert sees the committed tag and takes its id. Released at the end
# of the transaction. SQLite needs none: its writers are serialised by the database lock
# (`tag_ids`, its path, is never taken on PostgreSQL).
TAG_LOCKS_SQL = (
    "(SELECT count(*) FROM (SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k)"
    " AS locks) >= 0"
)


def tag_ids(names) -> dict[str, int]:
    """The ids of the tags `names` (normalised: lower case, see references.normalise_tags),
    creating the missing ones: one query when all exist, two otherwise (taggit's own
    `tags.set()` costs a lookup, two savepoints and an insert per tag)."""
    ids, missing = _tag_plan(names)
    if missing:
        # A concurrent writer may have created one since: the upsert returns its id too.
        created = Tag.objects.bulk_create(
            missing, update_conflicts=True, unique_fields=["name"], update_fields=["name"]
        )
        ids.update({tag.name: tag.pk for tag in created})
    return ids


def set_tags(document, names, *, created: bool = False):
    """Tag `document` with exactly `names`, in at most four statements."""
    content_type = ContentType.objects.get_for_model(type(document))
    items = TaggedItem.objects.filter(content_type=content_type, object_id=document.pk)
    if not created:
        items.exclude(tag__name__in=list(names)).delete()
    ids = tag_ids(names)
    TaggedItem.objects.bulk_create(
        [
            TaggedItem(content_type=content_type, object_id=document.pk, tag_id=pk)
            for pk in ids.values()
        ],
        ignore_conflicts=True,
    )


class RelationStatement:
    """The relation rows of one write, as ONE statement on PostgreSQL: each relation's
    DELETE of what is no longer wanted and INSERT ... ON CONFLICT DO NOTHING of the rest
    are data-modifying CTEs of the same statement (they read one snapshot and touch
    disjoint rows, so their order does not matter). A write of four relations costs one
    round trip instead of four to seven (issue "Fast at scale": a write <= 15 statements,
    imports >= 250 documents/s). Other databases have no data-modifying CTEs: see
    `Document.apply_relations`."""

    def __init__(self):
        self.parts: list[tuple[str, list]] = []

    @staticmethod
    def quoted(name: str) -> str:
        from django.db import connection

        return connection.ops.quote_name(name)

    def replace_rows(self, model, owner: str, owner_id, key: str, keys, *, fresh: bool, cast):
        """`model`'s rows of `owner_id` are exactly one per key of `keys` (column `key`)."""
        table, q = model._meta.db_table, self.quoted
        if not fresh:
            self.parts.append(
                (
                    f"DELETE FROM {q(table)} WHERE {q(owner)} = %s"
                    f" AND NOT ({q(key)} = ANY(%s::{cast}[]))",
                    [owner_id, list(keys)],
                )
            )
        if keys:
            self.parts.append(
                (
                    f"INSERT INTO {q(table)} ({q(owner)}, {q(key)})"
                    f" SELECT %s, unnest(%s::{cast}[]) ON CONFLICT DO NOTHING",
                    [owner_id, list(keys)],
                )
            )

    def replace_tags(self, content_type_id: int, object_id, names, *, fresh: bool):
        """The tagged items of the object are exactly `names`; missing tags are created in
        the same statement (their lookup is the one query before it)."""
        known, missing = _tag_plan(names)
        if not fresh:
            self.parts.append(
                (
                    "DELETE FROM taggit_taggeditem WHERE content_type_id = %s AND object_id = %s"
                    " AND NOT (tag_id = ANY(%s::integer[]))"
                    " AND tag_id NOT IN (SELECT id FROM taggit_tag WHERE name = ANY(%s::text[]))",
                    [content_type_id, object_id, list(known.values()), [t.name for t in missing]],
                )
            )
        if not known and not missing:
            return
        ids_sql, params = "SELECT unnest(%s::integer[]) AS id", [list(known.values())]
        if missing:
            # A concurrent writer may have created one since: the upsert returns its id too.
            # First the creators' locks (TAG_LOCKS_SQL), as a one-time filter evaluated
            # before the first row is inserted; the conflict check sees rows committed
            # while we waited even though the statement's snapshot is older.
            name = f"new_tags_{len(self.parts)}"
            self.parts.append(
                (
                    "INSERT INTO taggit_tag (name, slug)"
                    " SELECT * FROM unnest(%s::varchar[], %s::varchar[])"
                    f" WHERE {TAG_LOCKS_SQL}"
                    " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                    [[t.name for t in missing], [t.slug for t in missing], tag_lock_keys(missing)],
                )
            )
            ids_sql += f" UNION ALL SELECT id FROM {name}"
        self.parts.append(
            (
                "INSERT INTO taggit_taggeditem (tag_id, content_type_id, object_id)"
                f" SELECT ids.id, %s, %s FROM ({ids_sql}) ids ON CONFLICT DO NOTHING",
                [content_type_id, object_id, *params],
            )
        )

    def execute(self):
        from django.db import connection

        if not self.parts:
            return
        names, ctes, params = [], [], []
        for index, (sql, values) in enumerate(self.parts):
            name = f"new_tags_{index}" if sql.startswith("INSERT INTO taggit_tag ") else f"w{index}"
            names.append(name)
            ctes.append(f"{name} AS ({sql})")
            params.extend(values)
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {', '.join(ctes)} SELECT 1", params)


class Document(models.Model):
    VISIBILITY_PUBLIC = Visibility.PUBLIC
    VISIBILITY_COMMUNITY = Visibility.COMMUNITY
    # Statuses readable beyond the publishing organisation; everything else is members-only.
    READABLE_STATUSES = (Status.PUBLISHED, Status.ARCHIVED)
    STATUS_CHOICES = DOCUMENT_STATUS_CHOICES
    # Fields whose change makes a new revision; subclasses extend it. The snapshot of a
    # revision holds exactly these.
    CONTENT_FIELDS = (
        "title",
        "summary",
        "body",
        "components",
        "releases",
        "tags",
        "visibility",
        "status",
        "license",
        "language",
        "last_reviewed",
    )
    # Content that is not a column, a many-to-many field or tags (alert names, timeline
    # entries, ...): subclasses list it here and implement get/set_related_content.
    RELATED_CONTENT = ()
    # Columns an importer writes beside the content (see source_path).
    PROVENANCE_FIELDS = ("source_path", "source_url")
    # derived_columns() reads only columns: computed before the write and stored with the
    # row (else after the relations, by a second UPDATE when they change).
    DERIVED_FROM_COLUMNS = False
    # Read with the row a write locks (what the write and its response read of them).
    WRITE_SELECT_RELATED = ("organisation",)
    # The Markdown fields, each rendered to `<name>_html` on every write.
    MARKDOWN_FIELDS = ("body",)
    # The most items a list of a document may hold: each costs work on every write (tag
    # rows shared by the instance, checks over every item), and no real document comes
    # near (the real postmortems have at most 30 timeline rows, status-page incidents 38
    # updates in one). Kinds add their own lists.
    LIST_LIMITS = {"components": 50, "releases": 50, "tags": 50}
    kind = "document"  # URL segment and search kind, set by subclasses

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="%(class)ss"
    )
    slug = models.SlugField(max_length=100, validators=[slug_validator])
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    components = models.ManyToManyField(Component, blank=True, related_name="%(class)ss")
    releases = models.ManyToManyField(Release, blank=True, related_name="%(class)ss")
    tags = TaggableManager(blank=True)
    # The same tags, as a plain generic relation: prefetching it with its tags is far
    # cheaper than taggit's own prefetch (which builds a large query per list page).
    tagged_items = GenericRelation(TaggedItem)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.ORGANISATION
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    license = models.CharField(max_length=64, default=License.CC_BY_SA_4_0)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revision = models.PositiveIntegerField(default=1, editable=False)
    last_reviewed = models.DateField(null=True, blank=True)
    # Provenance, set by the importers: the file the document was last imported from
    # (relative to the import root; relative links in the body resolve from it, and
    # --prune finds documents by it) and the original's address (a repository's raw file,
    # a report's public page). Not content: a change to them alone makes no revision.
    source_path = models.CharField(max_length=500, blank=True, editable=False)
    source_url = models.URLField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["organisation__slug", "slug"]
        # Who may read a row is decided by visibility, status and organisation
        # (visibility.visible_to): list counts are answered from this index (an index-only
        # scan once vacuumed), never from the wide rows with their bodies. With the id, the
        # counts of filtered lists too: a component's or tag's rows are joined by id. With
        # the slug, a list's page of ids in the default order (organisation, slug) as well
        # (DocumentViewSet.list): only the rows shown are read.
        indexes = [
            models.Index(
                fields=["visibility", "status", "organisation", "slug", "id"],
                name="%(app_label)s_%(class)s_vis",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "slug"], name="%(app_label)s_%(class)s_unique_slug"
            )
        ]

    def __str__(self):
        return f"{self.organisation.slug}/{self.slug}"

    def get_absolute_url(self):
        return document_path(f"{self.kind}-page", **self.url_kwargs())

    def get_api_url(self):
        return document_path(f"api:{self.kind}-detail", **self.url_kwargs())

    @property
    def is_archived(self) -> bool:
        return self.status == Status.ARCHIVED

    # Whether the briefing shows this kind on the step of each release it names (then the
    # stamps need the ids of its releases; `opsknowledge.stamps.stored_release_ids`).
    BRIEFING_BY_RELEASES = False

    def briefing_steps(self, release_ids) -> set[tuple[int, int, str]]:
        """The upgrade-briefing steps this document, as it stands in memory, is shown on when
        published: (pk of the release an upgrade starts from or 0, pk of the step's release,
        note kind or ""). `release_ids`: the releases it names (kinds that need them).
        Ids, not slugs: a stored snapshot keeps a renamed release's old slug.
        `opsknowledge.stamps` keeps the stamps; kinds that briefings show override it."""
        return set()

    def content_data(self) -> dict:
        """The content fields as the write services take them: model instances for
        references, lists for relations."""
        data = {}
        for name in self.CONTENT_FIELDS:
            if name in self.RELATED_CONTENT:
                data[name] = self.get_related_content(name)
            elif name == "tags":
                data[name] = sorted(tag.name for tag in self.tags.all())
            elif self._meta.get_field(name).many_to_many:
                data[name] = list(getattr(self, name).all())
            else:
                data[name] = getattr(self, name)
        return data

    def apply_relations(self, data: dict, *, created: bool = False, growing=()):
        """Write the relational content in `data` (many-to-many fields, tags, related
        content); columns are written by the services' compare-and-set UPDATE. `created`:
        the document has no relation rows yet (nothing to remove); `growing`: names of
        relations that only gain items. On PostgreSQL all of it is one statement (plus the
        tags' lookup; see RelationStatement); elsewhere each relation costs at most a DELETE
        of what is no longer wanted and one INSERT of the rest (tags: plus their lookup)."""
        from django.db import connection

        batch = RelationStatement() if connection.vendor == "postgresql" else None
        for name, value in data.items():
            fresh = created or name in growing
            rows = self.related_rows(name, value) if name in self.RELATED_CONTENT else None
            if rows is not None and batch is not None:
                model, owner, key, keys, cast = rows
                batch.replace_rows(model, owner, self.pk, key, keys, fresh=fresh, cast=cast)
            elif name in self.RELATED_CONTENT:
                self.set_related_content(name, value, created=fresh)
            elif name == "tags" and batch is not None:
                content_type = ContentType.objects.get_for_model(type(self))
                batch.replace_tags(content_type.pk, self.pk, value, fresh=fresh)
            elif name == "tags":
                set_tags(self, value, created=fresh)
            elif name in self.CONTENT_FIELDS and self._meta.get_field(name).many_to_many:
                field = self._meta.get_field(name)
                ids = [item.pk for item in value]
                if any(pk is None for pk in ids):
                    raise ValueError(f"{name}: unsaved objects cannot be related")
                if batch is not None:
                    through = field.remote_field.through
                    owner = through._meta.get_field(field.m2m_field_name()).column
                    key = through._meta.get_field(field.m2m_reverse_field_name()).column
                    batch.replace_rows(
                        through, owner, self.pk, key, ids, fresh=fresh, cast="bigint"
                    )
                    continue
                if not fresh:
                    through = field.remote_field.through
                    through.objects.filter(**{field.m2m_field_name(): self.pk}).exclude(
                        **{f"{field.m2m_reverse_field_name()}__in": ids}
                    ).delete()
                # Django's fast path: one INSERT ... ON CONFLICT DO NOTHING (no SELECT). The
                # objects, not their ids: an unsaved one is refused (ValueError), not ignored.
                getattr(self, name).add(*value)
        if batch is not None:
            batch.execute()
            for name in data:
                if (
                    name in self.CONTENT_FIELDS
                    and name != "tags"
                    and name not in self.RELATED_CONTENT
                ):
                    # What Django's add() would have done: no stale prefetched list.
                    getattr(self, "_prefetched_objects_cache", {}).pop(name, None)

    def related_rows(self, name, value):
        """Related content that is a plain set of keys (alert names), as (model, owner
        column, key column, keys, SQL type of the keys), so that it joins the write's one
        relation statement; None when it is rows of its own (set_related_content)."""
        return None

    @classmethod
    def status_refusal(cls, status: str) -> str:
        valid = ", ".join(value for value, _label in cls.STATUS_CHOICES)
        return f"'{status}' is not a valid choice of status for a {cls.kind}; use {valid}."

    def clean(self):
        errors = {}
        if self.status not in {value for value, _label in self.STATUS_CHOICES}:
            errors["status"] = [self.status_refusal(self.status)]
        if self.license not in License.values:
            errors["license"] = [License.refusal(self.license)]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def normalise_related_content(cls, name, value, *, reader=None, document=None):
        """`value` of the related content `name` in its one stored form, or ValidationError
        (a dict keyed by the path inside the value, e.g. {"2.at": [...]}, or a message).
        `reader` is the writer's Access for references to other documents (None: the
        operator, who may refer to any); `document` the one written (None: a new one)."""
        raise NotImplementedError(name)

    def get_related_content(self, name):
        raise NotImplementedError(name)

    def set_related_content(self, name, value, *, created: bool = False):
        raise NotImplementedError(name)

    def derived_columns(self) -> dict:
        """Columns computed from the content after a write (e.g. a report's warnings)."""
        return {}

    def reference(self) -> str:
        """How other documents refer to this one: "organisation/slug"."""
        return f"{self.organisation.slug}/{self.slug}"

    def readable_snapshot(self, content: dict, who) -> dict:
        """A stored snapshot of this document as `who` may see it. Snapshots can name other
        documents (a report's runbook links); kinds whose snapshots do drop what the reader
        cannot read, exactly as their live representation does."""
        return content

    def publication_warnings(self) -> list[dict]:
        """Findings that must be acknowledged before this document is published (failure
        reports: blameless-language and redaction checks)."""
        return []

    def url_kwargs(self) -> dict:
        return {"organisation": self.organisation.slug, "slug": self.slug}


class AdoptableDocument(Document):
    """A document another organisation can adopt: the copy remembers where it came from."""

    upstream_organisation = models.CharField(max_length=64, blank=True)
    upstream_slug = models.CharField(max_length=100, blank=True)
    upstream_revision = models.PositiveIntegerField(null=True, blank=True)
    upstream_license = models.CharField(max_length=64, blank=True)

    class Meta(Document.Meta):
        abstract = True

    @property
    def has_upstream(self) -> bool:
        return bool(self.upstream_organisation and self.upstream_slug)

    def clean(self):
        super().clean()
        original = self.upstream_license
        if original and License.is_share_alike(original) and self.license != original:
            raise ValidationError(
                {
                    "license": [
                        f"An adopted copy of a {original} original keeps its licence "
                        f"({original}): ShareAlike licences pass on to derivatives."
                    ]
                }
            )
