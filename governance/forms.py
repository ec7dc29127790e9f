from django import forms

from governance.models import ApprovalRequest
from projects.forms.reason import REASON_MAX
from projects.forms.reason import ReasonForm as ReasonForm  # governance's pages use it too

MSG_CONFIRM_APPROVAL = "Type “%(expected)s” exactly to approve: this cannot be undone here."


class DecisionForm(forms.Form):
    """A second admin's note on approving or rejecting (optional), and, to approve what cannot
    be undone, the project's name (or the number of projects of a bulk delete) typed."""

    note = forms.CharField(
        max_length=REASON_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.CharField(
        max_length=300,
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, expected: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected
        if expected:
            self.fields["confirm"].label = f"Type {expected} to approve"
            self.fields["confirm"].widget.attrs.update(
                {"data-confirm-name": expected, "data-confirm-button": "#approve-button"}
            )

    def confirmed(self) -> bool:
        """Whether approving may go ahead: nothing to type, or typed exactly."""
        if not self.expected:
            return True
        if self.cleaned_data.get("confirm") == self.expected:
            return True
        self.add_error("confirm", MSG_CONFIRM_APPROVAL % {"expected": self.expected})
        return False


class ApprovalFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Every status"), *ApprovalRequest.Status.choices], required=False
    )

    def status_filter(self) -> str:
        return self.cleaned_data["status"] if self.is_valid() else ""
