from django import forms

from governance.models import ApprovalRequest

REASON_MAX = 1000


class ReasonForm(forms.Form):
    """Why: protecting, removing protection, or asking for approval. Kept in the audit log."""

    reason = forms.CharField(
        max_length=REASON_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required


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
