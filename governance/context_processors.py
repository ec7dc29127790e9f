from django.utils.functional import SimpleLazyObject

from governance.selectors import approval_pending_count_shown


def approvals(request):
    """The nav's pending count, only on pages that show it (cached, see governance.selectors)."""
    if not getattr(getattr(request, "user", None), "is_authenticated", False):
        return {}
    return {"approvals_pending": SimpleLazyObject(approval_pending_count_shown)}
