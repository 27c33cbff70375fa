from django.contrib import admin
from django.urls import include, path

from . import views
from .api import errors

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("metrics", views.metrics, name="metrics"),
    path("search/", views.search_page, name="search"),
    path("favicon.ico", views.favicon),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("components/", views.ComponentIndexView.as_view(), name="component-list"),
    path("components/<slug:slug>/", views.ComponentPageView.as_view(), name="component-page"),
    path("organisations/", views.OrganisationIndexView.as_view(), name="organisation-list"),
    path(
        "organisations/<slug:slug>/",
        views.OrganisationPageView.as_view(),
        name="organisation-page",
    ),
    path(
        "organisations/<slug:slug>/audit/",
        views.organisation_audit,
        name="organisation-audit",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("opsknowledge.api_urls")),
    path("", include("opsknowledge.editing")),
    path("", include("runbooks.urls")),
    path("", include("incidents.urls")),
    path("", include("releases.urls")),
    path("feeds/", include("opsknowledge.feeds")),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = errors.handler500
