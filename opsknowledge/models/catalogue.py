"""The shared catalogue: who publishes (organisations and their members) and what documents
are about (components and releases)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from ..visibility import WRITE_ROLES

# \A and \Z, not ^ and $: "$" also matches before a trailing newline, and a slug with one
# is stored but can never be reversed into a URL.
slug_validator = RegexValidator(
    r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z",
    "Use lower-case letters, digits and single hyphens (e.g. 'ceph', 'kubernetes-cluster-api').",
    code="invalid_slug",
)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"

    @classmethod
    def can_write(cls, role: str | None) -> bool:
        return role in WRITE_ROLES


class Organisation(models.Model):
    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("api:organisation-detail", kwargs={"slug": self.slug})


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org")
        ]
        ordering = ["organisation__slug", "user__username"]

    def __str__(self):
        return f"{self.user} is {self.role} of {self.organisation.slug}"


class ComponentQuerySet(models.QuerySet):
    def with_descendants(self, components) -> set[int]:
        """Ids of the given components and all components below them.

        The catalogue is small (dozens of rows), so one query and a walk in Python beat a
        recursive CTE that SQLite and PostgreSQL would each spell differently.
        """
        wanted = {c.pk for c in components}
        children: dict[int | None, list[int]] = {}
        for pk, parent_id in self.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, stack = set(), list(wanted)
        while stack:
            pk = stack.pop()
            if pk in found:
                continue
            found.add(pk)
            stack.extend(children.get(pk, ()))
        return found

    def lookup(self, name: str):
        """The component whose slug or alias is `name` (case-insensitive), or None."""
        needle = name.strip().lower()
        for component in self.all():
            if component.slug == needle or needle in {a.lower() for a in component.aliases}:
                return component
        return None


class Component(models.Model):
    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    aliases = models.JSONField(default=list, blank=True)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.name

    def clean(self):
        if not isinstance(self.aliases, list) or not all(isinstance(a, str) for a in self.aliases):
            raise ValidationError({"aliases": "Give the aliases as a list of names."})
        self.aliases = sorted({alias.strip() for alias in self.aliases if alias.strip()})
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": "A component cannot be its own ancestor."})
            ancestor = ancestor.parent


class ReleaseQuerySet(models.QuerySet):
    def in_upgrade_order(self) -> list["Release"]:
        """All releases along the upgrade chain, oldest first.

        Chains start at releases without a predecessor; several chains (or a release whose
        predecessor is missing) are ordered by their first release date.
        """
        releases = list(self.all())
        by_previous = {r.previous_id: r for r in releases if r.previous_id is not None}
        known = {r.pk for r in releases}
        heads = [r for r in releases if r.previous_id is None or r.previous_id not in known]
        heads.sort(key=lambda r: (r.released_on is None, r.released_on, r.slug))
        ordered, seen = [], set()
        for head in heads:
            release = head
            while release is not None and release.pk not in seen:
                ordered.append(release)
                seen.add(release.pk)
                release = by_previous.get(release.pk)
        return ordered


class Release(models.Model):
    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=64, blank=True, help_text="Version tag, e.g. v4.0.0")
    released_on = models.DateField(null=True, blank=True)
    end_of_maintenance = models.DateField(null=True, blank=True)
    previous = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="next_release",
        help_text="The release one upgrades from to reach this one.",
        error_messages={
            "unique": "That release already has a successor; the upgrade chain cannot fork."
        },
    )

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["released_on", "slug"]

    def __str__(self):
        return self.name

    @property
    def next(self):
        try:
            return self.next_release
        except Release.DoesNotExist:
            return None

    def clean(self):
        ancestor = self.previous
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"previous": "The upgrade chain cannot loop."})
            ancestor = ancestor.previous
        ends, released = self.end_of_maintenance, self.released_on
        if released and ends and ends < released:
            raise ValidationError({"end_of_maintenance": "must not be before released_on."})
