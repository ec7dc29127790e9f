"""The policy pages: the file in force, drift per class and rule, and each rule's projects."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor, audited
from bulk.selectors import selection_get
from neonadmin.exports import csv_response, json_response
from neonadmin.htmx import render_page_or_fragment
from neonadmin.roles import Role, role_required
from policy import fixes, loaded, report, selectors, services, tasks
from policy.document import UNCLASSIFIED


@require_GET
@role_required(Role.VIEWER)
def policy_overview(request):
    return render(request, "policy/overview.html", {"overview": selectors.overview()})


@require_GET
@role_required(Role.VIEWER)
def policy_rule(request, rule_id: str):
    state = selectors.rule_state(rule_id)
    if state is None:
        raise Http404("No such rule in the policy in force.")
    rows, next_after = selectors.drift_page(rule_id, after=request.GET.get("after", ""))
    context = {
        "state": state,
        "rows": rows,
        "next_after": next_after,
        "fixable": fixes.fixable(state.rule),
    }
    if request.GET.get("after"):  # Load more: the next rows (the whole page without htmx)
        return render_page_or_fragment(request, "policy/rule.html", context, fragment="rows")
    return render(request, "policy/rule.html", context)


def _report_class(request) -> tuple:
    policy = loaded.current().policy
    klass = request.GET.get("class", "")
    if policy is None or klass not in {c.name for c in policy.classes} | {UNCLASSIFIED}:
        raise Http404("No such class in the policy in force.")
    return policy, klass


@require_GET
@role_required(Role.VIEWER)
def policy_report_csv(request):
    """The class's compliance report: every project against every rule of its class."""
    policy, klass = _report_class(request)
    rows = ([record[c] for c in report.COLUMNS] for record in report.rows(policy, klass))
    return csv_response(f"policy-{klass}.csv", report.COLUMNS, rows)


@require_GET
@role_required(Role.VIEWER)
def policy_report_json(request):
    policy, klass = _report_class(request)
    return json_response(f"policy-{klass}.json", report.rows(policy, klass))


@require_POST
@role_required(Role.OPERATOR)
def policy_fix(request, rule_id: str):
    """Every project out of the rule, as one bulk job: its dry run first, then approval when
    the team asks for it, then apply, on the bulk job's page."""
    state = selectors.rule_state(rule_id)
    if state is None or not fixes.fixable(state.rule):
        raise Http404("No rule in the policy in force that a change can fix.")
    # From a project's page: that project only.
    only = [request.POST["project"]] if request.POST.get("project") else None
    try:
        job = fixes.fix_job(actor=Actor.from_request(request), rule=state.rule, project_ids=only)
    except fixes.NothingToFix as exc:
        messages.error(request, exc.message)
        return redirect("policy:rule", rule_id=rule_id)
    count = job.items.count()
    messages.success(
        request,
        f"A bulk job fixes {count} project{'s' if count != 1 else ''}: its dry run comes first.",
    )
    return redirect("bulk:job", job_id=job.pk)


@require_POST
@role_required(Role.OPERATOR)
def policy_fix_class(request):
    """Everything of a class a change can fix: one bulk job per rule with drift (a bulk job
    makes one kind of change), each with its dry run first; the bulk list shows them."""
    policy = loaded.current().policy
    klass = request.POST.get("class", "")
    if policy is None or klass not in {c.name for c in policy.classes} | {UNCLASSIFIED}:
        raise Http404("No such class in the policy in force.")
    jobs, refused = fixes.fix_class(actor=Actor.from_request(request), policy=policy, klass=klass)
    for message in refused:
        messages.error(request, message)
    if jobs:
        messages.success(
            request,
            f"{len(jobs)} bulk job{'s' if len(jobs) != 1 else ''} fix {klass}: each runs its "
            "dry run first.",
        )
    elif not refused:
        messages.error(request, f"Nothing in {klass} is out of a rule a change can fix.")
    return redirect("bulk:list" if jobs else "policy:overview")


@require_POST
@role_required(Role.ADMIN)
def policy_set_class(request, project_id: str):
    """A class set by hand wins over the file's match rules (audited); empty: back to them."""
    policy = loaded.current().policy
    name = request.POST.get("name", "")
    if policy is None or name not in {c.name for c in policy.classes} | {UNCLASSIFIED, ""}:
        messages.error(request, "Choose one of the policy's classes.")
        return redirect("projects:detail", project_id=project_id)
    services.class_set(
        actor=Actor.from_request(request),
        project_id=project_id,
        name=name,
        reason=request.POST.get("reason", "").strip()[:500],
    )
    messages.success(request, f"Class set: {name or 'as the policy file matches it'}.")
    return redirect("projects:detail", project_id=project_id)


@require_POST
@role_required(Role.ADMIN)
def policy_bulk_class(request):
    """The fleet's selection (ticked rows, or its filters) set to one class by hand: first the
    page that says which projects and asks the class, then, with a class chosen, the change."""
    policy = loaded.current().policy
    query = request.POST.copy()
    chosen, reason = query.pop("class_name", [None])[0], query.pop("reason", [""])[0]
    selection = selection_get(query)
    names = [c.name for c in policy.classes] + [UNCLASSIFIED] if policy else []
    error = ""
    if chosen is not None and not selection.problem:
        if chosen in names or chosen == "":
            services.classes_set(
                actor=Actor.from_request(request),
                projects=[(pid, name) for pid, name, _ in selection.projects()],
                name=chosen,
                reason=reason.strip()[:500],
                selection={"filters": selection.by_filters, "ticked": len(selection.ticked)},
            )
            messages.success(
                request,
                f"{selection.total} project{'s' if selection.total != 1 else ''} "
                f"set to {chosen or 'the class the policy file matches'}.",
            )
            shown = urlencode({"class": chosen}) if chosen else selection.fleet_query
            return redirect(f"{reverse('fleet:list')}?{shown}")
        error = "Choose one of the policy's classes."
    context = {"selection": selection, "names": names, "policy": policy, "error": error}
    return render(request, "policy/bulk_class.html", context)


@require_POST
@role_required(Role.OPERATOR)
def policy_evaluate(request):
    """Evaluate the whole fleet now (after the file changed, say), in the background."""
    with audited(actor=Actor.from_request(request), action="policy.evaluate"):
        tasks.evaluate_policy.enqueue()
    messages.success(request, "The fleet is being evaluated against the policy in force.")
    return redirect("policy:overview")
