"""Bulk changes: choose a change for a fleet selection, review its dry run, apply, follow, stop."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import Actor
from bulk import selectors, services
from bulk.changes import KINDS
from bulk.forms import MSG_DELETE_ADMIN, ApplyForm, BulkChangeForm
from bulk.models import BulkJob
from governance.expiry import approval_expire_due
from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, has_role, refuse, role_required
from projects.selectors import compute_limits
from projects.views import go

NEW = "bulk/bulk_new.html"
FROM_FLEET = "from_fleet"  # the fleet's "Bulk change…" posts its selection, no change yet
JOB = "bulk/bulk_job.html"


@require_GET
@role_required(Role.VIEWER)
def bulk_list(request):
    approval_expire_due()
    return render_page_or_fragment(
        request, "bulk/bulk_list.html", {"jobs": selectors.job_list()}, fragment="jobs"
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR, audit_action="bulk.create")
def bulk_new(request):
    """The fleet's selection (its filters, or the ticked rows: posted, since 500 ticked rows make
    no URL a server accepts) first; then the change, posted with `kind`, starts the dry run.
    Nothing is sent to Neon but reads until the dry run is applied."""
    posted = request.method == "POST"
    selection = selectors.selection_get(request.POST if posted else request.GET)
    is_admin = has_role(request.user, Role.ADMIN)
    choosing = posted and FROM_FLEET in request.POST  # the selection, posted by the fleet
    posted = posted and not choosing
    form = BulkChangeForm(
        request.POST if posted else None, limits=compute_limits(), is_admin=is_admin
    )
    context = {"form": form, "selection": selection, "from_fleet": FROM_FLEET}
    asked = KINDS.get(request.POST.get("kind", "")) if posted else None
    if asked and asked.admin_only and not is_admin:
        refuse(request, Role.ADMIN, audit_action="bulk.create", message=MSG_DELETE_ADMIN)
    if posted and form.is_valid():
        kind, params = form.change()
        if not selection.problem:
            job = services.job_create(
                actor=Actor.from_request(request),
                kind=kind,
                params=params,
                selection=selection.as_record(),
                projects=selection.projects(),
            )
            return go(request, reverse("bulk:job", args=[job.pk]))
    return render_page_or_fragment(request, NEW, context, fragment="form")


def _job_context(request, job: BulkJob, **extra) -> dict:
    progress = selectors.job_progress(job)
    may_apply = has_role(request.user, Role.ADMIN if KINDS[job.kind].admin_only else Role.OPERATOR)
    return {
        "job": job,
        "progress": progress,
        "percent": progress.percent(job),
        "items": selectors.job_items(job, page=request.GET.get("page")),
        "read_since": selectors.job_read_since(job) if job.planned_at else None,
        "may_act": may_apply,
        "needs_approval": services.needs_approval(job),
        "apply_form": extra.pop("apply_form", None)
        or ApplyForm(job_kind=job.kind, count=progress.to_change),
        **extra,
    }


@require_GET
@role_required(Role.VIEWER)
def bulk_job(request, job_id: int):
    approval_expire_due()  # a job whose approval expired is shown as not approved, not waiting
    job = selectors.job_get(job_id=job_id)
    return render_page_or_fragment(request, JOB, _job_context(request, job), fragment="job")


def _act(request, job_id: int, step) -> BulkJob:
    """One of the job's buttons, by someone allowed to apply this kind of job."""
    job = selectors.job_get(job_id=job_id)
    if KINDS[job.kind].admin_only and not has_role(request.user, Role.ADMIN):
        refuse(request, Role.ADMIN, audit_action=f"bulk.{step}", message=MSG_DELETE_ADMIN)
    return job


@require_POST
@role_required(Role.OPERATOR, audit_action="bulk.apply")
def bulk_apply(request, job_id: int):
    job = _act(request, job_id, "apply")
    progress = selectors.job_progress(job)
    form = ApplyForm(request.POST, job_kind=job.kind, count=progress.to_change)
    if not form.is_valid():
        context = _job_context(request, job, apply_form=form)
        return render_page_or_fragment(request, JOB, context, fragment="job")
    try:
        job = services.job_apply(actor=Actor.from_request(request), job=job)
    except services.JobStateError as exc:
        messages.error(request, exc.message)
        job.refresh_from_db()
    else:
        if job.status == BulkJob.Status.AWAITING_APPROVAL:
            messages.info(request, "Sent for approval: a second admin must approve this job.")
    return _back(request, job)


@require_POST
@role_required(Role.OPERATOR, audit_action="bulk.stop")
def bulk_stop(request, job_id: int):
    return _button(request, job_id, "stop", services.job_stop)


@require_POST
@role_required(Role.OPERATOR, audit_action="bulk.discard")
def bulk_discard(request, job_id: int):
    return _button(request, job_id, "discard", services.job_discard)


@require_POST
@role_required(Role.OPERATOR, audit_action="bulk.resume")
def bulk_resume(request, job_id: int):
    return _button(request, job_id, "resume", services.job_resume)


@require_POST
@role_required(Role.OPERATOR, audit_action="bulk.recheck")
def bulk_recheck(request, job_id: int):
    return _button(request, job_id, "recheck", services.job_recheck)


def _button(request, job_id: int, step: str, service):
    job = _act(request, job_id, step)
    try:
        job = service(actor=Actor.from_request(request), job=job)
    except services.JobStateError as exc:
        messages.error(request, exc.message)
        job.refresh_from_db()
    return _back(request, job)


def _back(request, job: BulkJob):
    """After a button: htmx swaps the job's panel in place; a plain form goes back to the page."""
    if request.htmx:
        return render_page_or_fragment(request, JOB, _job_context(request, job), fragment="job")
    return redirect("bulk:job", job.pk)
