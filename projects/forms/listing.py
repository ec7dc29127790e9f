from django import forms

PAGE_SIZES = (10, 25, 50, 100, 400)
PERSONAL_ACCOUNT = "Personal account"


class ProjectListFilterForm(forms.Form):
    """The list's query string: the same parameters as Neon's list call.

    Without `org_id` Neon lists the personal account's projects only, so the empty choice is
    the personal account, not "all organizations". The configured organization is where the
    list starts: it fills in `org_id` only when the query string has none, so choosing the
    personal account (`org_id=`) sticks.
    """

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

    def __init__(
        self,
        data=None,
        *args,
        organizations=(),
        default_org_id: str = "",
        personal: bool = True,
        **kwargs,
    ):
        if data is not None and "org_id" not in data:
            data = data.copy()
            data["org_id"] = default_org_id
        super().__init__(data, *args, initial={"org_id": default_org_id}, **kwargs)
        self.fields["org_id"].choices = ([("", PERSONAL_ACCOUNT)] if personal else []) + [
            (org.id, org.name) for org in organizations
        ]

    def filters(self) -> dict:
        """The filters to ask Neon for. Each invalid field (a hand-edited or stale link) falls
        back to its default on its own, so the valid ones still apply."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return {
            "search": data.get("search") or "",
            "org_id": data.get("org_id", self.initial["org_id"]) or "",
            "limit": data.get("limit") or PAGE_SIZES[0],
            "cursor": data.get("cursor") or None,
        }
