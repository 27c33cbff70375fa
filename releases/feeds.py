"""/feeds/releases.atom: public, published release notes, filterable like the document
feeds (?component=, ?release=, ?organisation=)."""

from django.contrib.auth.models import AnonymousUser

from opsknowledge.feeds import FEED_SIZE, DocumentFeed
from opsknowledge.models import Status

from .models import ReleaseNote


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
