"""Grace periods: a rule's `notify_after` tells the team of drift that old (0m: as soon as it
is found), and its `fix_after`, where the policy file allows automatic fixes (`auto_fix: true`),
opens the fix job itself as the system actor once drift is that old; the next pass applies the
job when its dry run is done, through approval when the team asks for it. Each drift row is
told of once and put in one fix job once, whatever the number of passes; every step is in the
audit log. A pass follows each evaluation of the whole fleet (after each refresh)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from audit.services import Actor, audited
from bulk import services as bulk_services
from bulk.models import BulkJob
from governance import notify
from policy import fixes
from policy.catalog import KINDS
from policy.document import Policy, Rule
from policy.models import Drift

logger = logging.getLogger(__name__)
SYSTEM = Actor(username="system (policy)")


def run(policy: Policy, *, now: datetime | None = None) -> dict[str, list]:
    """One pass; returns what it did: notices (rule, projects) and jobs opened and applied."""
    now = now or timezone.now()
    done: dict[str, list] = {"notified": [], "opened": [], "applied": []}
    for rule in policy.rules:
        if rule.notify_after is not None:
            count = _notify(rule, now)
            if count:
                done["notified"].append((rule.id, count))
        if rule.fix_after is not None and policy.auto_fix and fixes.fixable(rule):
            job = _open_fix(rule, now)
            if job is not None:
                done["opened"].append((rule.id, job.pk))
    done["applied"] = _apply_planned()
    return done


def _notify(rule: Rule, now: datetime) -> int:
    due = Drift.objects.filter(
        rule_id=rule.id, notified_at__isnull=True, since__lte=now - rule.notify_after
    )
    with transaction.atomic():
        count = due.update(notified_at=now)
        if count:
            text = (
                f"[Neon Admin] Policy drift: {count} project{'s' if count != 1 else ''} of class "
                f"{rule.klass} out of “{KINDS[rule.kind].label}” ({rule.severity}). "
                f"{KINDS[rule.kind].fix}"
            )
            with audited(
                actor=SYSTEM,
                action="policy.notify",
                request_data={"rule": rule.id, "projects": count},
            ):
                transaction.on_commit(lambda: _send_later(text))
    return count


def _send_later(text: str) -> None:
    policy_notify.enqueue(text)


@task()
def policy_notify(text: str) -> dict:
    """A drift notice, by the team's channels (governance's: mail and the webhook)."""
    return {"email": notify.send_email(text), "webhook": notify.send_webhook(text)}


def _open_fix(rule: Rule, now: datetime) -> BulkJob | None:
    due = Drift.objects.filter(
        rule_id=rule.id, fix_job_id__isnull=True, since__lte=now - rule.fix_after
    )
    ids = list(due.values_list("project_id", flat=True))
    if not ids:
        return None
    try:
        job = fixes.fix_job(actor=SYSTEM, rule=rule, project_ids=ids)
    except fixes.NothingToFix as exc:
        logger.warning("policy %s: no fix job opened: %s", rule.id, exc.message)
        return None
    Drift.objects.filter(rule_id=rule.id, project_id__in=ids).update(fix_job_id=job.pk)
    return job


def _apply_planned() -> list[int]:
    """Fix jobs the policy opened whose dry run is done: Apply, as a person would (approval
    when the team asks for it decides whether it runs now)."""
    applied = []
    opened = Drift.objects.filter(fix_job_id__isnull=False).values("fix_job_id").distinct()
    for job in BulkJob.objects.filter(
        pk__in=opened, status=BulkJob.Status.PLANNED, created_by=SYSTEM.username
    ):
        bulk_services.job_apply(actor=SYSTEM, job=job)
        applied.append(job.pk)
    return applied
