from django.utils.functional import SimpleLazyObject

from governance.selectors import approval_pending_count


def approvals(request):
    """The nav's pending count, counted only on pages that show it (one query)."""
    if not getattr(getattr(request, "user", None), "is_authenticated", False):
        return {}
    return {"approvals_pending": SimpleLazyObject(approval_pending_count)}
