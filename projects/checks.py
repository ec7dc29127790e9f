"""The gateway's settings must make sense before the first page asks Neon anything."""

from django.conf import settings
from django.core import checks

from projects.neon import parse_rate


@checks.register()
def gateway_configured(app_configs, **kwargs):
    errors = []
    for name in ("NEON_RATE_LIMIT", "NEON_ROUTE_BURST"):
        try:
            parse_rate(getattr(settings, name), name)
        except ValueError as exc:
            errors.append(checks.Error(str(exc), id="projects.E001"))
    if not 0 < settings.NEON_BUDGET_LOCAL_SHARE <= 1:
        errors.append(
            checks.Error(
                "NEON_BUDGET_LOCAL_SHARE must be above 0 and at most 1.", id="projects.E002"
            )
        )
    negative = [
        name
        for name in (
            "NEON_BUDGET_WAIT",
            "NEON_BUDGET_MAX_WAIT",
            "NEON_CACHE_SECONDS",
            "NEON_STALE_SECONDS",
        )
        if getattr(settings, name) < 0
    ]
    if settings.NEON_FANOUT_THREADS < 1:
        negative.append("NEON_FANOUT_THREADS")
    errors += [
        checks.Error(f"{name} must not be negative (threads: at least 1).", id="projects.E003")
        for name in negative
    ]
    return errors
