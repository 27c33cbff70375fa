"""Release notes: what changes with a release, published by the project or by a provider."""

from django.db import models
from django.urls import reverse

from opsknowledge.models import Component, Organisation, Release, Status, Visibility
from opsknowledge.models.catalogue import slug_validator
from opsknowledge.visibility import VisibleQuerySet


class NoteKind(models.TextChoices):
    HIGHLIGHT = "highlight", "Highlight"
    FEATURE = "feature", "New feature"
    UPGRADE = "upgrade", "Upgrade note"
    DEPRECATION = "deprecation", "Deprecation"
    REMOVAL = "removal", "Removal"
    SECURITY = "security", "Security fix"
    FIX = "fix", "Resolved issue"
    KNOWN_ISSUE = "known-issue", "Known issue"


# What an upgrade briefing shows unless asked for other kinds.
BRIEFING_KINDS = (
    NoteKind.UPGRADE,
    NoteKind.DEPRECATION,
    NoteKind.REMOVAL,
    NoteKind.SECURITY,
    NoteKind.KNOWN_ISSUE,
)


class ReleaseNote(models.Model):
    """One note of one release. Visible like a document (`visibility`); archived notes drop
    out of notes lists, briefings and feeds. Written by `releases.services`, which keeps its
    `revision` and history like a document's."""

    VISIBILITY_PUBLIC = Visibility.PUBLIC
    VISIBILITY_COMMUNITY = Visibility.COMMUNITY
    READABLE_STATUSES = (Status.PUBLISHED,)
    BRIEFING_BY_RELEASES = False  # shown on its own release's step (opsknowledge.stamps)
    MARKDOWN_FIELDS = ("body",)  # rendered to body_html, as for documents
    STATUS_CHOICES = [(s.value, s.label) for s in (Status.PUBLISHED, Status.ARCHIVED)]
    # What a revision snapshots; equal values are the same content (no new revision).
    CONTENT_FIELDS = (
        "kind",
        "component",
        "title",
        "body",
        "order",
        "source_url",
        "visibility",
        "status",
    )

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="notes")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="release_notes"
    )
    # Stable identity for re-imports: unique per organisation and release.
    slug = models.SlugField(max_length=150, validators=[slug_validator])
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="release_notes"
    )
    kind = models.CharField(max_length=16, choices=NoteKind.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True, editable=False)
    order = models.PositiveIntegerField(default=0)
    source_url = models.URLField(max_length=500, blank=True)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=Status.PUBLISHED)
    revision = models.PositiveIntegerField(default=1, editable=False)
    updated = models.DateTimeField(auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        # The table of the core app, where release notes lived first: moving the model
        # moved no data.
        db_table = "opsknowledge_releasenote"
        ordering = ["release__released_on", "organisation__slug", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "release", "slug"], name="one_note_per_slug"
            )
        ]

    def __str__(self):
        return f"{self.release.slug}: {self.title}"

    def get_absolute_url(self):
        return reverse("api:release-notes", kwargs={"slug": self.release.slug})

    @property
    def anchor(self) -> str:
        """The note's fragment on its release page: unique within the release, because a note's
        slug is unique per organisation and release."""
        return f"{self.organisation.slug}-{self.slug}"

    def page_url(self) -> str:
        """Where a reader sees the note: its release page, scrolled to the note."""
        return reverse("release-page", kwargs={"slug": self.release.slug}) + "#" + self.anchor

    def content_data(self) -> dict:
        """The content a revision records (`opsknowledge.revisions.snapshot`)."""
        return {name: getattr(self, name) for name in self.CONTENT_FIELDS}

    def briefing_steps(self, release_ids) -> set[tuple[int, int, str]]:
        """As `Document.briefing_steps`: a note is shown on its release's step, by kind."""
        return {(0, self.release_id, self.kind)}
