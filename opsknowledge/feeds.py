"""Atom feeds of public, published documents and release notes: /feeds/<kind>s.atom for
every kind registered with a feed (runbooks, incidents) and /feeds/releases.atom,
filterable by ?component= (children included), ?release= and ?organisation=."""

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import path
from django.utils.feedgenerator import Atom1Feed

from . import kinds
from .models import Component, Organisation, Release, ReleaseNote, Status

FEED_SIZE = 50


class DocumentFeed(Feed):
    feed_type = Atom1Feed

    def __init__(self, model=None, title_text: str = ""):
        self.model, self.title_text = model, title_text

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
        return documents.select_related("organisation").distinct().order_by("-updated")[:FEED_SIZE]

    def narrow(self, rows, params, *, many: bool):
        """Apply ?component= (children included), ?release= and ?organisation=; an unknown
        slug is a 404 naming it. `many`: documents have several components and releases,
        release notes one of each."""
        if "component" in params:
            component = Component.objects.filter(slug=params["component"]).first()
            if component is None:
                raise Http404(f"No component '{params['component']}'.")
            ids = Component.objects.with_descendants([component])
            rows = rows.filter(**{"components__in" if many else "component__in": ids})
        if "release" in params:
            release = Release.objects.filter(slug=params["release"]).first()
            if release is None:
                raise Http404(f"No release '{params['release']}'.")
            rows = rows.filter(**{"releases" if many else "release": release})
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


class ReleaseNoteFeed(DocumentFeed):
    def __init__(self):
        super().__init__(ReleaseNote, "Release notes")

    def items(self, params):
        notes = ReleaseNote.objects.visible_to(AnonymousUser()).filter(status=Status.PUBLISHED)
        return (
            self.narrow(notes, params, many=False)
            .select_related("organisation", "release", "component")
            .order_by("-release__released_on", "kind", "order")[:FEED_SIZE]
        )

    def item_author_name(self, note):
        return note.organisation.name

    def item_title(self, note):
        return f"{note.release.name}: {note.get_kind_display()}: {note.title}"

    def item_description(self, note):
        return note.body_html

    def item_link(self, note):
        return note.get_absolute_url()

    def item_guid(self, note):
        return f"release-note:{note.organisation.slug}/{note.release.slug}/{note.slug}"

    def item_pubdate(self, note):
        return note.updated

    def item_updateddate(self, note):
        return note.updated


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
    path("releases.atom", ReleaseNoteFeed(), name="feed-releases"),
]
