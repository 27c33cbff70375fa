"""THE access-control module. Every read of a document starts from `visible_to()` and every
write from `editable_by()`; the viewset mixin below applies them, so an endpoint built on it
cannot forget them.

Rules (../API.md "Visibility"):
- `public` documents: anyone; `community`: any signed-in member of any organisation;
  `organisation`: members of the publishing organisation.
- Drafts (and failure reports in review) are readable only by members of the publishing
  organisation, whatever their visibility.
- Writing needs role editor or admin in the publishing organisation.
- A token acts for its one organisation only, with its user's current role there; a staff
  token acts for none (the catalogue only).
- What a caller may not read answers 404, exactly like what does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import Http404
from rest_framework import permissions

# Models import this module (for VisibleQuerySet), so model imports below stay inside
# functions.
WRITE_ROLES = frozenset({"editor", "admin"})


@dataclass(frozen=True)
class Access:
    """Who is asking, and with which role in which organisation.

    Built once per request (`Access.of(request)`); querysets and permission checks take it
    (or a plain user, for management commands and tests).
    """

    user: object = None
    roles: dict[int, str] = field(default_factory=dict)  # organisation id -> role
    via_token: bool = False

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user is not None and self.user.is_authenticated)

    @property
    def is_staff(self) -> bool:
        return self.is_authenticated and self.user.is_staff

    @property
    def is_community_member(self) -> bool:
        """Signed in and member of at least one organisation: may read `community` documents."""
        return self.is_authenticated and bool(self.roles)

    @property
    def organisation_ids(self) -> set[int]:
        return set(self.roles)

    @property
    def writable_organisation_ids(self) -> set[int]:
        return {org for org, role in self.roles.items() if role in WRITE_ROLES}

    def role_in(self, organisation) -> str | None:
        return self.roles.get(getattr(organisation, "pk", organisation))

    def can_write(self, organisation) -> bool:
        return self.role_in(organisation) in WRITE_ROLES

    @classmethod
    def for_user(cls, user, *, token=None) -> Access:
        from .models.catalogue import Membership

        if user is None or not user.is_authenticated:
            return cls(user=AnonymousUser())
        memberships = Membership.objects.filter(user=user)
        if token is not None:
            memberships = memberships.filter(organisation_id=token.organisation_id)
        roles = dict(memberships.values_list("organisation_id", "role"))
        return cls(user=user, roles=roles, via_token=token is not None)

    @classmethod
    def of(cls, who) -> Access:
        """An Access for a request (cached on it), a user, or an Access."""
        if isinstance(who, Access):
            return who
        if who is None or isinstance(who, AnonymousUser):
            return cls(user=AnonymousUser())
        if hasattr(who, "META"):  # a Django or DRF request
            cached = getattr(who, "_opsknowledge_access", None)
            if cached is None:
                auth = getattr(who, "auth", None)
                token = auth if getattr(auth, "key_digest", None) else None
                cached = cls.for_user(who.user, token=token)
                # DRF's Request proxies attribute reads to the Django request but keeps its
                # own attributes: set it on the underlying request so both see one value.
                target = getattr(who, "_request", who)
                target._opsknowledge_access = cached
            return cached
        return cls.for_user(who)


class VisibleQuerySet(models.QuerySet):
    """Queryset methods shared by every document kind (and release notes)."""

    def visible_to(self, who):
        access = Access.of(who)
        model = self.model
        open_to = [model.VISIBILITY_PUBLIC]
        if access.is_community_member:
            open_to.append(model.VISIBILITY_COMMUNITY)
        readable = models.Q(visibility__in=open_to, status__in=model.READABLE_STATUSES)
        if access.organisation_ids:
            readable |= models.Q(organisation_id__in=access.organisation_ids)
        return self.filter(readable)

    def editable_by(self, who):
        access = Access.of(who)
        return self.filter(organisation_id__in=access.writable_organisation_ids)

    def get_visible_or_404(self, who, **lookup):
        """The one object matching `lookup` that `who` may read; else 404 as if it did not
        exist."""
        try:
            return self.visible_to(who).get(**lookup)
        except self.model.DoesNotExist:
            raise Http404("No such document.") from None


def _method_not_served(request, view) -> bool:
    """True when the view has no handler for the method: let DRF answer 405 for it rather
    than a permission error that would hide the real mistake."""
    return not hasattr(view, request.method.lower())


class ReadOnlyUnlessStaff(permissions.BasePermission):
    """The catalogue: anyone reads, staff write."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or _method_not_served(request, view):
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class DocumentPermission(permissions.BasePermission):
    """Documents: anyone may try to read (visibility filters what they get); writing needs a
    signed-in caller, and the organisation check happens where the target organisation is
    known (`DocumentViewSetMixin.check_write`)."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or _method_not_served(request, view):
            return True
        return bool(request.user and request.user.is_authenticated)


class DocumentViewSetMixin:
    """Base for every document endpoint: reads start from `visible_to`, writes go through
    `check_write`, so no endpoint can forget either."""

    permission_classes = [DocumentPermission]

    @property
    def access(self) -> Access:
        return Access.of(self.request)

    def get_queryset(self):
        return super().get_queryset().visible_to(self.access)

    def check_write(self, organisation):
        """403 unless the caller may write into `organisation`, whether or not the
        document exists there (the same check the write services make)."""
        from .services import Actor, check_write

        check_write(Actor(access=self.access), organisation)
