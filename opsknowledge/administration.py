"""Organisation administration pages for the organisation's admins: members, API tokens
and the upload of a runbook repository archive. Every write goes through the services the
management commands use (opsknowledge.members, runbooks.uploads); whoever is not an admin
of the organisation gets 403 for any of these pages and forms, as from the API."""

import datetime
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from runbooks.archives import ArchiveError
from runbooks.uploads import import_archive

from . import members
from .exceptions import Conflict, NotFound, ValidationError
from .importing import ImportFailure
from .models import APIToken, Membership, Organisation, Role
from .services import Actor
from .visibility import Access

# The tokens page lists this many, newest first (revoked ones included, as history).
TOKEN_LIST_LIMIT = 200


def organisation_admin(view):
    """Resolve <organisation> and let only its admins through: anonymous readers are sent
    to sign in (a GET) or refused (anything else), everyone else gets 403."""

    @wraps(view)
    def wrapper(request, organisation, *args, **kwargs):
        organisation = get_object_or_404(Organisation, slug=organisation)
        if not request.user.is_authenticated and request.method == "GET":
            return redirect_to_login(request.get_full_path())
        if Access.of(request).role_in(organisation) != Role.ADMIN:
            raise PermissionDenied(
                f"Only admins of {organisation.name} administer its members and tokens."
            )
        return view(request, organisation, *args, **kwargs)

    return wrapper


def _show_errors(form, error):
    """A service's refusal as the form's errors: field errors beside their fields."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    elif isinstance(error, ValidationError):
        form.add_error(None, error.messages)
    else:
        form.add_error(None, error.message)


def _secret_page(request, template, context):
    """A page showing a secret once (a one-time password, a token's key): never cached."""
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


# -- members -------------------------------------------------------------------------------


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing user's username.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class CreateMemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="Letters, digits and @ . + - _ only.")
    email = forms.EmailField(required=False, help_text="Optional; no mail is sent.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="new", **kwargs)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


def _members_page(request, organisation, *, add=None, create=None, status=200, **extra):
    memberships = (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__username")
    )
    context = {
        "organisation": organisation,
        "section": "members",
        "memberships": memberships,
        "roles": Role.choices,
        "add_form": add or AddMemberForm(),
        "create_form": create or CreateMemberForm(),
        **extra,
    }
    return render(request, "organisations/admin/members.html", context, status=status)


def _actor(request) -> Actor:
    # Pages are signed in with a session: the revision and the audit log say so, with the
    # caller's address.
    return Actor.of_request(request)


@organisation_admin
def members_page(request, organisation):
    return _members_page(request, organisation)


@require_POST
@organisation_admin
def member_add(request, organisation):
    form = AddMemberForm(request.POST)
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        if user is None:
            form.add_error(
                "username",
                f"No user '{form.cleaned_data['username']}'; create a new user below instead.",
            )
        elif Membership.objects.filter(organisation=organisation, user=user).exists():
            form.add_error("username", f"'{user.username}' is already a member; change their role.")
        else:
            try:
                members.membership_set(
                    organisation=organisation,
                    user=user,
                    role=form.cleaned_data["role"],
                    actor=_actor(request),
                )
            except (ValidationError, Conflict) as error:
                _show_errors(form, error)
            else:
                messages.success(
                    request, f"{user.username} is now {form.cleaned_data['role']} here."
                )
                return redirect("organisation-admin-members", organisation=organisation.slug)
    return _members_page(request, organisation, add=form, status=400)


@require_POST
@organisation_admin
def member_create(request, organisation):
    form = CreateMemberForm(request.POST)
    if form.is_valid():
        try:
            user, password = members.member_create_user(
                organisation=organisation,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=_actor(request),
            )
        except ValidationError as error:
            _show_errors(form, error)
        else:
            return _secret_page(
                request,
                "organisations/admin/one_time_password.html",
                {
                    "organisation": organisation,
                    "section": "members",
                    "new_user": user,
                    "role": form.cleaned_data["role"],
                    "password": password,
                },
            )
    return _members_page(request, organisation, create=form, status=400)


def _member(organisation, user_id):
    return get_object_or_404(
        Membership.objects.select_related("user"), organisation=organisation, user_id=user_id
    )


@require_POST
@organisation_admin
def member_role(request, organisation, user_id):
    membership = _member(organisation, user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            members.membership_set(
                organisation=organisation,
                user=membership.user,
                role=form.cleaned_data["role"],
                actor=_actor(request),
            )
        except (ValidationError, Conflict) as error:
            messages.error(request, getattr(error, "message", None) or " ".join(error.messages))
        else:
            messages.success(
                request, f"{membership.user.username} is now {form.cleaned_data['role']} here."
            )
    else:
        messages.error(request, "Choose one of the roles viewer, editor or admin.")
    return redirect("organisation-admin-members", organisation=organisation.slug)


@require_POST
@organisation_admin
def member_remove(request, organisation, user_id):
    membership = _member(organisation, user_id)
    try:
        revoked = members.membership_remove(
            organisation=organisation, user=membership.user, actor=_actor(request)
        )
    except (Conflict, NotFound) as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{membership.user.username} is no longer a member"
            + (f"; {revoked} of their tokens were revoked." if revoked else "."),
        )
    return redirect("organisation-admin-members", organisation=organisation.slug)


# -- API tokens ----------------------------------------------------------------------------


class TokenForm(forms.Form):
    user = forms.TypedChoiceField(coerce=int, label="For member")
    description = forms.CharField(
        max_length=200, label="Name", help_text="What uses it, e.g. 'CI pipeline'."
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        help_text="The token stops working at the start of this day (UTC); empty: never.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, organisation, user, **kwargs):
        super().__init__(*args, **kwargs)
        choices = Membership.objects.filter(organisation=organisation).order_by("user__username")
        self.fields["user"].choices = [
            (pk, f"{name} ({role})") for pk, name, role in
            choices.values_list("user_id", "user__username", "role")
        ]  # fmt: skip
        self.fields["user"].initial = user.pk
        self.fields["expires_on"].initial = timezone.localdate() + datetime.timedelta(days=90)

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def _tokens_page(request, organisation, *, form=None, status=200, **extra):
    tokens = (
        APIToken.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("-created")[:TOKEN_LIST_LIMIT]
    )
    now = timezone.now()
    context = {
        "organisation": organisation,
        "section": "tokens",
        "tokens": [
            {
                "token": token,
                "active": token.revoked_at is None
                and (token.expires_at is None or token.expires_at > now),
            }
            for token in tokens
        ],
        "form": form or TokenForm(organisation=organisation, user=request.user),
        **extra,
    }
    return render(request, "organisations/admin/tokens.html", context, status=status)


@organisation_admin
def tokens_page(request, organisation):
    return _tokens_page(request, organisation)


@require_POST
@organisation_admin
def token_create(request, organisation):
    form = TokenForm(request.POST, organisation=organisation, user=request.user)
    if form.is_valid():
        user = get_user_model().objects.get(pk=form.cleaned_data["user"])
        try:
            token, key = members.token_create(
                user=user,
                organisation=organisation,
                actor=_actor(request),
                description=form.cleaned_data["description"],
                expires_at=form.expires_at(),
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "expires_at" in error.error_dict:
                form.add_error("expires_on", error.message_dict["expires_at"])
            else:
                _show_errors(form, error)
        else:
            response = _tokens_page(request, organisation, new_token=token, key=key)
            add_never_cache_headers(response)
            return response
    return _tokens_page(request, organisation, form=form, status=400)


@require_POST
@organisation_admin
def token_revoke(request, organisation, token_id):
    token = get_object_or_404(APIToken.objects.select_related("organisation"), pk=token_id,
                              organisation=organisation)  # fmt: skip
    members.token_revoke(token=token, actor=_actor(request))
    messages.success(request, f"Token {token.key_start}… ({token.description}) is revoked.")
    return redirect("organisation-admin-tokens", organisation=organisation.slug)


# -- upload of a runbook repository archive ------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Archive", help_text="A .tar.gz or .zip of the repository's Markdown runbooks."
    )
    visibility = forms.ChoiceField(
        choices=[("organisation", "Organisation"), ("community", "Community"),
                 ("public", "Public")],
        initial="organisation",
        help_text="For the runbooks the import creates; existing ones keep theirs.",
    )  # fmt: skip
    status = forms.ChoiceField(
        choices=[("published", "Published"), ("draft", "Draft")], initial="published"
    )
    dry_run = forms.BooleanField(
        required=False, label="Dry run: show what would happen, change nothing"
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The archive exceeds {settings.IMPORT_MAX_BYTES // (1024 * 1024)} MiB."
            )
        return upload


@require_http_methods(["GET", "POST"])
@organisation_admin
def upload_page(request, organisation):
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    summary = None
    if request.method == "POST" and form.is_valid():
        options = {
            "kind": "runbook",
            "create_components": False,
            "prune": False,
            "source_url": "",
            "acknowledge_warnings": False,
            "dry_run": form.cleaned_data["dry_run"],
            "visibility": form.cleaned_data["visibility"],
            "status": form.cleaned_data["status"],
        }
        try:
            summary = import_archive(
                form.cleaned_data["file"].read(),
                organisation=organisation,
                actor=_actor(request),
                options=options,
            ).as_dict()
        except (ArchiveError, ImportFailure) as error:
            form.add_error("file", str(error))
    status = 400 if request.method == "POST" and form.errors else 200
    context = {
        "organisation": organisation,
        "section": "import",
        "form": form,
        "summary": summary,
        "dry_run": bool(summary) and form.cleaned_data.get("dry_run"),
    }
    return render(request, "organisations/admin/import.html", context, status=status)
