"""What can go wrong talking to Neon: one exception class per kind of failure, and the plain
words an operator sees for each. Tests import the messages."""

from __future__ import annotations

from typing import Any

# Messages shown to operators; tests import them.
MSG_LOCKED = "Operations are still running on this project; try again shortly."
MSG_RATE_LIMITED = "Neon is rate limiting requests; try again in a moment."
MSG_UNAVAILABLE = "Neon could not be reached; try again shortly."
MSG_TIMEOUT = (
    "Neon did not answer in time. A change may still have been applied: check before retrying."
)
MSG_CONNECTION_LOST = (
    "The connection to Neon broke before it answered. A change may still have been applied: "
    "check before retrying."
)
MSG_TIMEOUT_READ = "Neon did not answer in time; try again shortly."
MSG_BAD_RESPONSE = "Neon sent a response the dashboard could not read."
MSG_AUTH = "Neon refused the dashboard's API key."
MSG_NOT_FOUND = "Neon has no such object."
MSG_BUDGET_SPENT = (
    "The dashboard has used its share of Neon's request budget for the moment; try again in a "
    "few seconds."
)


class NeonError(Exception):
    """Base class: carries the HTTP status, Neon's error `code`, `message` and `request_id`."""

    default_message = "Neon returned an error."

    def __init__(
        self, message: str = "", *, status: int | None = None, code: str = "", request_id: str = ""
    ) -> None:
        self.message = message or self.default_message
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(self.message)

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.message}{status}"


class NeonAuthError(NeonError):
    default_message = MSG_AUTH


class NeonNotFound(NeonError):
    default_message = MSG_NOT_FOUND


class NeonRejected(NeonError):
    default_message = "Neon rejected the request."


class NeonLocked(NeonError):
    default_message = MSG_LOCKED


class NeonRateLimited(NeonError):
    default_message = MSG_RATE_LIMITED

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class NeonBudgetSpent(NeonRateLimited):
    """Not an answer from Neon: the account budget had no room in time, so nothing was sent."""

    default_message = MSG_BUDGET_SPENT


class NeonUnavailable(NeonError):
    default_message = MSG_UNAVAILABLE


class NeonTimeout(NeonUnavailable):
    default_message = MSG_TIMEOUT


class NeonBadResponse(NeonError):
    default_message = MSG_BAD_RESPONSE


def error_for_status(status: int) -> type[NeonError]:
    if status in (401, 403):
        return NeonAuthError
    if status == 404:
        return NeonNotFound
    if status == 423:
        return NeonLocked
    if status == 429:
        return NeonRateLimited
    if status >= 500:
        return NeonUnavailable
    return NeonRejected
