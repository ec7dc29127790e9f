from django import forms

from fleet.findings import FINDINGS
from fleet.tally import COST_LABELS

PAGE_SIZE = 100
# Sort keys of the query string → the inventory's columns.
SORTS = {
    "name": "name",
    "org": "org_name",
    "region": "region_id",
    "pg": "pg_version",
    "created": "created_at",
    "active": "last_active_at",
    "storage": "storage_bytes",
    "compute": "compute_time_seconds",
    "written": "written_data_bytes",
    "transfer": "data_transfer_bytes",
    "cu": "cu_max",
    "suspend": "suspend_timeout_seconds",
    "cost": "cost_cents",
}
YES_NO = [("", "Any"), ("yes", "Yes"), ("no", "No")]
DRIFT = [("", "Any"), ("yes", "Out of policy"), ("no", "Within policy")]
EXPOSURE = [
    ("", "Any"),
    ("public", "Open to the internet"),
    ("allowlist", "IP allowlist"),
    ("private", "Public connections blocked"),
]


class FleetFilterForm(forms.Form):
    """The fleet page's query string: every filter, the sort and the paging, so a URL is a view."""

    q = forms.CharField(
        required=False,
        max_length=256,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or ID", "autocomplete": "off"}
        ),
    )
    org = forms.ChoiceField(required=False, label="Organization")
    region = forms.ChoiceField(required=False, label="Region")
    pg = forms.TypedChoiceField(required=False, label="Postgres", coerce=int, empty_value=None)
    idle_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Idle for more than (days)"
    )
    exposure = forms.ChoiceField(required=False, choices=EXPOSURE, label="Network exposure")
    hipaa = forms.ChoiceField(required=False, choices=YES_NO, label="HIPAA")
    logical_replication = forms.ChoiceField(
        required=False, choices=YES_NO, label="Logical replication"
    )
    finding = forms.ChoiceField(
        required=False, choices=[("", "Any")] + [(f.slug, f.title) for f in FINDINGS]
    )
    drift = forms.ChoiceField(required=False, choices=DRIFT, label="Policy")
    cost = forms.ChoiceField(
        required=False,
        label="Cost this month",
        choices=[("", "Any")] + [(v, label) for v, label in COST_LABELS.items() if v],
    )
    cost_over = forms.DecimalField(
        required=False, min_value=0, max_digits=12, decimal_places=2,
        label="Costing more than (USD this month)",
    )  # fmt: skip
    rule = forms.ChoiceField(required=False, label="Out of rule")
    include_gone = forms.BooleanField(required=False, label="Include projects gone from Neon")
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in SORTS] + [(f"-{key}", f"-{key}") for key in SORTS],
        widget=forms.HiddenInput,
    )
    cursor = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, data=None, *, choices: dict, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["org"].choices = [("", "Any")] + choices["org"]
        self.fields["region"].choices = [("", "Any")] + choices["region"]
        self.fields["pg"].choices = [("", "Any")] + choices["pg"]
        # "class" is the query string's name, and a keyword: no class attribute can declare it.
        self.fields["class"] = forms.ChoiceField(
            required=False, label="Class", choices=[("", "Any")] + choices["class"]
        )
        self.fields["rule"].choices = [("", "Any")] + choices["rule"]

    @property
    def classed(self) -> bool:
        """Whether a policy has classed the fleet (the class and drift filters mean something)."""
        return len(self.fields["class"].choices) > 1

    # The filters whose choices show how many rows each would give (the page's facet counts).
    COUNTED = (
        "org", "region", "pg", "exposure", "hipaa", "logical_replication", "class", "drift", "cost",
    )  # fmt: skip

    def show_counts(
        self, facets: dict[str, list[tuple[str, str, int]]], *, approximate: bool = False
    ) -> None:
        """Each choice's label with how many rows it gives, the other filters applied
        (`approximate`: estimates, said with "about")."""
        about = "about " if approximate else ""
        for name in self.COUNTED:
            counts = {value: n for value, _label, n in facets.get(name, ())}
            field = self.fields[name]
            field.choices = [
                (
                    value,
                    label if value == "" else f"{label} ({about}{counts.get(str(value), 0):,})",
                )
                for value, label in field.choices
            ]

    def filters(self) -> dict:
        """The valid parameters; each invalid one (a hand-edited link) falls back on its own."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return {
            "q": data.get("q") or "",
            "org": data.get("org") or "",
            "region": data.get("region") or "",
            "pg": data.get("pg"),
            "idle_days": data.get("idle_days"),
            "exposure": data.get("exposure") or "",
            "hipaa": data.get("hipaa") or "",
            "logical_replication": data.get("logical_replication") or "",
            "finding": data.get("finding") or "",
            "class": data.get("class") or "",
            "drift": data.get("drift") or "",
            "rule": data.get("rule") or "",
            "cost_over": data.get("cost_over"),
            "cost": data.get("cost") or "",
            "include_gone": bool(data.get("include_gone")),
            "sort": data.get("sort") or "name",
            "cursor": data.get("cursor") or "",
        }
