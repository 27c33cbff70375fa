from django.contrib import admin

from .models import APIToken, Component, Membership, Organisation, Release, Revision


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "website"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "organisation__slug"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "parent"]
    list_filter = ["parent"]
    search_fields = ["slug", "name"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
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


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["content_type", "object_id", "number", "author", "via", "created"]
    list_filter = ["content_type", "via"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
