"""Web pages of releases: the release page (what a reader who follows a release note link
lands on) and the upgrade briefing."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.generic import TemplateView

from opsknowledge import kinds
from opsknowledge.hotcache import hot_cached
from opsknowledge.models import Component, Release, Status
from opsknowledge.pages import with_badges
from opsknowledge.visibility import Access

from .briefing import BriefingError, build_briefing
from .models import NoteKind, ReleaseNote


def visible_notes(who):
    """The published release notes `who` may read, as the API lists them."""
    return (
        ReleaseNote.objects.visible_to(who)
        .filter(status=Status.PUBLISHED)
        .select_related("organisation", "component", "release")
    )


def grouped_notes(notes) -> list[dict]:
    """Notes grouped by kind (in NoteKind's order), then by component (unnamed last)."""
    groups = []
    for kind, label in NoteKind.choices:
        of_kind = [note for note in notes if note.kind == kind]
        if not of_kind:
            continue
        components: dict = {}
        for note in of_kind:
            components.setdefault(note.component, []).append(note)
        groups.append(
            {
                "kind": kind,
                "label": label,
                "count": len(of_kind),
                "components": sorted(
                    components.items(), key=lambda item: (item[0] is None, str(item[0] or ""))
                ),
            }
        )
    return groups


class ReleaseIndexView(TemplateView):
    template_name = "releases/release_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["releases"] = list(reversed(Release.objects.in_upgrade_order()))
        return context


class ReleasePageView(TemplateView):
    """One release with the notes the reader may see, each at its `ReleaseNote.anchor`, and
    the documents that apply to it."""

    template_name = "releases/release_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        release = get_object_or_404(Release.objects.select_related("previous"), slug=kwargs["slug"])
        access = Access.of(self.request)
        notes = list(visible_notes(access).filter(release=release).order_by("kind", "order", "pk"))
        documents = []
        for kind in kinds.all_kinds():
            rows = list(
                # Every readable document (drafts too, for members): the API's ?release=.
                with_badges(kind.model.objects.visible_to(access))
                .filter(releases=release)
                .order_by("-updated", "slug")[:50]
            )
            if rows:
                documents.append(
                    {
                        "title": kind.model._meta.verbose_name_plural.capitalize(),
                        "documents": rows,
                        "list_url": reverse(f"{kind.name}-list")
                        + "?"
                        + urlencode({"release": release.slug}),
                    }
                )
        context.update(
            release=release,
            next_release=Release.objects.filter(previous=release).first(),
            notes=notes,
            groups=grouped_notes(notes),
            documents=documents,
        )
        return context


class UpgradeBriefingView(TemplateView):
    """Pick from/to (and a component) with a GET form; see each hop of the briefing the API
    answers at upgrade-path, built by the same `build_briefing`."""

    template_name = "releases/briefing.html"

    @method_decorator(hot_cached)
    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=context.pop("status"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        chain = Release.objects.in_upgrade_order()
        chosen = {
            "from": params.get("from", ""),
            "to": params.get("to", ""),
            "component": params.get("component", ""),
        }
        briefing, error, status = None, None, 200
        if chosen["from"] or chosen["to"]:
            try:
                briefing = build_briefing(
                    start=chosen["from"],
                    end=chosen["to"],
                    component=chosen["component"] or None,
                    access=Access.of(self.request),
                )
            except BriefingError as exc:
                error, status = exc, exc.status
        query = urlencode({k: v for k, v in chosen.items() if v})
        api = reverse("api:upgrade-path")
        steps = []
        if briefing:
            for step in briefing.steps:
                steps.append({"step": step, "groups": grouped_notes(step.notes)})
        context.update(
            releases=chain,
            components=Component.objects.all(),
            chosen=chosen,
            briefing=briefing,
            steps=steps,
            error=error,
            status=status,
            markdown_url=f"{api}?{query}&format=md" if briefing else "",
            json_url=f"{api}?{query}" if briefing else "",
        )
        return context
