from django.contrib import admin
from django.urls import include, path

from . import administration, views
from .api import errors

ADMIN = "organisations/<slug:organisation>/admin/"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("metrics", views.metrics, name="metrics"),
    path("search/", views.search_page, name="search"),
    path("favicon.ico", views.favicon),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password-change"),
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
    path(f"{ADMIN}", administration.members_page, name="organisation-admin-members"),
    path(f"{ADMIN}members/add/", administration.member_add, name="organisation-admin-member-add"),
    path(
        f"{ADMIN}members/create/",
        administration.member_create,
        name="organisation-admin-member-create",
    ),
    path(
        f"{ADMIN}members/<int:user_id>/role/",
        administration.member_role,
        name="organisation-admin-member-role",
    ),
    path(
        f"{ADMIN}members/<int:user_id>/remove/",
        administration.member_remove,
        name="organisation-admin-member-remove",
    ),
    path(f"{ADMIN}tokens/", administration.tokens_page, name="organisation-admin-tokens"),
    path(
        f"{ADMIN}tokens/create/",
        administration.token_create,
        name="organisation-admin-token-create",
    ),
    path(
        f"{ADMIN}tokens/<int:token_id>/revoke/",
        administration.token_revoke,
        name="organisation-admin-token-revoke",
    ),
    path(f"{ADMIN}import/", administration.upload_page, name="organisation-admin-import"),
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
