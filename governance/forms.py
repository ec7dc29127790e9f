from django import forms

from governance.models import ApprovalRequest
from projects.forms.reason import REASON_MAX
from projects.forms.reason import ReasonForm as ReasonForm  # governance's pages use it too


class DecisionForm(forms.Form):
    """A second admin's note on approving or rejecting (optional)."""

    note = forms.CharField(
        max_length=REASON_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ApprovalFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Every status"), *ApprovalRequest.Status.choices], required=False
    )

    def status_filter(self) -> str:
        return self.cleaned_data["status"] if self.is_valid() else ""
