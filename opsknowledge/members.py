"""Writes of organisation membership and API tokens: the administration pages and the
management commands (add_member, create_token, revoke_token) both call these, so the rules
hold whoever writes:

- only admins of the organisation (or the instance's operator, `Actor.operator()`) write;
- the last admin of an organisation can be neither removed nor demoted;
- a token acts for one organisation, for a member of it; removing a member revokes their
  tokens for that organisation (and authentication refuses a token whose user is no
  longer a member, whatever removed them);
- a user created here gets a one-time password, returned once, that they must change at
  their first sign-in (no mail is sent).
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from .exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from .models import APIToken, Membership, PasswordChangeRequired, Role
from .services import Actor


def check_admin(actor: Actor, organisation):
    if actor.access is not None and actor.access.role_in(organisation) != Role.ADMIN:
        raise PermissionDenied(
            f"You need the admin role in organisation '{organisation.slug}' to manage its "
            "members and tokens."
        )


def _check_role(role):
    if role not in Role.values:
        valid = ", ".join(Role.values)
        raise ValidationError({"role": [f"'{role}' is not a role; use {valid}."]})


def _check_other_admins(organisation, user, what: str):
    """Refuse to leave `organisation` without an admin. The admins' rows are locked, so two
    admins demoting each other at once cannot both succeed."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(organisation=organisation, role=Role.ADMIN)
        .values_list("user_id", flat=True)
    )
    if admins == [user.pk]:
        raise Conflict(
            f"'{user.username}' is the last admin of '{organisation.slug}' and cannot be "
            f"{what}; make another member admin first."
        )


@transaction.atomic
def membership_set(*, organisation, user, role: str, actor: Actor) -> tuple[Membership, bool]:
    """Give `user` `role` in `organisation` (adding them, or changing their role).
    Returns (membership, created)."""
    check_admin(actor, organisation)
    _check_role(role)
    current = Membership.objects.filter(organisation=organisation, user=user).first()
    if current is not None and current.role == Role.ADMIN and role != Role.ADMIN:
        _check_other_admins(organisation, user, "demoted")
    if current is None:
        return Membership.objects.create(organisation=organisation, user=user, role=role), True
    if current.role != role:
        current.role = role
        current.save(update_fields=["role"])
    return current, False


def one_time_password() -> str:
    """Long and random enough to pass the password validators; shown to the admin once."""
    return secrets.token_urlsafe(12)


@transaction.atomic
def member_create_user(*, organisation, username: str, role: str, actor: Actor, email: str = ""):
    """A new user who is `role` of `organisation`, with a one-time password they must
    change at their first sign-in. Returns (user, password)."""
    check_admin(actor, organisation)
    _check_role(role)
    User = get_user_model()
    user = User(username=(username or "").strip(), email=(email or "").strip())
    user.full_clean(exclude=["password"])  # username rules and uniqueness, email
    password = one_time_password()
    user.set_password(password)
    user.save()
    PasswordChangeRequired.objects.create(user=user)
    membership_set(organisation=organisation, user=user, role=role, actor=actor)
    return user, password


def user_set_password(*, user, password: str):
    """The operator sets a user's password (add_member --password-stdin)."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])


@transaction.atomic
def membership_remove(*, organisation, user, actor: Actor) -> int:
    """Remove `user` from `organisation` and revoke their tokens for it (401 from the next
    request on). Returns how many tokens were revoked."""
    check_admin(actor, organisation)
    membership = Membership.objects.filter(organisation=organisation, user=user).first()
    if membership is None:
        raise NotFound(f"'{user.username}' is not a member of '{organisation.slug}'.")
    if membership.role == Role.ADMIN:
        _check_other_admins(organisation, user, "removed")
    membership.delete()
    return APIToken.objects.filter(
        organisation=organisation, user=user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def token_create(*, user, organisation, actor: Actor, description: str = "", expires_at=None):
    """A token for `user` acting in `organisation` with their role there (None: a staff
    token for the catalogue, operator only). Returns (token, key); the key is not stored
    and cannot be shown again."""
    if organisation is None:
        if actor.access is not None:
            raise PermissionDenied("Staff tokens are issued by the operator (create_token).")
        if not user.is_staff:
            raise ValidationError({"user": [f"'{user.username}' is not staff."]})
    else:
        check_admin(actor, organisation)
        if not Membership.objects.filter(user=user, organisation=organisation).exists():
            raise ValidationError(
                {
                    "user": [
                        f"'{user.username}' is not a member of '{organisation.slug}'; a token "
                        "acts with its user's role there, so add them first."
                    ]
                }
            )
    if len(description) > 200:
        raise ValidationError({"description": ["Give at most 200 characters."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["Give a time in the future."]})
    return APIToken.issue(
        user=user, organisation=organisation, expires_at=expires_at, description=description
    )


def token_revoke(*, token, actor: Actor):
    """Revoke `token`: admins of its organisation revoke any of its tokens."""
    if token.organisation_id is None:
        if actor.access is not None:
            raise PermissionDenied("Staff tokens are revoked by the operator (revoke_token).")
    else:
        check_admin(actor, token.organisation)
    token.revoke()
    return token
