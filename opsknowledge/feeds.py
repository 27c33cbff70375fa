"""Atom feeds of public, published documents: /feeds/<kind>s.atom for every kind registered
with a feed (runbooks, incidents), filterable by ?component= (children included),
?release= and ?organisation=. `DocumentFeed` is the base of other apps' feeds too
(releases.feeds)."""

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed

from . import kinds
from .hotcache import hot_cached
from .models import Component, Organisation, Release, Status
from .models.documents import having_any

FEED_SIZE = 50


class DocumentFeed(Feed):
    feed_type = Atom1Feed

    def __init__(self, model=None, title_text: str = ""):
        self.model, self.title_text = model, title_text

    @method_decorator(hot_cached)
    def __call__(self, request, *args, **kwargs):
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request):
        return request.GET

    def title(self, params):
        narrowed = ", ".join(f"{key} {value}" for key, value in sorted(params.items()))
        return f"opsknowledge: {self.title_text}" + (f" ({narrowed})" if narrowed else "")

    def link(self, params):
        return "/"

    def subtitle(self, params):
        return f"Public, published {self.title_text.lower()} shared on opsknowledge."

    def items(self, params):
        model = self.model
        # Feeds are fetched anonymously and cached by readers: only what anyone may read.
        documents = model.objects.visible_to(AnonymousUser()).filter(status=Status.PUBLISHED)
        documents = self.narrow(documents, params, many=True)
        # The narrowing filters are EXISTS (no join repeating rows): no DISTINCT, which would
        # sort on every column, bodies included.
        return documents.select_related("organisation").order_by("-updated")[:FEED_SIZE]

    def narrow(self, rows, params, *, many: bool):
        """Apply ?component= (children included), ?release= and ?organisation=; an unknown
        slug is a 404 naming it. `many`: documents have several components and releases;
        False for rows with one of each (release notes)."""
        if "component" in params:
            component = Component.objects.filter(slug=params["component"]).first()
            if component is None:
                raise Http404(f"No component '{params['component']}'.")
            ids = Component.objects.with_descendants([component])
            rows = having_any(rows, "components", ids) if many else rows.filter(component__in=ids)
        if "release" in params:
            release = Release.objects.filter(slug=params["release"]).first()
            if release is None:
                raise Http404(f"No release '{params['release']}'.")
            if many:
                rows = having_any(rows, "releases", [release.pk])
            else:
                rows = rows.filter(release=release)
        if "organisation" in params:
            if not Organisation.objects.filter(slug=params["organisation"]).exists():
                raise Http404(f"No organisation '{params['organisation']}'.")
            rows = rows.filter(organisation__slug=params["organisation"])
        return rows

    def item_title(self, document):
        return document.title

    def item_description(self, document):
        return document.summary

    def item_link(self, document):
        return document.get_absolute_url()

    def item_guid(self, document):
        return f"{document.kind}:{document.reference()}"

    def item_pubdate(self, document):
        return document.created

    def item_updateddate(self, document):
        return document.updated

    def item_author_name(self, document):
        return document.organisation.name


urlpatterns = [
    *(
        path(
            f"{kind.name}s.atom",
            DocumentFeed(kind.model, kind.feed_title),
            name=f"feed-{kind.name}s",
        )
        for kind in kinds.all_kinds()
        if kind.feed_title
    ),
]
