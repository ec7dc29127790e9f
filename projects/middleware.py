from django.shortcuts import render
from django_htmx.http import reswap, retarget

from projects.neon import NeonError, NeonNotFound


class NeonErrorMiddleware:
    """The one place where an unhandled Neon error becomes something an operator can read.

    A full page for normal requests (with a fitting status); for htmx requests the error
    fragment, retargeted into the page's flash area with status 200 so htmx 2 swaps it in and
    the rest of the page stays usable. Views that can do better (a form keeping its input)
    catch the error themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, NeonError):
            return None
        context = {"error": exception}
        if getattr(request, "htmx", False):
            response = render(request, "neon_error.html#error", context)
            return reswap(retarget(response, "#flash"), "innerHTML")
        status = 404 if isinstance(exception, NeonNotFound) else 502
        return render(request, "neon_error.html", context, status=status)
