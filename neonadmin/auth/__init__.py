"""Signing in through SSO: an identity (issuer, subject, groups) becomes a dashboard user.

Three ways in, chosen by NEONADMIN_AUTH_MODE: `oidc` (this app is an OpenID Connect client,
neonadmin/auth/oidc.py), `proxy` (an SSO proxy signs every request, neonadmin/auth/proxy.py) and
`demo` (local password, demo mode only, neonadmin/auth/demo.py). They all end in `identity_sign_in`.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from neonadmin.models import Identity
from neonadmin.roles import Role, role_from_groups, user_role_set

NO_MAPPED_GROUP = (
    "You are signed in to single sign-on as {who}, but none of your groups gives access to "
    "Neon Admin."
)

ACCOUNT_DISABLED = "The Neon Admin account of {who} has been disabled by an administrator."


class SignInRefused(PermissionDenied):
    """The identity is genuine but may not use the dashboard (or the assertion was refused)."""

    def __init__(self, message: str, *, who: str = "", groups: Iterable[str] = ()):
        super().__init__(message)
        self.message = message
        self.who = who
        self.groups = list(groups)


@dataclass(frozen=True, kw_only=True)
class SsoIdentity:
    """Who signed in. `email` is only ever an address the IdP or proxy has verified ("" if
    none): it becomes user.email, the name the audit log shows."""

    issuer: str
    subject: str
    email: str = ""
    name: str = ""
    groups: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.email or self.subject


def auth_mode() -> str:
    return settings.NEONADMIN_AUTH_MODE


def groups_from_claim(value) -> list[str]:
    """Groups as IdPs send them: a list, or one comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [g.strip() for g in value.split(",") if g.strip()]
    if isinstance(value, list | tuple):
        return [str(g) for g in value]
    return []


def claim(claims: dict, path: str):
    """A claim by name, or by dotted path for nested ones (Cloudflare's "custom.groups")."""
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def identity_role(identity: SsoIdentity) -> Role | None:
    role = role_from_groups(identity.groups)
    if role is None and settings.NEONADMIN_DEFAULT_ROLE:
        role = Role[settings.NEONADMIN_DEFAULT_ROLE.upper()]
    return role


def _username_for(identity: SsoIdentity) -> str:
    """The username, set once at the first sign-in and never changed: the subject the issuer
    vouches for, never an email (which may be unverified, renamed or reused). When another
    account (another issuer's, or a local one) holds it, a digest of (issuer, subject) tells
    them apart."""
    base = identity.subject[:150]
    if not get_user_model().objects.filter(username=base).exists():
        return base
    digest = hashlib.sha256(f"{identity.issuer} {identity.subject}".encode()).hexdigest()[:10]
    return f"{identity.subject[:139]}~{digest}"


def identity_sign_in(identity: SsoIdentity):
    """The user for this identity, created on first sign-in, with the role its groups give now.

    Raises SignInRefused (after stripping any earlier role) when no group maps to a role.
    """
    if not identity.subject or not identity.issuer:
        raise SignInRefused("The sign-in did not name a subject.")
    try:
        with transaction.atomic():
            user, role = _sync(identity)
    except IntegrityError:  # the same person's first sign-in, twice at once: the other won
        with transaction.atomic():
            user, role = _sync(identity)
    if not user.is_active:
        raise SignInRefused(ACCOUNT_DISABLED.format(who=identity.label), who=identity.label)
    if role is None:
        raise SignInRefused(
            NO_MAPPED_GROUP.format(who=identity.label), who=identity.label, groups=identity.groups
        )
    return user


def _sync(identity: SsoIdentity):
    record = (
        Identity.objects.select_related("user")
        .select_for_update()
        .filter(issuer=identity.issuer, subject=identity.subject)
        .first()
    )
    if record is None:
        user = get_user_model().objects.create_user(username=_username_for(identity))
        user.set_unusable_password()
        record = Identity(user=user, issuer=identity.issuer, subject=identity.subject)
    user = record.user
    user.email, user.first_name, user.last_name = _profile(identity)
    user.save()
    record.groups = identity.groups
    record.save()

    role = identity_role(identity)
    if role is None:
        user.groups.remove(*Group.objects.filter(name__in=[r.label for r in Role]))
    else:
        user_role_set(user=user, role=role)
    return user, role


def _profile(identity: SsoIdentity) -> tuple[str, str, str]:
    """The user's email, first and last name, as a sign-in stores them."""
    first, _, last = identity.name.partition(" ")
    return identity.email, first[:150], last[:150]


def identity_user_unchanged(identity: SsoIdentity):
    """The active user this identity last signed in as, if nothing it asserts has changed since
    (email, name, groups) and its groups still give a role; otherwise None, and the caller signs
    it in again with `identity_sign_in`, which also refuses whom it must. One query.

    For an identity asserted on every request (an SSO proxy): the role is the one the asserted
    groups give, which is the role the last sign-in stored from these same groups, so it is not
    read back."""
    try:
        record = Identity.objects.select_related("user").get(
            issuer=identity.issuer, subject=identity.subject
        )
    except Identity.DoesNotExist:
        return None
    role = identity_role(identity)
    user = record.user
    if role is None or not user.is_active:
        return None
    if sorted(record.groups) != sorted(identity.groups) or (
        user.email,
        user.first_name,
        user.last_name,
    ) != _profile(identity):
        return None
    user._neonadmin_role = role
    return user
