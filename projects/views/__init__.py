"""The dashboard's views, one module per area; what they share lives here."""


def wants_fragment(request) -> bool:
    """An htmx request that swaps a fragment. A history restore after a cache miss is an htmx
    request too, but it replaces the whole body, so it needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request
