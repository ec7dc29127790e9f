from django import forms

from audit.models import AuditEvent

PAGE_SIZE = 50
# What each recorded action reads as; an action not listed here shows as recorded.
ACTION_LABELS = {
    "project.create": "Create a project",
    "project.update": "Change settings",
    "project.delete": "Delete a project",
    "project.recover": "Recover a project",
    "connection.reveal": "Reveal a connection password",
    "branch.update": "Protect or unprotect a branch",
    "cost.sync": "Sync consumption",
    "cost.spending_limit": "Set an organization's spending limit",
    "cost.budget": "Set or stop a class's budget",
    "cost.budget_alert": "Tell the team of a budget passed",
    "branch.backup_schedule": "Set a branch's backup schedule",
    "policy.evaluate": "Evaluate the fleet against the policy",
    "policy.class": "Set a project's policy class",
    "policy.override": "Apply a change against the policy",
    "policy.notify": "Tell the team of policy drift",
    "project.protect": "Protect a project",
    "project.unprotect": "Remove protection",
    "approval.request": "Ask for approval",
    "approval.approve": "Approve a request",
    "approval.reject": "Reject a request",
    "approval.cancel": "Withdraw a request",
    "approval.expire": "Request expired",
    "bulk.create": "Start a bulk dry run",
    "bulk.apply": "Apply a bulk job",
    "bulk.stop": "Stop a bulk job",
    "bulk.discard": "Discard a bulk job",
    "bulk.resume": "Resume a bulk job",
    "bulk.recheck": "Check a bulk job's unknown changes",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


class AuditFilterForm(forms.Form):
    """The audit page's query string, shared by the page, "load more" and the CSV export."""

    person = forms.CharField(
        required=False,
        max_length=254,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Email or subject", "autocomplete": "off"}
        ),
    )
    project = forms.CharField(
        required=False,
        max_length=256,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or ID", "autocomplete": "off"}
        ),
    )
    # Free text on the server (new actions appear as services are added); a list in the browser.
    action = forms.CharField(required=False, max_length=64, widget=forms.Select)
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEvent.Outcome.choices]
    )
    # The records of one bulk job (its page links here).
    bulk_job = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # The records of one approval request: asked, decided, and what approving it ran.
    approval = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = sorted((action_label(a), a) for a in actions)
        self.fields["action"].widget.choices = [("", "Any action")] + [
            (action, label) for label, action in choices
        ]

    def filters(self) -> dict:
        """Valid filters; a bad query string shows the unfiltered log rather than an error."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "person": (data.get("person") or "").strip(),
            "project": (data.get("project") or "").strip(),
            "action": (data.get("action") or "").strip(),
            "outcome": data.get("outcome") or "",
            "bulk_job": data.get("bulk_job"),
            "approval": data.get("approval"),
        }

    def page_cursor(self) -> str:
        return (self.cleaned_data.get("cursor") or "") if self.is_valid() else ""
