from projects.neon import current


def age_text(seconds: float) -> str:
    """42 s, 5 min, 3 h, 2 days: how old the data on a stale page is."""
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def stale_banner(stats) -> dict | None:
    age = stats.stale_age
    if age is None:
        return None
    return {"age": age_text(age), "seconds": int(age), "reason": stats.stale_reason}


def neon_stale(request):
    """Whether this page shows Neon's last known answers instead of current ones, and their age."""
    return {"neon_stale": stale_banner(current())}
