"""The project's URLs plus two views that fail on purpose, for the error-page tests."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from opsknowledge.urls import handler400, handler403, handler404, handler500, urlpatterns


def forbidden(request):
    raise PermissionDenied("members only")


def broken(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-errors/forbidden/", forbidden),
    path("test-errors/broken/", broken),
    *urlpatterns,
]
__all__ = ["urlpatterns", "handler400", "handler403", "handler404", "handler500"]
