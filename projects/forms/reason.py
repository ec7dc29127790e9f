"""Why: deleting a project, protecting one, removing protection, asking for approval. The
audit log keeps it."""

from django import forms

REASON_MAX = 1000


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
