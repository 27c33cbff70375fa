"""What the web pages of every document kind share: list pages filtered by the API's own
FilterSets, the document page, its revision diff, its Markdown download and the URL
patterns that tie them together. Visibility comes from `visible_to()` and history from
`opsknowledge.history`, so a page shows exactly what the API answers."""

from __future__ import annotations

import yaml
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.urls import path
from django.views.generic import TemplateView
from rest_framework.exceptions import ValidationError
from taggit.models import TaggedItem

from . import history, markdown
from .models import Component, Organisation, Release
from .revisions import REVISION_NUMBER, snapshot
from .visibility import Access, shows_authors

PAGE_SIZE = 20  # documents per list page: a screenful with their badges

# What every row of a list (or a document page) shows: organisation, component, release
# and tag badges. Without these a page of N documents costs 4N queries.
BADGE_PREFETCH = (
    "components",
    "releases",
    Prefetch("tagged_items", queryset=TaggedItem.objects.select_related("tag")),
)


def with_badges(queryset):
    return queryset.select_related("organisation").prefetch_related(*BADGE_PREFETCH)


def filter_errors(error: ValidationError) -> list[str]:
    """The messages of a FilterSet's ValidationError, each naming its parameter."""
    detail = error.detail
    if isinstance(detail, dict):
        return [f"{name}: {message}" for name, messages in detail.items() for message in messages]
    return [str(message) for message in detail]


class DocumentListView(TemplateView):
    """A list of one kind with the API's filters (its FilterSet) as links and selects."""

    model = None
    filterset_class = None
    template_name = "documents/list.html"
    ordering = ("-updated", "organisation__slug", "slug")

    def queryset(self):
        return with_badges(self.model.objects.visible_to(self.request))

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        status = 400 if context["errors"] else 200
        return self.render_to_response(context, status=status)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("page", None)
        filterset = self.filterset_class(params, queryset=self.queryset(), request=self.request)
        errors, documents = [], self.model.objects.none()
        try:
            if not filterset.is_valid():
                errors = [f"{n}: {m}" for n, ms in filterset.errors.items() for m in ms]
            else:
                documents = filterset.qs.order_by(*self.ordering)
                # Filters run when the queryset is built: evaluate now, inside the `try`.
                page = Paginator(documents, PAGE_SIZE).get_page(self.request.GET.get("page"))
        except ValidationError as error:
            errors = filter_errors(error)
        if errors:
            page = Paginator(self.model.objects.none(), PAGE_SIZE).get_page(1)
        context.update(
            kind=self.model.kind,
            kind_name=self.model._meta.verbose_name,
            kind_plural=self.model._meta.verbose_name_plural,
            page=page,
            documents=page.object_list,
            errors=errors,
            filters={name: params.get(name, "") for name in filterset.filters},
            active={name: value for name, value in params.items() if value},
            organisations=Organisation.objects.all(),
            components=Component.objects.all(),
            releases=Release.objects.in_upgrade_order(),
            statuses=self.model.STATUS_CHOICES,
            severities=self.severities(),
        )
        return context

    def severities(self):
        try:
            return self.model._meta.get_field("severity").choices
        except FieldDoesNotExist:
            return None


def table_of_contents(document) -> list:
    """The headings of the body below its title, for the page's table of contents (the
    stored HTML carries the same anchors: both come from one parse of the body)."""
    headings = [
        heading
        for heading in markdown.parse(document.body).headings
        if heading.anchor and not heading.nested and heading.level <= 3
    ]
    if headings and headings[0].level == 1:
        headings = headings[1:]  # the title, shown as the page's own H1
    return headings


class DocumentPageView(TemplateView):
    """The web page of one document of any kind; what the reader may not see is a 404."""

    model = None
    template_name = "documents/detail.html"
    select_related = ("organisation",)
    prefetch_related = BADGE_PREFETCH

    def get_template_names(self):
        return [f"{self.model._meta.app_label}/{self.model.kind}_detail.html", self.template_name]

    def get_document(self, kwargs):
        return (
            self.model.objects.select_related(*self.select_related)
            .prefetch_related(*self.prefetch_related)
            .get_visible_or_404(
                self.request, organisation__slug=kwargs["organisation"], slug=kwargs["slug"]
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        document = self.get_document(kwargs)
        access = Access.of(self.request)
        context.update(
            document=document,
            kind=self.model.kind,
            kind_name=self.model._meta.verbose_name,
            kind_plural=self.model._meta.verbose_name_plural,
            is_member=access.is_member_of(document.organisation_id),
            revisions=list(history.revision_queryset(document, access).order_by("-number")),
            show_authors=shows_authors(document, access),
            toc=table_of_contents(document),
            sections=[
                (document._meta.get_field(name).verbose_name, getattr(document, f"{name}_html"))
                for name in getattr(self.model, "SECTIONS", ())
                if getattr(document, name)
            ],
        )
        context.update(self.extra_context_for(document, access))
        return context

    def extra_context_for(self, document, access) -> dict:
        """Kinds add what only they show."""
        return {}


def diff_lines(unified: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, text) rows to render: kind is "add", "del", "hunk" or
    "same"; the file header lines are left out (the page names the field)."""
    rows = []
    for line in unified.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            rows.append(("hunk", line))
        elif line.startswith("+"):
            rows.append(("add", line[1:]))
        elif line.startswith("-"):
            rows.append(("del", line[1:]))
        else:
            rows.append(("same", line[1:]))
    return rows


def readable_changes(changes: dict) -> list[dict]:
    return [
        {"field": name.replace("_", " "), "rows": diff_lines(text)}
        for name, text in changes.items()
    ]


def _revision_param(request, name: str, default: int, document) -> int:
    raw = request.GET.get(name) or None
    if raw is None:
        return default
    if not REVISION_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= document.revision:
        raise ValueError(
            f"'{raw[:20]}' is no revision of this document; it has 1 to {document.revision}."
        )
    return int(raw)


class DocumentDiffView(DocumentPageView):
    """Two revisions of a document side by side, as the API's diff answers them."""

    template_name = "documents/diff.html"
    prefetch_related = ()

    def get_template_names(self):
        return [self.template_name]

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=400 if context["error"] else 200)

    def extra_context_for(self, document, access) -> dict:
        error, found = "", None
        try:
            to = _revision_param(self.request, "to", document.revision, document)
            start = _revision_param(self.request, "from", max(to - 1, 1), document)
        except ValueError as exc:
            error = str(exc)
        else:
            try:
                found = history.readable_diff(document, access, start, to)
            except history.RevisionUnreadable:
                raise Http404("No such revision.") from None
        return {
            "error": error,
            "diff": found,
            "changes": readable_changes(found["changes"]) if found else [],
        }


class UpstreamDiffView(DocumentDiffView):
    """What changed in the original since an adopted copy was taken."""

    template_name = "documents/upstream_diff.html"

    def extra_context_for(self, document, access) -> dict:
        if not document.has_upstream:
            raise Http404("This document was not adopted from another one.")
        original = history.upstream_original(document, access)
        try:
            found = history.upstream_diff(document, access, original)
        except history.UpstreamUnreadable:
            raise Http404("The original is not readable.") from None
        return {
            "error": "",
            "original": original,
            "diff": found,
            "changes": readable_changes(found["changes"]),
        }


class _FrontMatterDumper(yaml.SafeDumper):
    pass


def document_markdown(document, who) -> str:
    """The document as one Markdown file with YAML front matter, the form the importers
    read: its current content as the API shows it to `who`."""
    content = document.readable_snapshot(snapshot(document), who)
    markdown_fields = getattr(document, "MARKDOWN_FIELDS", ("body",))
    front = {name: value for name, value in content.items() if name not in markdown_fields}
    front = {name: value for name, value in front.items() if value not in (None, "", [], {})}
    parts = [
        "---",
        yaml.dump(front, Dumper=_FrontMatterDumper, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        content.get("body", ""),
    ]
    for name in getattr(document, "SECTIONS", ()):
        if content.get(name):
            label = document._meta.get_field(name).verbose_name.capitalize()
            parts += ["", f"## {label}", "", content[name]]
    return "\n".join(parts).rstrip() + "\n"


class DocumentMarkdownView(DocumentPageView):
    prefetch_related = BADGE_PREFETCH

    def get(self, request, *args, **kwargs):
        document = self.get_document(kwargs)
        response = HttpResponse(
            document_markdown(document, request), content_type="text/markdown; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{document.organisation.slug}-{document.slug}.md"'
        )
        return response


def document_page_urls(
    prefix: str, model, *, page_view=DocumentPageView, list_view=None, adoptable=False
):
    """The web pages of one document kind (`<kind>-list`, `<kind>-page`, `<kind>-diff`,
    `<kind>-markdown`, and `<kind>-upstream-diff` for adoptable kinds)."""
    kind = model.kind
    detail = f"{prefix}/<slug:organisation>/<slug:slug>/"
    patterns = [
        path(f"{prefix}/", list_view, name=f"{kind}-list"),
        path(detail, page_view.as_view(model=model), name=f"{kind}-page"),
        path(f"{detail}diff/", DocumentDiffView.as_view(model=model), name=f"{kind}-diff"),
        path(
            f"{detail}markdown/",
            DocumentMarkdownView.as_view(model=model),
            name=f"{kind}-markdown",
        ),
    ]
    if adoptable:
        patterns.append(
            path(
                f"{detail}upstream-diff/",
                UpstreamDiffView.as_view(model=model),
                name=f"{kind}-upstream-diff",
            )
        )
    return patterns
