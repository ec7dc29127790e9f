"""What approving each kind of request runs: the executors, registered at start-up by the app
that owns the kind (governance.executors for its own, bulk for bulk jobs)."""

from collections.abc import Callable
from dataclasses import dataclass

from audit.services import Actor
from governance.models import ApprovalRequest


@dataclass(frozen=True)
class Executor:
    execute: Callable[[ApprovalRequest, Actor], str]
    close: Callable[[ApprovalRequest], None] | None = None
    # Rows (label, before_text, after_text) of what approval does, for the request's page.
    describe: Callable[[ApprovalRequest], list] | None = None
    # What the approving admin must type when approving cannot be undone ("" when nothing).
    confirmation: Callable[[ApprovalRequest], str] | None = None


_EXECUTORS: dict[str, Executor] = {}


def register_executor(
    kind: str,
    *,
    execute: Callable[[ApprovalRequest, Actor], str],
    close: Callable[[ApprovalRequest], None] | None = None,
    describe: Callable[[ApprovalRequest], list] | None = None,
    confirmation: Callable[[ApprovalRequest], str] | None = None,
) -> None:
    """Make `execute(request, actor) -> result message` what approving a request of `kind`
    runs (an exception marks the request failed with its message), and `close(request)` what
    runs when one is rejected, cancelled or expired. Registering a kind again replaces it."""
    if kind not in ApprovalRequest.Kind.values:
        raise ValueError(f"Unknown approval kind {kind!r}.")
    _EXECUTORS[kind] = Executor(
        execute=execute, close=close, describe=describe, confirmation=confirmation
    )


def executor_for(kind: str) -> Executor | None:
    return _EXECUTORS.get(kind)


def close(approval: ApprovalRequest) -> None:
    """Run the kind's close hook, if it has one (a request rejected, cancelled or expired)."""
    executor = _EXECUTORS.get(approval.kind)
    if executor and executor.close:
        executor.close(approval)
