"""Web pages of the runbooks app that are more than a document page: the search page."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from opsknowledge.filtersets import MAX_QUERY_WORDS

from .filtersets import PracticeFilterSet, RunbookFilterSet
from .models import Practice, Runbook

SEARCH_LIMIT = 50  # results per kind on the search page


def matching_documents(request, filterset_class, model, words: str) -> list:
    """Up to SEARCH_LIMIT + 1 readable documents containing every word (the extra one tells
    the page there are more)."""
    queryset = model.objects.visible_to(request).select_related("organisation")
    found = filterset_class(data={"q": words}, queryset=queryset).qs
    return list(found.order_by("-updated", "organisation__slug", "slug")[: SEARCH_LIMIT + 1])


def result_section(title: str, documents: list) -> dict:
    return {
        "title": title,
        "documents": documents[:SEARCH_LIMIT],
        "more": len(documents) > SEARCH_LIMIT,
    }


@require_safe
def search(request):
    """Runbooks and practices the caller may read whose title, summary or body contain all
    the words of `?q=` (the API's `q` filter); without words, the form only."""
    words = request.GET.get("q", "").strip()
    sections, error = [], ""
    if len(words.split()) > MAX_QUERY_WORDS:
        error = f"Use at most {MAX_QUERY_WORDS} words."
    elif words:
        sections = [
            result_section(
                "Runbooks", matching_documents(request, RunbookFilterSet, Runbook, words)
            ),
            result_section(
                "Practices", matching_documents(request, PracticeFilterSet, Practice, words)
            ),
        ]
    return render(
        request,
        "runbooks/search.html",
        {"q": words, "sections": sections, "limit": SEARCH_LIMIT, "error": error},
    )
