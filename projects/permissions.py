"""What Neon refuses for the key's per-project permission (`Project.permission`).

Neon's spec (`ProjectPermissionLevel`) gives the key's effective permission on a project:
CAN_VIEW, CAN_EDIT or CAN_MANAGE, sent only by organizations with per-project permissions and
omitted (None) for personal projects and every other organization. The rules, as Neon applies
them:

- CAN_VIEW: every change is refused, deletion included.
- CAN_EDIT: changes are allowed, deletion is not (managing a project takes CAN_MANAGE).
- CAN_MANAGE, or no level: nothing is refused for this reason.

A level this module does not know (a later version of Neon's enum) refuses nothing here: Neon
still has the last word, and its answer is shown as usual.

These only predict Neon's answer so that nothing doomed is sent (the settings form, the bulk
dry run); they are not the dashboard's own roles (`neonadmin.roles`).
"""

from __future__ import annotations

from typing import Literal

CAN_VIEW = "CAN_VIEW"
CAN_EDIT = "CAN_EDIT"
CAN_MANAGE = "CAN_MANAGE"
LEVELS = (CAN_VIEW, CAN_EDIT, CAN_MANAGE)

Action = Literal["update", "delete"]

MSG_VIEW_ONLY = (
    "Neon gives this key view access only to this project (CAN_VIEW): it refuses every change."
)
MSG_DELETE_NEEDS_MANAGE = (
    "Neon lets this key edit this project but not delete it (CAN_EDIT): deleting a project "
    "needs CAN_MANAGE."
)


def can_change(permission: str | None) -> bool:
    """Whether Neon accepts changes to a project's settings with this level."""
    return permission != CAN_VIEW


def can_delete(permission: str | None) -> bool:
    """Whether Neon accepts deleting the project with this level."""
    return permission not in (CAN_VIEW, CAN_EDIT)


def refusal(permission: str | None, action: Action) -> str | None:
    """Why Neon would refuse `action` on a project with this level, or None if it would not."""
    if action not in ("update", "delete"):
        raise ValueError(f"unknown action {action!r}: expected 'update' or 'delete'")
    if not can_change(permission):
        return MSG_VIEW_ONLY
    if action == "delete" and not can_delete(permission):
        return MSG_DELETE_NEEDS_MANAGE
    return None
