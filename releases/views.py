"""Web pages of releases: what a reader who follows a release note link lands on."""

from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from opsknowledge.models import Release

from .models import ReleaseNote


class ReleasePageView(TemplateView):
    """One release with the notes the reader may see, each at its `ReleaseNote.anchor`."""

    template_name = "releases/release_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        release = get_object_or_404(Release, slug=kwargs["slug"])
        context["release"] = release
        context["notes"] = (
            ReleaseNote.objects.visible_to(self.request)
            .filter(release=release)
            .select_related("organisation", "component", "release")
        )
        return context
