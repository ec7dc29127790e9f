"""The dashboard's views, one module per area; what they share lives here."""

from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

# Page or fragment is decided in neonadmin.htmx for every app; re-exported for the views here.
from neonadmin.htmx import render_page_or_fragment, wants_fragment

__all__ = ["go", "render_page_or_fragment", "wants_fragment"]


def go(request, url: str):
    """After a successful write: htmx follows HX-Redirect, a plain form a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
