"""Writing in the web UI: create and edit forms, the conflict page, publishing with
warnings, archive and restore, adopt and update from upstream, and the Markdown preview.

Every write goes through opsknowledge.services with `Actor.of_request` (so revision
history says "via session" and who), and the services' errors are shown as the API words
them. Who may see a document is `visible_to` (404 otherwise, like the API); who may write
it is the services' check (403, like the API).
"""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from taggit.models import Tag

from . import history, kinds, markdown, services
from .exceptions import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnacknowledgedWarnings,
    ValidationError,
)
from .forms import UTC, time_zone
from .models import Organisation, Revision, Status
from .pages import readable_changes
from .visibility import Access

READABLE_TAGS_SHOWN = 500  # suggestions in the tags <datalist>


def readable_tags(access) -> list[str]:
    """Tag names used on documents `access` may read: taggit's tag table is shared by every
    organisation, so a tag only on another organisation's draft is no suggestion."""
    match = Q()
    for model in (kind.model for kind in kinds.all_kinds()):
        match |= Q(
            taggit_taggeditem_items__content_type=ContentType.objects.get_for_model(model),
            taggit_taggeditem_items__object_id__in=model.objects.visible_to(access).values("pk"),
        )
    names = Tag.objects.filter(match).values_list("name", flat=True).distinct().order_by("name")
    return list(names[:READABLE_TAGS_SHOWN])


def signed_in(view):
    """Anonymous callers are sent to sign in (the web's 401)."""

    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def readable_document(request, model, organisation: str, slug: str):
    """The document, when the caller may read it (else 404 as if it did not exist)."""
    return model.objects.select_related(*model.WRITE_SELECT_RELATED).get_visible_or_404(
        request, organisation__slug=organisation, slug=slug
    )


def writable_document(request, model, organisation: str, slug: str):
    """The document to write: 404 for who may not read it, 403 for who may not write it."""
    document = readable_document(request, model, organisation, slug)
    services.check_write(services.Actor.of_request(request), document.organisation)
    return document


def request_zone(request):
    """The zone the form's times are typed in: the form's, else `?tz=` (set by the
    browser's script), else UTC."""
    name = request.POST.get("time_zone") or request.GET.get("tz") or UTC
    try:
        return time_zone(name)
    except ValidationError:
        return zoneinfo.ZoneInfo(UTC)


def if_match_of(form) -> set[int] | None:
    base = form.cleaned_data.get("base_revision")
    return {base} if base else None


def render_form(request, form, *, model, document=None, status=200, conflict=None, **extra):
    access = Access.of(request)
    previews = {}
    if request.method == "POST" and "preview" in request.POST and form.is_bound:
        for name in model.MARKDOWN_FIELDS:
            text = request.POST.get(name) or ""
            if text.strip():
                previews[name] = markdown.render(text)
    context = {
        "form": form,
        "document": document,
        "kind": model.kind,
        "kind_name": model._meta.verbose_name,
        "kind_plural": model._meta.verbose_name_plural,
        "markdown_fields": model.MARKDOWN_FIELDS,
        "previews": previews,
        "conflict": conflict,
        "errors": form.error_summary() if form.is_bound else [],
        "zone": form.zone.key,
        **form.choices_context(readable_tags(access)),
        **extra,
    }
    return render(request, "editing/form.html", context, status=status)


def save(request, form, *, model, document=None):
    """Write what the bound, valid `form` holds; returns a response."""
    actor = services.Actor.of_request(request)
    data = form.document_data()
    options = {
        "actor": actor,
        "message": form.cleaned_data.get("message") or "",
        "acknowledge_warnings": bool(form.cleaned_data.get("acknowledge_warnings")),
    }
    try:
        if document is None:
            organisation = Organisation.objects.filter(
                slug=form.cleaned_data["organisation"]
            ).first()
            if organisation is None:
                raise Http404("No such organisation.")
            document = services.document_create(
                model=model,
                organisation=organisation,
                slug=form.cleaned_data["slug"],
                data=data,
                **options,
            )
            changed = True
        else:
            document, changed = services.document_update(
                document=document, data=data, if_match=if_match_of(form), **options
            )
    except (PreconditionFailed, PreconditionRequired):
        return conflict_page(request, form, model=model, document=document)
    except UnacknowledgedWarnings as error:
        form.show_warnings(error.warnings)
        form.add_service_errors(error)
        return render_form(request, form, model=model, document=document, status=400)
    except ValidationError as error:
        form.add_service_errors(error)
        return render_form(request, form, model=model, document=document, status=400)
    except Conflict as error:
        form.add_error("slug" if "slug" in form.fields else None, error.message)
        return render_form(request, form, model=model, document=document, status=409)
    if changed:
        messages.success(request, f"Saved as revision {document.revision}.")
    else:
        messages.info(request, f"No changes: revision {document.revision} is current.")
    return redirect(document.get_absolute_url())


def conflict_page(request, form, *, model, document):
    """Someone saved since the form was opened: what changed (base → current) and the
    editor's own text, intact, in a form that saves it over the current revision."""
    access = Access.of(request)
    current = model.objects.select_related(*model.WRITE_SELECT_RELATED).get(pk=document.pk)
    base = form.cleaned_data.get("base_revision") or current.revision
    try:
        diff = history.readable_diff(current, access, base, current.revision)
    except history.RevisionUnreadable:
        diff = None
    data = request.POST.copy()
    data["base_revision"] = str(current.revision)  # "save mine over current"
    data.pop("preview", None)
    resubmit = type(form)(data, document=current, zone=form.zone)
    resubmit.is_valid()
    return render_form(
        request,
        resubmit,
        model=model,
        document=current,
        status=409,
        conflict={
            "base": base,
            "current": current.revision,
            "changes": readable_changes(diff["changes"]) if diff else [],
        },
    )


@signed_in
def create_view(request, *, model, form_class):
    access = Access.of(request)
    organisations = Organisation.objects.filter(pk__in=access.writable_organisation_ids)
    if not access.writable_organisation_ids:
        raise PermissionDenied(
            "You need the editor or admin role in an organisation to write documents."
        )
    zone = request_zone(request)
    if request.method != "POST":
        initial = {"organisation": request.GET.get("organisation", "")}
        form = form_class(organisations=organisations, zone=zone, initial=initial)
        return render_form(request, form, model=model)
    form = form_class(request.POST, organisations=organisations, zone=zone)
    if not form.is_valid() or "preview" in request.POST:
        return render_form(request, form, model=model, status=200 if form.is_valid() else 400)
    return save(request, form, model=model)


@signed_in
def edit_view(request, organisation, slug, *, model, form_class):
    document = writable_document(request, model, organisation, slug)
    zone = request_zone(request)
    if request.method != "POST":
        form = form_class(document=document, zone=zone)
        if getattr(document, "warnings", None):
            form.show_warnings(document.warnings)
        return render_form(request, form, model=model, document=document)
    form = form_class(request.POST, document=document, zone=zone)
    if not form.is_valid() or "preview" in request.POST:
        status = 200 if form.is_valid() else 400
        return render_form(request, form, model=model, document=document, status=status)
    return save(request, form, model=model, document=document)


def posted_revision(request) -> set[int] | None:
    raw = request.POST.get("base_revision", "")
    return {int(raw)} if raw.isdigit() and len(raw) < 10 else None


def _refused(request, document, error) -> HttpResponse:
    if isinstance(error, PreconditionFailed | PreconditionRequired):
        messages.error(
            request,
            f"This {document._meta.verbose_name} changed since you opened it (now revision "
            f"{error.current_revision}): look at the change and try again.",
        )
    elif isinstance(error, ValidationError):
        texts = error.messages
        messages.error(request, " ".join(texts))
    else:
        messages.error(request, error.message)
    return redirect(document.get_absolute_url())


@signed_in
@require_POST
def archive_view(request, organisation, slug, *, model):
    document = writable_document(request, model, organisation, slug)
    try:
        document, changed = services.document_archive(
            document=document,
            actor=services.Actor.of_request(request),
            if_match=posted_revision(request),
        )
    except (PreconditionFailed, PreconditionRequired) as error:
        return _refused(request, document, error)
    if changed:
        messages.success(request, f"Archived as revision {document.revision}; history kept.")
    return redirect(document.get_absolute_url())


def status_before_archiving(document) -> str:
    """The status of the latest revision that was not archived (draft if none)."""
    revisions = Revision.objects.filter(
        content_type=ContentType.objects.get_for_model(type(document)), object_id=document.pk
    ).order_by("-number")
    for status in revisions.values_list("snapshot__status", flat=True)[:50]:
        if status and status != Status.ARCHIVED:
            return status
    return Status.DRAFT


@signed_in
@require_POST
def restore_view(request, organisation, slug, *, model):
    document = writable_document(request, model, organisation, slug)
    if not document.is_archived:
        return redirect(document.get_absolute_url())
    status = status_before_archiving(document)
    try:
        document, _changed = services.document_update(
            document=document,
            data={"status": status},
            actor=services.Actor.of_request(request),
            if_match=posted_revision(request),
            message=f"Restored ({status})",
        )
    except UnacknowledgedWarnings:
        messages.error(
            request,
            "Restoring would publish this document with warnings: edit it, read the "
            "warnings and acknowledge them to publish.",
        )
        return redirect(document.get_absolute_url())
    except (PreconditionFailed, PreconditionRequired, ValidationError) as error:
        return _refused(request, document, error)
    messages.success(request, f"Restored as revision {document.revision} ({status}).")
    return redirect(document.get_absolute_url())


@signed_in
@require_POST
def adopt_view(request, organisation, slug, *, model):
    source = readable_document(request, model, organisation, slug)
    target = Organisation.objects.filter(slug=request.POST.get("organisation", "")).first()
    if target is None:
        raise Http404("No such organisation.")
    new_slug = (request.POST.get("slug") or "").strip() or source.slug
    actor = services.Actor.of_request(request)
    # Who may not write the target learns nothing about adopting: 403 first, as the API.
    services.check_write(actor, target)
    try:
        copy = services.document_adopt(
            source=source, organisation=target, slug=new_slug, actor=actor
        )
    except (Conflict, ValidationError) as error:
        return _refused(request, source, error)
    messages.success(request, f"Adopted into {target.name} as a draft (revision 1).")
    return redirect(copy.get_absolute_url())


@signed_in
def update_from_upstream_view(request, organisation, slug, *, model):
    """GET: the upstream diff and a button; POST: apply it as a new revision."""
    document = writable_document(request, model, organisation, slug)
    if not document.has_upstream:
        raise Http404("This document was not adopted from another one.")
    access = Access.of(request)
    refusal, status = "", 200
    if request.method == "POST":
        try:
            document, changed = services.document_update_from_upstream(
                document=document,
                actor=services.Actor.of_request(request),
                if_match=posted_revision(request),
            )
        except Conflict as error:
            refusal, status = error.message, 409
        except NotFound as error:
            raise Http404(error.message) from None
        except (PreconditionFailed, PreconditionRequired) as error:
            refusal, status = (
                f"This copy changed since you opened this page (now revision "
                f"{error.current_revision}): look at the changes again.",
                412,
            )
            document = model.objects.select_related("organisation").get(pk=document.pk)
        except ValidationError as error:
            refusal, status = " ".join(error.messages), 400
        else:
            messages.success(
                request,
                f"Updated from upstream as revision {document.revision}."
                if changed
                else "Already up to date with upstream: no new revision.",
            )
            return redirect(document.get_absolute_url())
    original = history.upstream_original(document, access)
    try:
        found = history.upstream_diff(document, access, original)
    except history.UpstreamUnreadable:
        raise Http404("The original is not readable.") from None
    licence_refusal = services.adoption_refusal(original)
    refusal = refusal or (licence_refusal or "")
    context = {
        "document": document,
        "original": original,
        "kind": model.kind,
        "kind_name": model._meta.verbose_name,
        "kind_plural": model._meta.verbose_name_plural,
        "diff": found,
        "changes": readable_changes(found["changes"]),
        "refusal": refusal,
        "can_apply": licence_refusal is None,
    }
    return render(request, "editing/update_from_upstream.html", context, status=status)


@require_POST
def preview_view(request):
    """The Markdown of a form field rendered by the one renderer (as the page will show
    it): an HTML fragment for the editor's live preview."""
    access = Access.of(request)
    if not access.writable_organisation_ids:
        raise PermissionDenied("Previews are for editors.")
    text = request.POST.get("text", "")
    try:
        html = markdown.render_within_limits(text)
    except markdown.TooComplex as error:
        html = f"<p>{error}</p>"
    return HttpResponse(html, content_type="text/html; charset=utf-8")


def editing_urls(prefix: str, model, form_class, *, adoptable=False):
    """The editing pages of one kind: `<kind>-new`, `<kind>-edit`, `<kind>-archive`,
    `<kind>-restore`, and for adoptable kinds `<kind>-adopt` and
    `<kind>-update-from-upstream`."""
    kind = model.kind
    detail = f"{prefix}/<slug:organisation>/<slug:slug>/"
    patterns = [
        path(
            f"{prefix}/new/",
            with_kwargs(create_view, model=model, form_class=form_class),
            name=f"{kind}-new",
        ),
        path(
            f"{detail}edit/",
            with_kwargs(edit_view, model=model, form_class=form_class),
            name=f"{kind}-edit",
        ),
        path(f"{detail}archive/", with_kwargs(archive_view, model=model), name=f"{kind}-archive"),
        path(f"{detail}restore/", with_kwargs(restore_view, model=model), name=f"{kind}-restore"),
    ]
    if adoptable:
        patterns += [
            path(f"{detail}adopt/", with_kwargs(adopt_view, model=model), name=f"{kind}-adopt"),
            path(
                f"{detail}update-from-upstream/",
                with_kwargs(update_from_upstream_view, model=model),
                name=f"{kind}-update-from-upstream",
            ),
        ]
    return patterns


def with_kwargs(view, **bound):
    def bound_view(request, *args, **kwargs):
        return view(request, *args, **kwargs, **bound)

    bound_view.__name__ = view.__name__
    return bound_view


urlpatterns = [path("editing/preview/", preview_view, name="markdown-preview")]
