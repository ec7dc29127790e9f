"""Neon's error shape: ``{"code", "message", "request_id"}`` (GeneralError in the spec)."""

# The spec leaves `code` a free string; Neon uses upper-case names such as
# PROJECTS_LIMIT_EXCEEDED, so the emulator does the same.
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    423: "LOCKED",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}

RUNNING_OPERATIONS = "project already has running operations, scheduling of new ones is prohibited"

# Neon's answer, word for word, to a key of a user who belongs only to organizations when it
# lists or creates projects without org_id (HTTP 400; quoted in neondatabase/website#5671 and
# handled by neonctl since neondatabase/neonctl#417).
ORG_ID_REQUIRED = "org_id is required, you can find it on your organization settings page"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "ERROR")
        self.headers = headers or {}
