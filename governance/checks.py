"""Governance settings must make sense before anyone relies on them."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from governance.models import ApprovalRequest


@checks.register()
def governance_configured(app_configs, **kwargs):
    errors = []
    unknown = sorted(set(settings.APPROVAL_REQUIRED_FOR) - set(ApprovalRequest.Kind.values))
    if unknown:
        errors.append(
            checks.Error(
                f"APPROVAL_REQUIRED_FOR has unknown values: {', '.join(unknown)}.",
                hint=f"Use any of: {', '.join(ApprovalRequest.Kind.values)}.",
                id="governance.E001",
            )
        )
    if settings.APPROVAL_TTL_HOURS < 1:
        errors.append(checks.Error("APPROVAL_TTL_HOURS must be at least 1.", id="governance.E002"))
    url = settings.APPROVAL_WEBHOOK_URL
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        errors.append(
            checks.Error("APPROVAL_WEBHOOK_URL must be an http(s) URL.", id="governance.E003")
        )
    return errors
