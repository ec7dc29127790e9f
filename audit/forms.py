from django import forms

from audit.models import AuditEvent

PAGE_SIZE = 50


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
        self.fields["action"].widget.choices = [("", "Any action")] + [(a, a) for a in actions]

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
