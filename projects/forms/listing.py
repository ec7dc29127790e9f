from django import forms
from django.conf import settings

PAGE_SIZES = (10, 25, 50, 100, 400)


class ProjectListFilterForm(forms.Form):
    """The list's query string: the same parameters as Neon's list call."""

    search = forms.CharField(
        required=False,
        max_length=256,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or ID", "autocomplete": "off"}
        ),
    )
    org_id = forms.ChoiceField(required=False, label="Organization")
    limit = forms.TypedChoiceField(
        required=False,
        label="Per page",
        coerce=int,
        choices=[(n, str(n)) for n in PAGE_SIZES],
        empty_value=PAGE_SIZES[0],
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_id"].choices = [("", "All organizations")] + [
            (org.id, org.name) for org in organizations
        ]

    def filters(self) -> dict:
        """Valid filters, or the defaults when the query string is off (a bad link still shows
        the list)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "search": data.get("search") or "",
            "org_id": data.get("org_id") or settings.NEON_ORG_ID,
            "limit": data.get("limit") or PAGE_SIZES[0],
            "cursor": data.get("cursor") or None,
        }
