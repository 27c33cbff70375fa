"""THE access-control module: who may read and who may write what. Every read of a document
starts from `visible_to()` and every write from `can_write()`; the API's base viewset, the
pages, feeds, search and the write services all call these, so none can forget them.

Rules (../API.md "Visibility"):
- `public` documents: anyone; `community`: any signed-in member of any organisation;
  `organisation`: members of the publishing organisation.
- Drafts (and failure reports in review) are readable only by members of the publishing
  organisation, whatever their visibility.
- Writing needs role editor or admin in the publishing organisation.
- A token acts for its one organisation only, with its user's current role there; a staff
  token acts for none (the catalogue only).
- A revision is readable by a non-member only when the revision's own snapshot was readable
  to them: a draft cleaned before publishing stays private.
- What a caller may not read answers 404, exactly like what does not exist.

It imports no project module (models use its queryset), so it sits at the bottom of the
layers and knows the document kinds only through the attributes they declare
(`VISIBILITY_PUBLIC`, `VISIBILITY_COMMUNITY`, `READABLE_STATUSES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import Http404

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

    def is_member_of(self, organisation) -> bool:
        return self.role_in(organisation) is not None

    def can_write(self, organisation) -> bool:
        return self.role_in(organisation) in WRITE_ROLES

    @classmethod
    def for_user(cls, user, *, token=None) -> Access:
        if user is None or not user.is_authenticated:
            return cls(user=AnonymousUser())
        if token is not None and hasattr(token, "role"):
            # Read with the token (APIToken.authenticate): its user's role in its organisation.
            roles = {token.organisation_id: token.role} if token.role else {}
            return cls(user=user, roles=roles, via_token=True)
        memberships = user.memberships.all()
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


def _open_visibilities(model, access: Access) -> list[str]:
    """The visibilities `access` may read beyond its own organisations."""
    open_to = [model.VISIBILITY_PUBLIC]
    if access.is_community_member:
        open_to.append(model.VISIBILITY_COMMUNITY)
    return open_to


class VisibleQuerySet(models.QuerySet):
    """Queryset methods shared by every document kind (and release notes)."""

    def visible_to(self, who):
        access = Access.of(who)
        model = self.model
        readable = models.Q(visibility__in=_open_visibilities(model, access))
        if model.READABLE_STATUSES is not None:  # None: records without a draft state
            readable &= models.Q(status__in=model.READABLE_STATUSES)
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


def readable_revisions(revisions, document, who):
    """The revisions of `document` (a queryset of them) that `who` may read.

    Members of the publishing organisation read every revision. Anyone else reads a revision
    only when its own snapshot's status and visibility made it readable to them: a report
    drafted with a password and cleaned before publishing keeps the password private.
    """
    access = Access.of(who)
    if access.is_member_of(document.organisation_id):
        return revisions
    model = type(document)
    return revisions.filter(
        snapshot__status__in=list(model.READABLE_STATUSES),
        snapshot__visibility__in=_open_visibilities(model, access),
    )


def shows_authors(document, who) -> bool:
    """Authors of revisions (user names, "via token") are shown to members only."""
    return Access.of(who).is_member_of(document.organisation_id)
