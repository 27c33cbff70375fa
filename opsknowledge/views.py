from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from .models import Component, Organisation, Release


@never_cache
def healthz(request):
    """200 when the instance can reach its database, 503 (with the same JSON shape) when not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@require_safe
@cache_control(max_age=86400)
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon of their own (the admin's);
    our pages name it in base.html."""
    return redirect(static("img/logo.svg"))


class SignInView(auth_views.LoginView):
    """Members sign in with username and password; `?next=` (a path on this site only) is
    where they return to."""

    template_name = "registration/login.html"


class SignOutView(auth_views.LogoutView):
    """Sign-out is a POST (the header's form, with its CSRF token); back to the home page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["organisations"] = Organisation.objects.all()
        context["components"] = Component.objects.filter(parent=None).prefetch_related("children")
        context["releases"] = Release.objects.in_upgrade_order()
        return context


class DocumentPageView(TemplateView):
    """The web page of one document of any kind; what the reader may not see is a 404."""

    model = None
    template_name = "documents/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        document = self.model.objects.select_related("organisation").get_visible_or_404(
            self.request, organisation__slug=kwargs["organisation"], slug=kwargs["slug"]
        )
        context["document"] = document
        context["kind"] = self.model._meta.verbose_name
        context["sections"] = [
            (document._meta.get_field(name).verbose_name, getattr(document, f"{name}_html"))
            for name in getattr(self.model, "SECTIONS", ())
            if getattr(document, name)
        ]
        return context
