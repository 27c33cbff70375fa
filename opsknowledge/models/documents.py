"""The abstract base of every published document (runbooks, practices, failure reports)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from taggit.managers import TaggableManager
from taggit.models import TaggedItem

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
        "last_reviewed",
    )
    # Content that is not a column, a many-to-many field or tags (alert names, timeline
    # entries, ...): subclasses list it here and implement get/set_related_content.
    RELATED_CONTENT = ()
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
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revision = models.PositiveIntegerField(default=1, editable=False)
    last_reviewed = models.DateField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["organisation__slug", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "slug"], name="%(app_label)s_%(class)s_unique_slug"
            )
        ]

    def __str__(self):
        return f"{self.organisation.slug}/{self.slug}"

    def get_absolute_url(self):
        return reverse(f"{self.kind}-page", kwargs=self.url_kwargs())

    def get_api_url(self):
        return reverse(f"api:{self.kind}-detail", kwargs=self.url_kwargs())

    @property
    def is_archived(self) -> bool:
        return self.status == Status.ARCHIVED

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

    def apply_relations(self, data: dict):
        """Write the relational content in `data` (many-to-many fields, tags, related
        content); columns are written by the services' compare-and-set UPDATE."""
        for name, value in data.items():
            if name in self.RELATED_CONTENT:
                self.set_related_content(name, value)
            elif name == "tags":
                self.tags.set(value, clear=True)
            elif name in self.CONTENT_FIELDS and self._meta.get_field(name).many_to_many:
                getattr(self, name).set(value)

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
    def normalise_related_content(cls, name, value, *, reader=None):
        """`value` of the related content `name` in its one stored form, or ValidationError
        (a dict keyed by the path inside the value, e.g. {"2.at": [...]}, or a message).
        `reader` is the writer's Access for references to other documents (None: the
        operator, who may refer to any)."""
        raise NotImplementedError(name)

    def get_related_content(self, name):
        raise NotImplementedError(name)

    def set_related_content(self, name, value):
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
