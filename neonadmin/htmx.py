"""Page or fragment: the one place that decides which an htmx request gets back.

Every app's views use it, so it lives here rather than in one of them (the audit app must not
import the projects app's views). Modelled on django-htmx-patterns' `for_htmx`.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx request that swaps a fragment. A history restore after a cache miss is an htmx
    request too, but it replaces the whole body, so it needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page_or_fragment(
    request: HttpRequest,
    template: str,
    context: dict | None = None,
    *,
    fragment: str,
    status: int | None = None,
) -> HttpResponse:
    """`template` whole, or its partial `fragment` ("page.html#fragment") when the request
    swaps a fragment. Without JavaScript, and on an htmx history restore, the whole page."""
    name = f"{template}#{fragment}" if wants_fragment(request) else template
    return render(request, name, context, status=status)
