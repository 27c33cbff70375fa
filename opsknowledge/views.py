from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.cache import caches
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.db.models import F
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from releases.views import visible_notes

from . import kinds, throttling
from .addresses import address_in, client_address
from .metrics import exposition
from .middleware import PASSWORD_CHANGE_REQUIRED, too_many_requests
from .models import (
    AuditEvent,
    Component,
    Organisation,
    PasswordChangeRequired,
    Release,
    Role,
    Status,
)
from .pages import with_badges
from .search import service as search_service
from .visibility import Access


@never_cache
def healthz(request):
    """Readiness: 200 when the instance can reach its database (and its cache, when CACHE_URL
    names one), 503 naming what is down. One `SELECT 1`; no throttling counts it."""
    checks = {"database": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        checks["database"] = "unavailable"
    if settings.CACHE_URL:
        try:
            caches["default"].get("healthz")
            checks["cache"] = "ok"
        except Exception:  # noqa: BLE001 - whatever the client raises, the cache is down
            checks["cache"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )


@never_cache
def livez(request):
    """Liveness: the process answers. No I/O, so a slow database never gets a healthy worker
    restarted; readiness (/healthz) is what takes an instance out of the load balancer."""
    return JsonResponse({"status": "ok"})


@never_cache
def metrics(request):
    """Prometheus metrics, for the addresses in METRICS_ALLOWED_IPS only (a 404 for others:
    the endpoint is not advertised)."""
    if not address_in(client_address(request), settings.METRICS_ALLOWED_IPS):
        raise Http404
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


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

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        verdict = throttling.login_verdict(request, username)
        if not verdict.allowed:
            return too_many_requests(request, verdict.retry_after)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttling.record_login_success(username)
        else:
            throttling.record_login_failure(username)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """A member changes their password: this session stays signed in (Django's
    update_session_auth_hash), every other session of theirs ends at its next request (its
    stored password hash no longer matches). A one-time password must be changed here
    before anything else (PasswordChangeRequiredMiddleware)."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        PasswordChangeRequired.objects.filter(user=self.request.user).delete()
        self.request.session.pop(PASSWORD_CHANGE_REQUIRED, None)
        messages.success(self.request, "Your password is changed; your other sessions are ended.")
        return response


class SignOutView(auth_views.LogoutView):
    """Sign-out is a POST (the header's form, with its CSRF token); back to the home page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


LATEST = 6  # documents of each kind on the home page
SECTION_LIMIT = 50  # documents of each kind on a component or organisation page


def readable_documents(kind, who):
    """The published documents of `kind` that `who` may read, with their badges."""
    return with_badges(kind.model.objects.visible_to(who)).filter(status=Status.PUBLISHED)


def kind_sections(who, **filters) -> list[dict]:
    """For each document kind: up to SECTION_LIMIT readable documents matching `filters`,
    their count and the list page that holds them all. Two queries per kind (count, rows)
    plus the badge prefetches."""
    sections = []
    for kind in kinds.all_kinds():
        # Everything readable, drafts too for members: what the API's list answers.
        documents = with_badges(kind.model.objects.visible_to(who)).filter(**filters).distinct()
        count = documents.count()
        sections.append(
            {
                "kind": kind.name,
                "title": kind.model._meta.verbose_name_plural.capitalize(),
                "count": count,
                "documents": list(documents.order_by("-updated", "slug")[:SECTION_LIMIT])
                if count
                else [],
                "list_url": reverse(f"{kind.name}-list"),
            }
        )
    return sections


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        latest = {}
        for kind in kinds.all_kinds():
            ordering = ("-updated",)
            if kind.name == "incident":  # newest incident first, those without a time last
                ordering = (F("started_at").desc(nulls_last=True), "-updated")
            latest[kind.name] = list(
                readable_documents(kind, self.request).order_by(*ordering)[:LATEST]
            )
        chain = Release.objects.in_upgrade_order()
        context.update(
            latest=latest,
            organisations=Organisation.objects.all(),
            components=Component.objects.filter(parent=None).prefetch_related("children"),
            # The newest releases first (what operators run today), each with the one it
            # upgrades from, taken from the chain rather than a query per release.
            current_releases=[
                {"release": release, "previous": chain[n - 1] if n else None}
                for n, release in reversed(list(enumerate(chain)))
            ][:3],
            releases=chain,
        )
        return context


class ComponentIndexView(TemplateView):
    template_name = "catalogue/component_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["components"] = Component.objects.filter(parent=None).prefetch_related("children")
        return context


class ComponentPageView(TemplateView):
    """Everything about one component across organisations, its parts included."""

    template_name = "catalogue/component_detail.html"

    def get(self, request, *args, **kwargs):
        component = Component.objects.select_related("parent").filter(slug=kwargs["slug"]).first()
        if component is None:
            # An alias ("k8s", "rbd") finds its component's one address.
            found = Component.objects.lookup(kwargs["slug"])
            if found is None:
                raise Http404("No such component.")
            return redirect("component-page", slug=found.slug)
        return self.render_to_response(self.get_context_data(component=component))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        component = kwargs["component"]
        ids = Component.objects.with_descendants([component])
        context.update(
            component=component,
            children=list(component.children.all()),
            sections=kind_sections(self.request, components__in=ids),
            notes=list(
                visible_notes(self.request)
                .filter(component__in=ids)
                .order_by("-release__released_on", "kind", "order", "pk")[:SECTION_LIMIT]
            ),
        )
        return context


class OrganisationIndexView(TemplateView):
    template_name = "catalogue/organisation_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["organisations"] = Organisation.objects.all()
        return context


class OrganisationPageView(TemplateView):
    """What one organisation publishes that the reader may read, with counts by kind."""

    template_name = "catalogue/organisation_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organisation = get_object_or_404(Organisation, slug=kwargs["slug"])
        access = Access.of(self.request)
        context.update(
            organisation=organisation,
            sections=kind_sections(access, organisation=organisation),
            role=access.role_in(organisation),
            note_count=visible_notes(access).filter(organisation=organisation).count(),
        )
        return context


AUDIT_PAGE_SIZE = 100


def organisation_audit(request, slug):
    """The organisation's audit log, for its admins. Anyone else signed in gets 403 (the
    organisation is public, its log is not); an anonymous visitor is asked to sign in."""
    organisation = get_object_or_404(Organisation, slug=slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if Access.of(request).role_in(organisation) != Role.ADMIN:
        raise PermissionDenied(f"Only admins of {organisation.name} read its audit log.")
    events = AuditEvent.objects.filter(organisation=organisation)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "catalogue/organisation_audit.html", {"organisation": organisation, "page": page}
    )


def _link(params, **changes) -> str:
    """`?…` for the search page with `changes` applied (None removes), back on page 1."""
    params = params.copy()
    params.pop("page", None)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return "?" + params.urlencode()


FACET_TITLES = {
    "kind": "Kind",
    "organisation": "Organisation",
    "component": "Component",
    "release": "Release",
    "tag": "Tag",
}


@require_safe
def search_page(request):
    """The search page: the box, ranked hits with highlighted snippets and kind badges,
    facets as links with counts, the suggestion as a link, pagination. Everything comes
    from the search service, with the caller's visibility."""
    params = request.GET
    q = params.get("q", "").strip()
    context = {"q": q, "results": None, "error": None}
    if q:
        try:
            results = search_service.search(
                Access.of(request),
                **{name: params.get(name) for name in search_service.PARAMETERS},
                page=params.get("page"),
            )
        except ValidationError as error:
            context["error"] = " ".join(
                message for messages in error.message_dict.values() for message in messages
            )
        else:
            labels = search_service.kinds()
            context["results"] = results
            context["facets"] = [
                {
                    "name": dimension,
                    "title": FACET_TITLES[dimension],
                    "active": params.get(dimension),
                    "clear": _link(params, **{dimension: None}),
                    "values": [
                        {
                            "value": value,
                            "label": labels.get(value, value) if dimension == "kind" else value,
                            "count": count,
                            "url": _link(params, **{dimension: value}),
                            "active": params.get(dimension) == value,
                        }
                        for value, count in counts.items()
                    ],
                }
                for dimension, counts in results.facets.items()
                if counts or params.get(dimension)
            ]
            if results.suggestion:
                context["suggestion_url"] = _link(params, q=results.suggestion)
            page_params = params.copy()
            if results.page > 1:
                page_params["page"] = str(results.page - 1)
                context["previous_url"] = "?" + page_params.urlencode()
            if results.page < results.pages:
                page_params["page"] = str(results.page + 1)
                context["next_url"] = "?" + page_params.urlencode()
    return render(request, "search/search.html", context)
