import math

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.http import reswap, retarget

from projects.context_processors import stale_banner
from projects.neon import (
    NeonError,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    begin_request,
    end_request,
)

MSG_FORBIDDEN = "You do not have permission to do that."

# The status of the error page, first match wins. The dashboard is a gateway to Neon: a failure
# upstream (unreachable, 5xx, unreadable answer, our API key refused) is a 502, a timeout a 504.
# What Neon refuses about the request itself keeps its meaning for the caller.
PAGE_STATUS = (
    (NeonNotFound, 404),
    (NeonRejected, 400),  # 409 when Neon said 409, see page_status()
    (NeonLocked, 409),  # operations still running: retry later
    (NeonRateLimited, 503),  # with Retry-After: Neon limits the dashboard's key, not this person
    (NeonTimeout, 504),
    (NeonError, 502),
)


def page_status(error: NeonError) -> int:
    if isinstance(error, NeonRejected) and error.status == 409:
        return 409
    return next(status for kind, status in PAGE_STATUS if isinstance(error, kind))


class NeonErrorMiddleware:
    """The one place where an unhandled Neon error or a refused permission becomes something a
    person can read.

    Normal requests get a full error page with a fitting status (PAGE_STATUS); a refused
    permission is left to Django's 403 page. htmx requests get the error fragment, retargeted
    into the page's flash area with status 200, because htmx 2 swaps 2xx only: a 403 or 502
    would leave the page silently unchanged. Views that can do better (a form keeping its
    input, a panel showing its own error) catch the error themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            if not getattr(request, "htmx", False):
                return None  # Django's 403 page, with its status
            context = {"error": {"message": str(exception) or MSG_FORBIDDEN, "status": 403}}
            return self._flash(request, context)
        if not isinstance(exception, NeonError):
            return None
        context = {"error": exception}
        if getattr(request, "htmx", False):
            return self._flash(request, context)
        response = render(request, "neon_error.html", context, status=page_status(exception))
        retry_after = getattr(exception, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(math.ceil(retry_after))
        return response

    @staticmethod
    def _flash(request, context):
        response = render(request, "neon_error.html#error", context)
        return reswap(retarget(response, "#flash"), "innerHTML")


class NeonGatewayMiddleware:
    """Starts each request's Neon stats and reports them.

    - Only GET and HEAD may be answered from Neon's last known data when Neon fails: a form
      that writes must judge against the project as it is, or fail clearly.
    - Every response gets a `Server-Timing` header: time in Neon, calls made, cache hits and
      shared calls, budget waits, and the whole server time.
    - An htmx fragment built from stale data brings the stale banner along, out of band, since
      the page around it does not reload.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        stats, token = begin_request(allow_stale=request.method in ("GET", "HEAD"))
        try:
            response = self.get_response(request)
        finally:
            end_request(token)
        response["Server-Timing"] = stats.server_timing()
        if (
            getattr(request, "htmx", False)
            and stats.stale_since is not None
            and response.get("Content-Type", "").startswith("text/html")
            and not response.streaming
        ):
            banner = render_to_string(
                "neon_stale.html#banner",
                {"neon_stale": stale_banner(stats), "oob": True},
            )
            response.content += banner.encode()
        return response
