"""Forms that guard access to a project: the typed-name delete and the connection picker."""

from django import forms

MSG_NAME_MISMATCH = "That is not the project's name. Type it exactly as shown (case matters)."
MSG_NO_ENDPOINT = (
    "This branch has no compute endpoint, so nothing can connect to it. Pick another branch."
)
MSG_NO_DATABASE = "This branch has no database to connect to. Pick another branch."
MSG_NO_ROLE = "This branch has no role that can log in. Pick another branch."


class DeleteConfirmForm(forms.Form):
    """The operator types the project's exact name; the server compares it again."""

    name = forms.CharField(
        label="Type the project's name to confirm",
        max_length=256,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, project_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.project_name = project_name
        self.fields["name"].widget.attrs.update(
            {"data-confirm-name": project_name, "data-confirm-button": "#delete-button"}
        )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name != self.project_name:
            raise forms.ValidationError(MSG_NAME_MISMATCH, code="mismatch")
        return name


class ConnectionForm(forms.Form):
    """Which branch, compute, database and role a connection string is for.

    The choices come from Neon (see `selectors.connection_options`). `shown_branch` remembers the
    branch the lists were built for: when the operator picks another branch, the database, role
    and endpoint of the old branch mean nothing there, so they fall back to the new branch's
    defaults instead of being reported as errors.
    """

    branch = forms.ChoiceField(label="Branch")
    endpoint = forms.ChoiceField(
        label="Compute endpoint", help_text="The read-write compute is the usual choice."
    )
    database = forms.ChoiceField(label="Database")
    role = forms.ChoiceField(label="Role")
    pooled = forms.BooleanField(
        label="Connection pooling",
        required=False,
        help_text="Through Neon's PgBouncer (host ends in -pooler). Turn off for migrations, "
        "session settings or LISTEN/NOTIFY.",
    )
    shown_branch = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *, options, **kwargs):
        self.options = options
        defaults = {
            "branch": options.branch.id if options.branch else "",
            "endpoint": options.default_endpoint_id,
            "database": options.default_database_name,
            "role": options.default_role_name,
        }
        if data is None or not data.get("branch"):
            # First visit: the defaults, with pooling on.
            values = {**defaults, "pooled": "on"}
        else:
            values = data.dict() if hasattr(data, "dict") else dict(data)
            switched = values.get("shown_branch") not in (None, "", values["branch"])
            valid = {
                "endpoint": {e.id for e in options.endpoints},
                "database": {d.name for d in options.databases},
                "role": {r.name for r in options.roles},
            }
            for name, allowed in valid.items():
                if not values.get(name) or (switched and values[name] not in allowed):
                    values[name] = defaults[name]
        values["shown_branch"] = values["branch"]
        super().__init__(values, **kwargs)
        self.fields["branch"].choices = [
            (b.id, f"{b.name} (default)" if b.default else b.name) for b in options.branches
        ]
        self.fields["endpoint"].choices = [
            (e.id, f"{'Read-write' if e.read_write else 'Read-only'}: {e.id}")
            for e in options.endpoints
        ]
        self.fields["database"].choices = [(d.name, d.name) for d in options.databases]
        self.fields["role"].choices = [
            (r.name, f"{r.name} (protected)" if r.protected else r.name) for r in options.roles
        ]

    def clean(self):
        cleaned = super().clean()
        # An empty list is the branch's problem, not a wrong pick: say so plainly.
        for name, choices_of, message in (
            ("endpoint", self.options.endpoints, MSG_NO_ENDPOINT),
            ("database", self.options.databases, MSG_NO_DATABASE),
            ("role", self.options.roles, MSG_NO_ROLE),
        ):
            if not choices_of and "branch" in cleaned:
                self.errors.pop(name, None)
                self.add_error(name, message)
        return cleaned

    def connection_params(self) -> dict:
        """The arguments of Neon's connection_uri call."""
        data = self.cleaned_data
        return {
            "branch_id": data["branch"],
            "endpoint_id": data["endpoint"],
            "database_name": data["database"],
            "role_name": data["role"],
            "pooled": data["pooled"],
        }
