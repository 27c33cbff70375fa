"""DRF permission classes and the base of every document endpoint. What a caller may read or
write is decided in `opsknowledge.visibility`; these only apply it to requests."""

from rest_framework import permissions

from ..services import Actor, check_write
from ..visibility import Access


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
        check_write(Actor(access=self.access), organisation)
