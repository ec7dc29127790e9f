"""Fault drills of bulk apply: Neon answering 423, 429 and 503, or losing its answers, while a
job runs. Every project ends changed once or reported, and none is changed twice: counted as
the PATCHes that reached the emulator's API, which are the ones it answered plus those its
injected faults refused (a fault that fires answers before the API, so it applies nothing)."""

import pytest

from audit.models import AuditEvent
from bulk import apply as bulk_apply
from bulk.models import BulkItem, BulkJob
from projects.neon import NeonUnavailable, get_client
from tests.bulk.jobs import PATCH, PROJECT, SUSPEND, new_job, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def apply(client, job: BulkJob) -> BulkJob:
    client.post(f"/bulk/{job.pk}/apply/")
    run_worker()
    job.refresh_from_db()
    return job


def test_locked_rate_limited_and_unavailable_each_change_once_or_are_reported(
    operator_client, fleet, neon, settings
):
    settings.BULK_RETRY_SECONDS = 0.05
    job = new_job(operator_client, SUSPEND)
    planned = list(job.items.filter(verdict=BulkItem.Verdict.CHANGE))
    assert len(planned) >= 10
    armed = [
        {"method": "PATCH", "path_prefix": PROJECT, "status": 423, "count": 7},
        {"method": "PATCH", "path_prefix": PROJECT, "status": 429, "count": 2, "retry_after": 1},
        {"method": "PATCH", "path_prefix": PROJECT, "status": 503, "count": 7},
    ]  # one after another: the first PATCHes are locked, then rate limited, then unavailable
    neon.set_faults(*armed)
    neon.clear_stats()

    job = apply(operator_client, job)

    assert job.status == BulkJob.Status.FINISHED
    outcomes = dict(job.items.filter(verdict="change").values_list("project_id", "outcome"))
    assert set(outcomes.values()) <= {BulkItem.Outcome.CHANGED, BulkItem.Outcome.FAILED}
    changed = [pid for pid, outcome in outcomes.items() if outcome == BulkItem.Outcome.CHANGED]
    assert neon.faults() == []  # every fault fired: the drill drilled
    refused_by_faults = sum(f["count"] for f in armed)
    assert neon.stats()[PATCH] == len(changed) + refused_by_faults  # none sent twice and applied
    client = get_client()
    for pid in changed:
        assert client.get_project(pid).endpoint_defaults.suspend_timeout_seconds == 1200
    records = AuditEvent.objects.filter(bulk_job_id=job.pk, action="project.update")
    assert sorted(records.values_list("project_id", flat=True)) == sorted(outcomes)


def test_a_lost_answer_is_read_back_never_sent_again(operator_client, fleet, neon, settings):
    """A PATCH applied whose answer never came (the connection hung up): the job reads the
    project back, finds the change there, and does not send it a second time."""
    settings.BULK_RETRY_SECONDS = 0.05
    settings.NEON_READ_TIMEOUT = 1.0
    job = new_job(operator_client, {**SUSPEND, "suspend_timeout_seconds": "1500"})
    planned = job.items.filter(verdict=BulkItem.Verdict.CHANGE).count()
    neon.set_faults(method="PATCH", path_prefix=PROJECT, hang=True, hang_seconds=2,
                    after_apply=True, count=2)  # fmt: skip
    neon.clear_stats()

    job = apply(operator_client, job)

    assert job.status == BulkJob.Status.FINISHED
    assert job.items.filter(outcome=BulkItem.Outcome.CHANGED).count() == planned
    assert neon.stats()[PATCH] == planned  # the two lost answers were not sent again
    assert "after the worker" not in "".join(job.items.values_list("outcome_message", flat=True))


def test_a_locked_project_is_followed_until_its_operations_finish(
    operator_client, fleet, neon, settings
):
    """Neon's 423: the job reads the project's operations until they finish, then sends."""
    settings.BULK_RETRY_SECONDS = 0.1
    settings.NEON_MAX_ATTEMPTS = 1  # no transport retries: the job's own waiting is what counts
    row = fleet.filter(org_id="", shared=False).order_by("name").first()
    job = new_job(operator_client, SUSPEND, {"project": [row.project_id]})
    assert job.items.get().verdict == BulkItem.Verdict.CHANGE
    # Someone else's change starts operations on the project's computes: Neon answers 423 to
    # writes until they finish (the emulator's take half a second).
    client = get_client()
    client.update_project(row.project_id, {"default_endpoint_settings": {"pg_settings": {}}})
    neon.clear_stats()

    job = apply(operator_client, job)

    item = job.items.get()
    assert item.outcome == BulkItem.Outcome.CHANGED, item.outcome_message
    stats = neon.stats()
    assert stats.get("GET /api/v2/projects/{project_id}/operations", 0) >= 1
    assert stats[PATCH] == 2  # one refused with 423 (nothing applied), one applied
    assert client.get_project(row.project_id).endpoint_defaults.suspend_timeout_seconds == 1200


def test_a_lost_answer_that_cannot_be_read_back_is_unknown_then_settled_by_a_later_read(
    operator_client, fleet, neon, settings, monkeypatch
):
    """The answer to a PATCH is lost (502 after Neon applied it) and the project cannot be read
    back then: the item is 'unknown', never sent again; 'Check again' reads it and finds it
    changed. Counted as the PATCHes that reached the emulator."""
    settings.BULK_RETRY_SECONDS = 0.01
    row = fleet.filter(org_id="", shared=False).order_by("name").first()
    job = new_job(operator_client, {**SUSPEND, "suspend_timeout_seconds": "1700"},
                  {"project": [row.project_id]})  # fmt: skip
    neon.set_faults(method="PATCH", path_prefix=PROJECT, status=502, after_apply=True, count=1)
    neon.clear_stats()

    def unreadable(_job, _project_id):
        raise NeonUnavailable("Service unavailable", status=503)

    with monkeypatch.context() as patch:
        patch.setattr(bulk_apply, "_landed", unreadable)
        job = apply(operator_client, job)
    item = job.items.get()
    assert item.outcome == BulkItem.Outcome.UNKNOWN and "not sent again" in item.outcome_message
    assert neon.stats()[PATCH] == 1
    page = operator_client.get(f"/bulk/{job.pk}/").content.decode()
    assert "Check again" in page and 'data-outcome-count="unknown">1<' in page

    operator_client.post(f"/bulk/{job.pk}/recheck/")
    run_worker()
    item.refresh_from_db()
    job.refresh_from_db()
    assert item.outcome == BulkItem.Outcome.CHANGED and job.status == BulkJob.Status.FINISHED
    assert neon.stats()[PATCH] == 1  # read, found applied, never sent twice
    assert AuditEvent.objects.filter(action="bulk.recheck", bulk_job_id=job.pk).exists()


def test_check_again_that_still_cannot_read_keeps_it_unknown(
    operator_client, fleet, neon, settings, monkeypatch
):
    settings.BULK_RETRY_SECONDS = 0.01
    settings.BULK_ITEM_ATTEMPTS = 2
    row = fleet.filter(org_id="", shared=False).order_by("name").first()
    job = new_job(operator_client, {**SUSPEND, "suspend_timeout_seconds": "1800"},
                  {"project": [row.project_id]})  # fmt: skip
    neon.set_faults(method="PATCH", path_prefix=PROJECT, status=502, after_apply=True, count=1)

    def unreadable(_job, _project_id):
        raise NeonUnavailable("Service unavailable", status=503)

    with monkeypatch.context() as patch:
        patch.setattr(bulk_apply, "_landed", unreadable)
        job = apply(operator_client, job)
    assert job.items.get().outcome == BulkItem.Outcome.UNKNOWN
    neon.set_faults(method="GET", path_prefix=f"{PROJECT.rstrip('/')}/{row.project_id}",
                    status=503, count=20)  # fmt: skip
    neon.clear_stats()
    operator_client.post(f"/bulk/{job.pk}/recheck/")
    run_worker()
    item = job.items.get()
    assert item.outcome == BulkItem.Outcome.UNKNOWN  # still unread: not "failed", not resent
    assert neon.stats().get(PATCH, 0) == 0
