"""GET /api/v1/search/ (API.md "Search"): the search service over HTTP."""

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..paths import absolute_url
from ..search import service
from ..visibility import Access
from .permissions import ReadOnlyUnlessStaff
from .schema import ErrorSerializer


def hit_data(request, hit: service.Hit, *, snippet: bool = True) -> dict:
    """One hit as the API sends it (search results, related documents), with absolute URLs."""
    data = {
        "kind": hit.kind,
        "organisation": hit.organisation,
        "slug": hit.slug,
        "title": hit.title,
        "url": absolute_url(request, hit.url),
        "api_url": absolute_url(request, hit.api_url),
        "snippet": hit.snippet,
        "score": hit.score,
        "updated": hit.updated,
    }
    if not snippet:
        del data["snippet"]
    return data


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["runbook", "practice", "incident", "release-note"])
    organisation = serializers.CharField()
    slug = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="the web page")
    api_url = serializers.CharField()
    snippet = serializers.CharField(help_text="escaped text whose only markup is <mark>")
    score = serializers.FloatField(
        help_text="higher is better; comparable only within one response"
    )
    updated = serializers.DateTimeField()


class FacetsSerializer(serializers.Serializer):
    kind = serializers.DictField(child=serializers.IntegerField())
    organisation = serializers.DictField(child=serializers.IntegerField())
    component = serializers.DictField(child=serializers.IntegerField())
    release = serializers.DictField(child=serializers.IntegerField())
    tag = serializers.DictField(child=serializers.IntegerField())


class SearchResultsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="exact up to 10,000 matches (count_exact)")
    count_exact = serializers.BooleanField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = SearchHitSerializer(many=True)
    facets = FacetsSerializer(help_text="counts per value, each with the other filters applied")
    suggestion = serializers.CharField(allow_null=True, help_text="a corrected query")
    matched_all_terms = serializers.BooleanField(
        help_text="false: no readable document has every term; the results have some of them"
    )


def _page_link(request, page: int | None):
    if page is None:
        return None
    params = request.query_params.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())


class SearchView(APIView):
    permission_classes = [ReadOnlyUnlessStaff]

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description='words, "phrases", -exclusion, or; at most 20 words',
            ),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                description="comma-separated: runbook, practice, incident, release-note",
            ),
            OpenApiParameter("organisation", OpenApiTypes.STR),
            OpenApiParameter(
                "component", OpenApiTypes.STR, description="slug or alias; children included"
            ),
            OpenApiParameter("release", OpenApiTypes.STR),
            OpenApiParameter("tag", OpenApiTypes.STR),
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=["archived"], description="include archived"
            ),
            OpenApiParameter("ordering", OpenApiTypes.STR, enum=list(service.ORDERINGS)),
            OpenApiParameter("page", OpenApiTypes.INT, description="hits reachable up to 1,000"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="default 20, max 50"),
        ],
        responses={200: SearchResultsSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        """Ranked hits over every kind the caller may read, with facets and a suggestion."""
        params = request.query_params
        if "q" not in params:
            raise ValidationError({"q": ["This parameter is required."]})
        results = service.search(
            Access.of(request),
            **{name: params.get(name) for name in service.PARAMETERS},
            page=params.get("page"),
            page_size=params.get("page_size"),
        )
        data = {
            "count": results.count,
            "count_exact": results.count_exact,
            "next": _page_link(request, results.page + 1 if results.page < results.pages else None),
            "previous": _page_link(request, results.page - 1 if results.page > 1 else None),
            "results": [hit_data(request, hit) for hit in results.hits],
            "facets": results.facets,
            "suggestion": results.suggestion,
            "matched_all_terms": results.all_terms,
        }
        return Response(SearchResultsSerializer(data).data)
