"""The dashboard's views, one module per area; what they share lives here."""

from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def wants_fragment(request) -> bool:
    """An htmx request that swaps a fragment. A history restore after a cache miss is an htmx
    request too, but it replaces the whole body, so it needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def go(request, url: str):
    """After a successful write: htmx follows HX-Redirect, a plain form a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
