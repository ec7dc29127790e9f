"""Per-project permissions: the caller's ``effective_project_permission`` and what it allows.

The spec's ``ProjectPermissionLevel`` is CAN_VIEW, CAN_EDIT or CAN_MANAGE, sent only for
projects of organizations with per-project permissions turned on (omitted for personal
projects, flag-off organizations and non-user subjects). The emulator's reading:

- CAN_VIEW reads only: every write under ``/projects/{project_id}`` gets 403.
- CAN_EDIT changes the project but cannot delete it (managing it takes CAN_MANAGE).
- CAN_MANAGE does everything; so does a project without a level.

A seeded project's level is drawn from its id by a hash, not from the seed's random streams,
so that turning it on moved no other seeded value.
"""

from __future__ import annotations

import hashlib

from neon_emulator.errors import ApiError

CAN_VIEW, CAN_EDIT, CAN_MANAGE = "CAN_VIEW", "CAN_EDIT", "CAN_MANAGE"
LEVELS = (CAN_VIEW, CAN_EDIT, CAN_MANAGE)
# Seeded shares: below 0.2 CAN_VIEW, below 0.5 CAN_EDIT, the rest CAN_MANAGE.
SEEDED_BANDS = ((0.2, CAN_VIEW), (0.5, CAN_EDIT), (1.0, CAN_MANAGE))
# The one project route that takes CAN_MANAGE; every other write takes CAN_EDIT.
MANAGE_ROUTES = frozenset({("DELETE", "/projects/{project_id}")})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def seeded_level(project_id: str) -> str:
    """The level a seeded project gets: the same for the same id, in every process."""
    digest = hashlib.sha256(f"permission/{project_id}".encode()).digest()
    x = int.from_bytes(digest[:8], "big") / 2**64
    return next(level for below, level in SEEDED_BANDS if x < below)


def needed(method: str, template: str) -> str | None:
    """The level a route needs, or None for a read."""
    if method in READ_METHODS:
        return None
    return CAN_MANAGE if (method, template) in MANAGE_ROUTES else CAN_EDIT


def check(project_id: str, level: str | None, method: str, template: str) -> None:
    """Raise 403 when ``level`` is below what the route needs; no level allows everything."""
    need = needed(method, template)
    if level is None or need is None or LEVELS.index(level) >= LEVELS.index(need):
        return
    if need == CAN_MANAGE:
        what = "deleting it needs CAN_MANAGE"
    else:
        what = "changing it needs CAN_EDIT or CAN_MANAGE"
    raise ApiError(
        403,
        f"your permission on project {project_id} is {level}: {what}",
    )
