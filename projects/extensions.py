"""Where features hang off the core (STYLE.md idiom 18).

`projects` does not import the apps built on it (fleet, governance, bulk). They learn of the
core's writes and take part in its decisions through what this module offers, filled in their
`AppConfig.ready()`:

- `project_written`, a signal sent once a write to Neon is committed, carrying Neon's own answer
  (the fleet keeps its inventory row from it);
- guards (`register_guard`): asked before a project is deleted or its settings changed; one may
  refuse by raising `Refused` (governance refuses deleting or irreversibly changing a protected
  project; policy refuses a change that breaks a deny rule);
- the decider (`register_decider`): given an `Action` (who acts, what kind, the exact change and
  how to run it), says whether it runs now or waits for someone (governance's approval);
- page extras (`register_page_extra`): context that a feature adds to a core page (governance's
  protection card on the detail page), with the template that draws it.

With none registered, the core still works on its own: nothing is refused, every action runs now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from audit.services import Actor
from projects.neon import Project

# Sent on commit after a write Neon answered, with `project_id`, `project` (Neon's answer: the
# project as it now is, or as it was deleted; None when a lost answer was found applied),
# `deleted`, `created` and `actor` (who asked).
project_written = Signal()
# Sent on commit after a branch write Neon answered, with `project_id`, `branch` (Neon's
# answer, or the branch as it was read when the write's answer carries none), `schedule` (the
# backup schedule now in force, None if this write did not set it) and `actor`.
branch_written = Signal()


def written(
    project_id: str,
    project: Project | None,
    *,
    actor: Actor,
    deleted: bool = False,
    created: bool = False,
) -> None:
    """Tell the features about a write, once the transaction around it (if any) commits."""
    transaction.on_commit(
        lambda: project_written.send(
            sender=Project,
            project_id=project_id,
            project=project,
            deleted=deleted,
            created=created,
            actor=actor,
        )
    )


def branch_changed(project_id: str, branch, schedule, *, actor: Actor) -> None:
    """Tell the features about a branch write, once the transaction around it (if any) commits."""
    transaction.on_commit(
        lambda: branch_written.send(
            sender=Project, project_id=project_id, branch=branch, schedule=schedule, actor=actor
        )
    )


# --- Guards -------------------------------------------------------------------------------------


class Refused(Exception):
    """A feature's refusal of an action before anything was sent to Neon. `message` is what the
    person reads (and what the audit record keeps); `status` the HTTP status a view answers."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """An action about to touch a project, as a guard sees it. `action` is the audit action
    (`project.delete`, `project.update`); `irreversible`, whether it turns on what cannot be
    turned off."""

    actor: Actor
    action: str
    project_id: str
    project_name: str = ""
    request_data: dict[str, Any] | None = None
    irreversible: bool = False
    bulk_job_id: int | None = None
    # A settings change: the project's state before and the state asked for (project_state's
    # shape), for guards that judge the result (policy's deny rules).
    before: dict[str, Any] | None = None
    desired: dict[str, Any] | None = None
    # An admin's reason to apply what a guard that allows it would refuse (policy); "" none.
    override: str = ""


Guard = Callable[[Attempt], None]
_guards: list[Guard] = []


def register_guard(guard: Guard) -> None:
    """Ask `guard(attempt)` before every delete and settings change; it raises Refused (and
    records why) to stop it. Registering the same guard again changes nothing."""
    if guard not in _guards:
        _guards.append(guard)


def check_guards(attempt: Attempt) -> None:
    """Raise the first guard's Refused, if any guard refuses."""
    for guard in _guards:
        guard(attempt)


# --- Decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Action:
    """Something a person asked for, complete enough to run now or later.

    `kind` names it for approval (`delete`, `irreversible`, `unprotect`, `bulk`); `change` is
    exactly what a later run does (stored with a request); `run()` does it now and returns
    Neon's answer; `before`, the project state it was asked against; `attempt`, what the guards
    are asked first (None: no guard applies). `approval_kinds`: the kinds any of which, when the
    team requires approval for it, make this action wait (default: `kind` alone)."""

    kind: str
    actor: Actor
    summary: str
    change: dict[str, Any]
    run: Callable[[], Any]
    project_id: str = ""
    project_name: str = ""
    before: dict[str, Any] | None = None
    bulk_job_id: int | None = None
    attempt: Attempt | None = None
    approval_kinds: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Done:
    """The action ran: `result` is what `run()` returned (Neon's answer)."""

    result: Any


@dataclass(frozen=True)
class Requested:
    """The action waits for someone: request `request_id`, shown at `url`."""

    request_id: int
    url: str


Decider = Callable[[Action], Done | Requested]
_decider: Decider | None = None


def register_decider(decider: Decider) -> None:
    """Make `decider(action)` the one place that decides whether an action runs now."""
    global _decider
    _decider = decider


def perform(action: Action) -> Done | Requested:
    """Run `action` now, or have it wait, as the registered decider says (now, without one)."""
    if _decider is not None:
        return _decider(action)
    if action.attempt is not None:
        check_guards(action.attempt)
    return Done(action.run())


# --- Page extras ----------------------------------------------------------------------------------

PageExtra = Callable[..., dict[str, Any]]
_page_extras: dict[str, list[PageExtra]] = {}


def register_page_extra(page: str, extra: PageExtra) -> None:
    """Add `extra(request=..., project=..., **details)` (a dict) to `page`'s context. A dict may
    name templates to include under `"cards"` (they are appended, not replaced)."""
    extras = _page_extras.setdefault(page, [])
    if extra not in extras:
        extras.append(extra)


def page_extras(page: str, **details: Any) -> dict[str, Any]:
    """Every registered extra's context for `page`, merged; `cards` collected in order."""
    context: dict[str, Any] = {"cards": []}
    for extra in _page_extras.get(page, ()):
        found = extra(**details)
        context["cards"] += found.pop("cards", [])
        context.update(found)
    return context
