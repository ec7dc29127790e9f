"""Grace periods: a rule's `notify_after` tells the team of drift that old (0m: as soon as it
is found), and its `fix_after`, where the policy file allows automatic fixes (`auto_fix: true`),
opens the fix job itself as the system actor once drift is that old; the next pass applies the
job when its dry run is done, through approval when the team asks for it. Each drift row is
told of once and put in one fix job once, whatever the number of passes; every step is in the
audit log. A pass follows each evaluation of the whole fleet (after each refresh)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from audit.services import Actor, audited
from bulk import services as bulk_services
from bulk.models import BulkJob
from fleet.inventory import record_projects
from fleet.models import InventoryDetail, InventoryProject
from governance import notify
from policy import fixes
from policy.catalog import KINDS
from policy.document import Policy, Rule
from policy.models import Drift
from projects.neon import NeonError, Project, begin_request, end_request, get_client

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
    ids = list(due.values_list("project_id", flat=True))
    if not ids:
        return 0
    owners = owners_of(ids) if settings.POLICY_NOTIFY_OWNERS else {}
    with transaction.atomic():
        count = Drift.objects.filter(rule_id=rule.id, project_id__in=ids).update(notified_at=now)
        kind = KINDS[rule.kind]
        text = (
            f"[Neon Admin] Policy drift: {count} project{'s' if count != 1 else ''} of class "
            f"{rule.klass} out of “{kind.label}” ({rule.severity}). {kind.fix}"
        )
        with audited(
            actor=SYSTEM,
            action="policy.notify",
            request_data={"rule": rule.id, "projects": count, "owners": len(owners)},
        ):
            transaction.on_commit(lambda: policy_notify.enqueue(text))
            for email, projects in owners.items():
                told = owner_text(rule, projects)
                transaction.on_commit(lambda e=email, t=told: policy_notify.enqueue(t, [e]))
    return count


def owners_of(project_ids: list[str]) -> dict[str, list[str]]:
    """The projects' names by their owner's address: known from a full read of each project
    (InventoryDetail), or read now, at most POLICY_OWNER_READS a pass, at background priority
    (those beyond wait for a later pass's notice)."""
    known = dict(
        InventoryDetail.objects.filter(project_id__in=project_ids)
        .exclude(owner_email="")
        .values_list("project_id", "owner_email")
    )
    missing = [pid for pid in project_ids if pid not in known][: settings.POLICY_OWNER_READS]
    if missing:
        token = begin_request(priority="background", allow_stale=False)[1]
        try:
            reads = get_client().together(*[partial(_read, pid) for pid in missing])
        finally:
            end_request(token)
        read = [project for project in reads if isinstance(project, Project)]
        for detail in record_projects(read, full=True):
            if detail.owner_email:
                known[detail.project_id] = detail.owner_email
    names = dict(
        InventoryProject.objects.filter(project_id__in=known).values_list("project_id", "name")
    )
    owners: dict[str, list[str]] = defaultdict(list)
    for pid, email in known.items():
        owners[email].append(names.get(pid, pid))
    return {email: sorted(projects) for email, projects in owners.items()}


def _read(project_id: str) -> Project | NeonError:
    try:
        return get_client().get_project(project_id)
    except NeonError as exc:
        return exc


def owner_text(rule: Rule, projects: list[str]) -> str:
    kind = KINDS[rule.kind]
    shown = ", ".join(projects[:20]) + (
        f" and {len(projects) - 20} more" if len(projects) > 20 else ""
    )
    return (
        f"[Neon Admin] Your project{'s' if len(projects) != 1 else ''} {shown} "
        f"{'are' if len(projects) != 1 else 'is'} out of the {rule.klass} policy: "
        f"“{kind.label}” ({rule.severity}). {kind.why} {kind.fix}"
    )


@task()
def policy_notify(text: str, recipients: list[str] | None = None) -> dict:
    """A drift notice: to the team by its channels (governance's: mail and the webhook), or,
    with `recipients`, to those project owners by mail."""
    if recipients:
        return {"email": send_mail(text.splitlines()[0][:200], text, None, recipients)}
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
