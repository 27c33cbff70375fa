"""The admin is for the catalogue, organisations, members and tokens. Document content
stays out of it: staff are not members of every organisation, and revisions (every
snapshot of every organisation's documents) and taggit's tags (one table for all
organisations, hidden documents' tags included) would show them what publishing hid."""

from django.contrib import admin
from taggit.models import Tag

from . import services
from .models import APIToken, Component, Membership, Organisation, Release
from .referrers import referrers

admin.site.unregister(Tag)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "website"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        # Through the service, as the command: audited, and briefings' ETags move on a rename.
        services.organisation_save(organisation=obj, actor=services.Actor.of_request(request))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "organisation__slug"]
    autocomplete_fields = ["user", "organisation"]


class CatalogueAdmin(admin.ModelAdmin):
    """Components and releases are written through the catalogue services, as the API writes
    them: renamed, the documents that mention them are re-indexed, and the audit log says who
    did it. Deleting a referenced entry would strip it from documents without a revision
    (see the API's catalogue viewsets): only unreferenced ones may go, one by one."""

    def save_model(self, request, obj, form, change):
        services.catalogue_save(entry=obj, actor=services.Actor.of_request(request))

    def delete_model(self, request, obj):
        services.catalogue_delete(entry=obj, actor=services.Actor.of_request(request))

    def has_delete_permission(self, request, obj=None):
        if obj is not None and referrers(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would not ask has_delete_permission per row
        return actions


@admin.register(Component)
class ComponentAdmin(CatalogueAdmin):
    list_display = ["slug", "name", "parent"]
    list_filter = ["parent"]
    search_fields = ["slug", "name"]


@admin.register(Release)
class ReleaseAdmin(CatalogueAdmin):
    list_display = ["slug", "name", "version", "released_on", "end_of_maintenance", "previous"]
    search_fields = ["slug", "name", "version"]


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ["key_start", "user", "organisation", "created", "expires_at", "revoked_at"]
    list_filter = ["organisation"]
    readonly_fields = ["key_start", "created", "last_used_at"]
    fields = ["user", "organisation", "description", "expires_at", "revoked_at"] + readonly_fields

    def has_add_permission(self, request):
        # Keys are shown once, by the create_token command; the admin could not show them.
        return False
