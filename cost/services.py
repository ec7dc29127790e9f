"""Writes of the cost app: the sync's start, and an organization's spending limit (audited)."""

from __future__ import annotations

from django.conf import settings

from audit.services import Actor, audited
from cost import tasks
from cost.models import OrgSync, SyncRun
from projects.neon import get_client


def on_refreshed(**_) -> None:
    """fleet.inventory.refreshed: the inventory knows every project now; their consumption
    follows, in the background (at most one sync at a time), unless COST_SYNC is off."""
    if settings.COST_SYNC:
        tasks.start_sync(requested_by="system (refresh)")


def sync_start(*, actor: Actor) -> SyncRun:
    with audited(actor=actor, action="cost.sync"):
        return tasks.start_sync(requested_by=actor.username)


def spending_limit_set(*, actor: Actor, org_id: str, cents: int | None) -> int | None:
    """Set the organization's monthly cap in cents, or take it away (None). Neon's cap only
    sends e-mails at 80 % and 100 %: nothing is suspended (per-project quotas are)."""
    state = OrgSync.objects.filter(org_id=org_id).first()
    before = state.spending_limit_cents if state else None
    with audited(
        actor=actor,
        action="cost.spending_limit",
        request_data={"org_id": org_id, "spending_limit_cents": cents},
    ) as entry:
        entry.changes = {"spending_limit_cents": {"before": before, "after": cents}}
        client = get_client()
        if cents is None:
            client.delete_spending_limit(org_id, request_id=entry.request_id)
            now = None
        else:
            now = client.set_spending_limit(org_id, cents, request_id=entry.request_id)
        entry.status = 200
    OrgSync.objects.update_or_create(
        org_id=org_id, defaults={"spending_limit_cents": now, "spending_limit_known": True}
    )
    return now
