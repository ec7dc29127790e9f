"""Roles: viewer < operator < admin. Stored as Django groups named after the role.

The sign-in backends (neonadmin/auth/) set a person's role from their IdP or proxy groups at
every login; views check it with `role_required`, and templates read `access` (see
context_processors.access). The server is the guard; hidden buttons are only a courtesy.
"""

from collections.abc import Callable, Iterable
from enum import IntEnum
from functools import wraps
from typing import NoReturn

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.dispatch import Signal

# Sent when a POST to a write is refused for its role (with `request`, `action`, `role`,
# `data` and the project's `project_id`/`project_name`): the audit log records every attempt
# (audit.services.record_refusal, connected in AuditConfig.ready).
write_refused = Signal()


class Role(IntEnum):
    VIEWER = 1  # reads everything except secrets
    OPERATOR = 2  # creates, edits settings, reveals connection details
    ADMIN = 3  # also deletes, recovers and makes irreversible changes

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_GROUP_SETTINGS = {
    Role.VIEWER: "NEONADMIN_VIEWER_GROUPS",
    Role.OPERATOR: "NEONADMIN_OPERATOR_GROUPS",
    Role.ADMIN: "NEONADMIN_ADMIN_GROUPS",
}


def role_from_groups(groups: Iterable[str]) -> Role | None:
    """The highest role any of these IdP/proxy group names maps to, or None."""
    names = set(groups)
    for role in sorted(Role, reverse=True):
        if names & set(getattr(settings, ROLE_GROUP_SETTINGS[role])):
            return role
    return None


def user_role(user) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_neonadmin_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = max((r for r in Role if r.label in names), default=None)
    user._neonadmin_role = role
    return role


def user_role_set(*, user, role: Role) -> None:
    """Make `role` the user's only role (re-synced at every login)."""
    group, _ = Group.objects.get_or_create(name=role.label)
    stale = user.groups.filter(name__in=[r.label for r in Role]).exclude(pk=group.pk)
    user.groups.remove(*stale)
    user.groups.add(group)
    user._neonadmin_role = role


def has_role(user, role: Role) -> bool:
    current = user_role(user)
    return current is not None and current >= role


def refuse(
    request,
    role: Role,
    *,
    audit_action: str = "",
    message: str = "",
    data=None,
    **project: str,
) -> NoReturn:
    """403 for someone below `role`. A refused POST to a write (`audit_action` given) is a write
    attempt, and every attempt is audited: one failure record, status 403, the role it needed.
    `project` is the project_id and, when already known, the project_name; `data`, the form
    data asked for when it is not the POST itself."""
    if audit_action and request.method == "POST":
        write_refused.send(
            sender=Role, request=request, action=audit_action, role=role.label, data=data, **project
        )
    raise PermissionDenied(message or f"This needs the {role.label} role.")


def role_required(role: Role, *, audit_action: str = "") -> Callable:
    """View decorator: 403 unless the signed-in user has at least `role`; a refused POST to a
    write view (one with an `audit_action`) is recorded in the audit log."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, role):
                project_id = kwargs.get("project_id", "")
                refuse(request, role, audit_action=audit_action, project_id=project_id)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
