"""Everything under /api/: v1 endpoints of every app, the schema and its docs page."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .api.errors import not_found
from .api.views import MeView

app_name = "api"

urlpatterns = [
    path("v1/", include("opsknowledge.api.urls")),
    path("v1/", include("runbooks.api.urls")),
    path("v1/", include("incidents.api.urls")),
    path("v1/", include("releases.api.urls")),
    path("v1/me/", MeView.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads its init script from ?script= (same origin) instead of inlining
    # it; Swagger UI still sets inline styles and data: images, which this route alone allows.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    # Anything else under /api/ is a JSON 404, never Django's HTML page.
    # CSRF-exempt: a POST to a wrong URL must get this JSON 404, not a CSRF failure page.
    re_path(r"^.*$", csrf_exempt(lambda request: not_found(request, None)), name="not-found"),
]
