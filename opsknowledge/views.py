from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from .models import Component, Organisation, Release
from .search import service as search_service
from .visibility import Access

search_service.PARAMETERS = (
    "q",
    "kind",
    "organisation",
    "component",
    "release",
    "tag",
    "status",
    "ordering",
)


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
