"""Atom feeds of public, published documents: /feeds/runbooks.atom, /feeds/incidents.atom,
filterable by ?component= (children included), ?release= and ?organisation=."""

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import path
from django.utils.feedgenerator import Atom1Feed

from .models import Component, Organisation, Release, Status

FEED_SIZE = 50


class DocumentFeed(Feed):
    feed_type = Atom1Feed
    model_label = ""
    title_text = ""

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
        model = apps.get_model(self.model_label)
        # Feeds are fetched anonymously and cached by readers: only what anyone may read.
        documents = model.objects.visible_to(AnonymousUser()).filter(status=Status.PUBLISHED)
        if "component" in params:
            component = Component.objects.filter(slug=params["component"]).first()
            if component is None:
                raise Http404(f"No component '{params['component']}'.")
            documents = documents.filter(
                components__in=Component.objects.with_descendants([component])
            )
        if "release" in params:
            release = Release.objects.filter(slug=params["release"]).first()
            if release is None:
                raise Http404(f"No release '{params['release']}'.")
            documents = documents.filter(releases=release)
        if "organisation" in params:
            if not Organisation.objects.filter(slug=params["organisation"]).exists():
                raise Http404(f"No organisation '{params['organisation']}'.")
            documents = documents.filter(organisation__slug=params["organisation"])
        return documents.select_related("organisation").distinct().order_by("-updated")[:FEED_SIZE]

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


class RunbookFeed(DocumentFeed):
    model_label = "runbooks.Runbook"
    title_text = "Runbooks"


class IncidentFeed(DocumentFeed):
    model_label = "incidents.FailureReport"
    title_text = "Failure reports"


urlpatterns = [
    path("runbooks.atom", RunbookFeed(), name="feed-runbooks"),
    path("incidents.atom", IncidentFeed(), name="feed-incidents"),
]
