"""The create and settings forms of a project.

Every documented range is written once, as field arguments, so the browser gets the same
`min`/`max`/`step`/`required` the server enforces. What Neon would refuse across fields (compute
sizes, the maintenance window, the key's permission) is `projects.rules`, which `clean()` asks
with the values the fields give; the bulk dry run asks the same rules of a whole state.

The settings form starts from and returns a project state (`projects.project_state`), the one
description of the update request's shape; every field shows the value Neon holds exactly, so a
form left alone returns the state it was given and nothing is sent.

Left out on purpose: the deprecated top-level `autoscaling_limit_*_cu` (the same values go in
`default_endpoint_settings`) and `pgbouncer_settings` (deprecated, sunset 2026-06-20).
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any

from django import forms
from django.core import signing
from django.core.validators import RegexValidator

from projects.compute import ComputeLimits
from projects.forms.fields import (
    MAX_PG_IDENTIFIER_BYTES,
    MSG_NOT_AN_IDENTIFIER,
    MSG_TOO_LONG_BYTES,
    IdentifierListField,
    IPAllowlistField,
    KeyValueField,
    QuantityField,
    max_bytes,
)
from projects.forms.listing import PERSONAL_ACCOUNT
from projects.neon import Organization, PreloadLibrary, Project, Region
from projects.permissions import refusal
from projects.project_state import (
    BYTE_UNITS,
    SUSPEND_DEFAULT,
    SUSPEND_NEVER,
    TIME_UNITS,
    Change,
    diff,
    project_state,
    rebase,
)
from projects.rules import (
    INT64_MAX,
    MAX_HISTORY_RETENTION_SECONDS,
    MSG_HIPAA_OFF,
    MSG_LOGICAL_REPLICATION_OFF,
    MSG_RETENTION_TOO_LONG,
    MSG_WINDOW_EMPTY,
    MSG_WINDOW_INCOMPLETE,
    MSG_WINDOW_REMOVE,
    SUSPEND_MAX_SECONDS,
    SUSPEND_MIN_SECONDS,
    Violation,
    compute,
    compute_touched,
    maintenance_window,
    permission,
)

__all__ = [  # re-exported for the tests and views that import them from here
    "MAX_PG_IDENTIFIER_BYTES",
    "MSG_NOT_AN_IDENTIFIER",
    "MSG_TOO_LONG_BYTES",
    "MSG_WINDOW_EMPTY",
    "MSG_WINDOW_INCOMPLETE",
    "MSG_WINDOW_REMOVE",
]

# --- Documented limits (Neon API v2 spec) -------------------------------------------------------

DAY = 86400
GIB = 2**30
PG_VERSIONS = (14, 15, 16, 17, 18)
PG_VERSION_DEFAULT = 17
# The create form offers these two; `serverless-platform` is shown only on a project that has it.
PROVISIONERS = ("k8s-pod", "k8s-neonvm")
AUDIT_LOG_LEVELS = ("base", "extended", "full")
WEEKDAYS = (
    (1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday"),
    (6, "Saturday"), (7, "Sunday"),
)  # fmt: skip
MAX_ANNOTATIONS = 50
MAX_NAME_LENGTH = 256
HH_MM = r"([01][0-9]|2[0-3]):[0-5][0-9]"

# --- Messages (tests import them) ---------------------------------------------------------------

MSG_SUSPEND_CUSTOM_MISSING = "Enter the number of seconds for a custom suspend timeout."
MSG_RETENTION_REQUIRED = "Enter how long history is kept (0 keeps none)."
MSG_TIME = "Enter a UTC time as HH:MM, from 00:00 to 23:59."
MSG_CONFIRM_IRREVERSIBLE = "Tick the confirmation: this change cannot be undone."
MSG_STALE = (
    "Someone changed this project in Neon after you opened this page. Nothing was sent. Your "
    "edits are kept on top of the project's new values below: check them and save again."
)
MSG_PAGE_ALTERED = "This page is out of date or was altered; reload it and make your change again."
MSG_CU_UNSET = "Neon's default (not set; choose a size to set one)"
MSG_QUOTA_TOO_LARGE = "At most %(max)s (Neon stores quotas as 64-bit integers)."


# --- Field builders ----------------------------------------------------------------------------


def cu_value(cu: float) -> str:
    """A CU as an option value that turns back into exactly the same float."""
    short = f"{cu:g}"
    return short if float(short) == float(cu) else repr(float(cu))


def _cu_field(label: str, help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, required=False, coerce=float, empty_value=None, help_text=help_text
    )


def _cu_choices(steps: list[float], current: float | None, empty: str | None) -> list:
    choices: list[tuple[str, str]] = [("", empty)] if empty else []
    values = sorted({*steps, *([current] if current is not None else [])})
    for cu in values:
        label = f"{cu:g} CU"
        if cu > 16:
            label += " (fixed size)"
        if current is not None and cu == current and cu not in steps:
            label = f"{cu:g} CU, current"
        choices.append((cu_value(cu), label))
    return choices


def _quota_field(label: str, units: tuple[tuple[str, int], ...], default: str) -> QuantityField:
    return QuantityField(
        label=label,
        units=units,
        default_unit=default,
        max_value=INT64_MAX,
        max_message=MSG_QUOTA_TOO_LARGE,
        help_text="0 or empty means unlimited.",
    )


def _time_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=5,
        validators=[RegexValidator(rf"^{HH_MM}$", MSG_TIME)],
        widget=forms.TextInput(
            attrs={"pattern": HH_MM, "placeholder": "HH:MM", "inputmode": "numeric", "size": 6}
        ),
        help_text="UTC, 24-hour clock.",
    )


# Quotas: form field name -> Neon's quota key.
QUOTAS = {
    "quota_active_time": "active_time_seconds",
    "quota_compute_time": "compute_time_seconds",
    "quota_written_data": "written_data_bytes",
    "quota_data_transfer": "data_transfer_bytes",
    "quota_logical_size": "logical_size_bytes",
}


# --- The settings both forms share -------------------------------------------------------------


class ProjectSettingsFields(forms.Form):
    """Fields and rules common to create and update (the spec's ProjectSettingsData,
    DefaultEndpointSettings and history retention)."""

    SUSPEND_CHOICES = (
        ("default", "Neon's default (5 minutes)"),
        ("never", "Never suspend"),
        ("custom", "After a custom time"),
    )

    name = forms.CharField(
        label="Project name",
        max_length=MAX_NAME_LENGTH,
        required=False,
        strip=False,  # a name Neon holds with a space at the end comes back unchanged
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    history_retention = QuantityField(
        label="History retention",
        units=TIME_UNITS,
        default_unit="days",
        max_value=MAX_HISTORY_RETENTION_SECONDS,
        max_message=MSG_RETENTION_TOO_LONG,
        help_text="Up to 30 days. 0 keeps no history.",
    )
    autoscaling_limit_min_cu = _cu_field(
        "Minimum compute size", "Autoscaling lower limit, in compute units."
    )
    autoscaling_limit_max_cu = _cu_field(
        "Maximum compute size",
        "Autoscaling upper limit: at most 16 CU and 8 CU above the minimum. Larger computes have "
        "a fixed size (minimum = maximum, up to 56 CU) and never suspend.",
    )
    suspend_mode = forms.ChoiceField(
        label="Suspend computes when idle",
        choices=SUSPEND_CHOICES,
        initial="default",
        # With JavaScript the seconds field shows only for "custom" (static/js/app.js).
        widget=forms.RadioSelect(
            attrs={"data-shows": "#id_suspend_timeout_seconds", "data-shows-when": "custom"}
        ),
    )
    suspend_timeout_seconds = forms.IntegerField(
        label="Custom suspend timeout (seconds)",
        min_value=SUSPEND_MIN_SECONDS,
        max_value=SUSPEND_MAX_SECONDS,
        required=False,
        help_text="From 60 seconds to 604,800 seconds (one week). Used with “custom”.",
    )
    pg_settings = KeyValueField(
        label="Postgres settings",
        help_text="One setting per line, as name=value, applied to new computes.",
    )
    quota_active_time = _quota_field("Active time", TIME_UNITS, "hours")
    quota_compute_time = _quota_field("Compute time (CPU)", TIME_UNITS, "hours")
    quota_written_data = _quota_field("Written data", BYTE_UNITS, "GiB")
    quota_data_transfer = _quota_field("Data transfer", BYTE_UNITS, "GiB")
    quota_logical_size = _quota_field("Logical size per branch", BYTE_UNITS, "GiB")
    allowed_ips = IPAllowlistField(
        label="Allowed IP addresses",
        help_text=(
            "One per line: an IPv4 or IPv6 address, a CIDR block (10.0.0.0/24) or a range "
            "(10.0.0.1-10.0.0.9). Empty allows every address."
        ),
    )
    protected_branches_only = forms.BooleanField(
        label="Apply the allowlist to protected branches only", required=False
    )
    enable_logical_replication = forms.BooleanField(
        label="Logical replication",
        required=False,
        help_text="Sets wal_level=logical and restarts active computes. Cannot be turned off.",
    )
    maintenance_weekdays = forms.TypedMultipleChoiceField(
        label="Maintenance days",
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    maintenance_start_time = _time_field("Maintenance start")
    maintenance_end_time = _time_field("Maintenance end")
    block_public_connections = forms.BooleanField(
        label="Block connections from the public internet",
        required=False,
        help_text="Overrides the IP allowlist.",
    )
    block_vpc_connections = forms.BooleanField(
        label="Block connections through VPC endpoints", required=False
    )
    audit_log_level = forms.ChoiceField(
        label="Audit log level",
        required=False,
        choices=[("", "Not set")] + [(level, level) for level in AUDIT_LOG_LEVELS],
    )
    hipaa = forms.BooleanField(
        label="HIPAA compliance",
        required=False,
        help_text="Turns on HIPAA audit logging. Cannot be turned off.",
    )

    # Which fields sit in which collapsed section, so a section with an error opens itself.
    SECTIONS = {
        "compute": (
            "autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "suspend_mode",
            "suspend_timeout_seconds", "pg_settings",
        ),
        "history": ("history_retention",),
        "quotas": tuple(QUOTAS),
        "network": (
            "allowed_ips", "protected_branches_only", "block_public_connections",
            "block_vpc_connections",
        ),
        "maintenance": ("maintenance_weekdays", "maintenance_start_time", "maintenance_end_time"),
        "compliance": (
            "enable_logical_replication", "hipaa", "audit_log_level", "confirm_irreversible",
        ),
        "preload": ("preload_use_defaults", "preload_skip_defaults", "preload_libraries"),
        "branch": ("branch_name", "role_name", "database_name", "branch_annotations"),
        "placement": ("provisioner", "store_passwords"),
    }  # fmt: skip

    # Already-on irreversible settings, for the settings form (set from the project).
    already_on: frozenset[str] = frozenset()

    def __init__(
        self,
        *args: Any,
        allow_irreversible: bool = True,
        limits: ComputeLimits | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.limits = limits or ComputeLimits()
        self.allow_irreversible = allow_irreversible
        self.fields[
            "quota_logical_size"
        ].help_text = "Per branch; writes fail above it. 0 or empty means unlimited."
        if not allow_irreversible:
            # A courtesy: the view refuses it whatever the browser sends.
            for name in ("enable_logical_replication", "hipaa"):
                if name not in self.already_on:
                    self.fields[name].widget.attrs["disabled"] = True
                    self.fields[name].help_text += " Only admins can turn it on."

    def _offer_cu(self, current: dict[str, float | None], empty: str | None) -> None:
        for key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
            value = current.get(key)
            self.fields[key].choices = _cu_choices(self.limits.steps(), value, empty)

    @property
    def fields_with_errors(self) -> int:
        return len([name for name in self.errors if name != forms.forms.NON_FIELD_ERRORS])

    def open_sections(self) -> set[str]:
        """The sections the template renders open: those holding an error, and, after a refused
        submission, those the operator changed (so what they typed stays in view)."""
        if not self.is_bound:
            return set()
        touched = set(self.errors) | set(self.changed_data)
        return {section for section, names in self.SECTIONS.items() if touched.intersection(names)}

    def provisioner_value(self) -> str:
        return ""

    def compute_touched(self, low: Any, high: Any, suspend: Any) -> bool:
        return True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("autoscaling_limit_min_cu"), data.get("autoscaling_limit_max_cu")
        cu_errors = {"autoscaling_limit_min_cu", "autoscaling_limit_max_cu"} & set(self.errors)
        suspend = self._suspend_seconds() if "suspend_timeout_seconds" not in self.errors else None
        if not cu_errors and self.compute_touched(low, high, suspend):
            self.add_violations(
                compute(
                    low, high, suspend=suspend, provisioner=self.provisioner_value(),
                    limits=self.limits,
                )
            )  # fmt: skip

        # A value out of range already has its own, clearer message.
        custom_missing = data.get("suspend_timeout_seconds") is None
        custom_missing = custom_missing and "suspend_timeout_seconds" not in self.errors
        if data.get("suspend_mode") == "custom" and custom_missing:
            self.add_error("suspend_timeout_seconds", MSG_SUSPEND_CUSTOM_MISSING)

        if not {"maintenance_start_time", "maintenance_end_time"} & set(self.errors):
            self.add_violations(maintenance_window(self._window_given(), current=self.window))
        return data

    # The project's maintenance window (the settings form's project), which Neon cannot remove.
    window: dict[str, Any] | None = None

    def add_violations(self, violations: list[Violation]) -> None:
        for violation in violations:
            self.add_error(violation.field, violation.message)

    def _window_given(self) -> dict[str, Any] | None:
        """The window as typed, parts perhaps missing; None when nothing of it was given."""
        given = {
            "weekdays": self.cleaned_data.get("maintenance_weekdays"),
            "start_time": self.cleaned_data.get("maintenance_start_time"),
            "end_time": self.cleaned_data.get("maintenance_end_time"),
        }
        return given if any(given.values()) else None

    def irreversible_changes(self) -> list[str]:
        """The irreversible settings this submission turns on (admins only)."""
        data = getattr(self, "cleaned_data", {})
        return [
            name
            for name in ("enable_logical_replication", "hipaa")
            if data.get(name) and name not in self.already_on
        ]

    # --- To Neon's shape ---

    def _suspend_seconds(self) -> int | None:
        mode = self.cleaned_data.get("suspend_mode")
        if mode == "never":
            return SUSPEND_NEVER
        if mode == "custom":
            return self.cleaned_data.get("suspend_timeout_seconds")
        return SUSPEND_DEFAULT

    def _quota(self) -> dict[str, int]:
        return {key: self.cleaned_data.get(name) or 0 for name, key in QUOTAS.items()}

    def _window(self) -> dict[str, Any] | None:
        days = self.cleaned_data.get("maintenance_weekdays")
        if not days:
            return None
        return {
            "weekdays": sorted(days),
            "start_time": self.cleaned_data["maintenance_start_time"],
            "end_time": self.cleaned_data["maintenance_end_time"],
        }


# --- Create ------------------------------------------------------------------------------------


class ProjectCreateForm(ProjectSettingsFields):
    """Every field of Neon's ProjectCreateRequest (see the module docstring for two exceptions).

    Preloaded libraries are typed, not picked: Neon lists the available ones per project, and
    the project does not exist yet. Neon checks the names; this form checks they are names.
    """

    pg_version = forms.TypedChoiceField(
        label="Postgres version",
        coerce=int,
        choices=[(v, str(v)) for v in PG_VERSIONS],
        initial=PG_VERSION_DEFAULT,
    )
    region_id = forms.ChoiceField(label="Region")
    org_id = forms.ChoiceField(label="Organization", required=False)
    store_passwords = forms.BooleanField(
        label="Store role passwords",
        required=False,
        initial=True,
        help_text="Lets Neon show passwords again later (needed by some Neon features).",
    )
    provisioner = forms.ChoiceField(
        label="Provisioner",
        required=False,
        choices=[("", "Neon's default")] + [(p, p) for p in PROVISIONERS],
        help_text="k8s-neonvm autoscales; k8s-pod computes have a fixed size (minimum = maximum).",
    )
    branch_name = forms.CharField(
        label="Default branch name", max_length=MAX_NAME_LENGTH, required=False,
        widget=forms.TextInput(attrs={"placeholder": "main"}),
    )  # fmt: skip
    role_name = forms.CharField(
        label="Owner role name", required=False, validators=[max_bytes],
        # Neon names the owner role after the database; app.js keeps the placeholder in step.
        widget=forms.TextInput(attrs={
            "placeholder": "neondb_owner", "data-placeholder-from": "#id_database_name",
            "data-placeholder-suffix": "_owner",
        }),
    )  # fmt: skip
    database_name = forms.CharField(
        label="Database name", required=False, validators=[max_bytes],
        widget=forms.TextInput(attrs={"placeholder": "neondb"}),
    )  # fmt: skip
    # Worded as an opt-out so a submission without the box (no JavaScript needed, or a script)
    # keeps Neon's defaults, as leaving the section alone does.
    preload_skip_defaults = forms.BooleanField(
        label="Do not preload Neon's default libraries",
        required=False,
        help_text="Unticked and with no libraries below, Neon decides.",
    )
    preload_libraries = IdentifierListField(
        label="Libraries to preload",
        help_text="One per line, for example pg_cron or timescaledb. Changing them later "
        "restarts computes.",
    )
    branch_annotations = KeyValueField(
        label="Branch annotations",
        max_pairs=MAX_ANNOTATIONS,
        help_text="Up to 50, one per line as name=value.",
    )
    confirm_irreversible = forms.BooleanField(
        label="I understand that turning on logical replication or HIPAA cannot be undone",
        required=False,
    )

    field_order = ["name", "pg_version", "region_id", "org_id"]

    def __init__(
        self,
        *args: Any,
        regions: list[Region],
        organizations: list[Organization],
        default_org_id: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].help_text = "Empty: Neon names the project after its generated ID."
        self.fields["region_id"].choices = [(r.id, f"{r.name} ({r.id})") for r in regions]
        default_region = next((r.id for r in regions if r.default), None)
        self.fields["region_id"].initial = default_region
        orgs = [(o.id, o.name) for o in organizations]
        # The configured organization is preselected; the personal account stays a choice.
        self.fields["org_id"].choices = [("", PERSONAL_ACCOUNT), *orgs]
        self.fields["org_id"].initial = default_org_id or None
        self.fields["history_retention"].initial = DAY  # Neon's documented default
        self._offer_cu({}, "Neon's default")

    def provisioner_value(self) -> str:
        return self.cleaned_data.get("provisioner") or ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.irreversible_changes() and not data.get("confirm_irreversible"):
            self.add_error("confirm_irreversible", MSG_CONFIRM_IRREVERSIBLE)
        return data

    def payload(self) -> dict[str, Any]:
        """The `project` object of the create request, without the fields left to Neon."""
        data = self.cleaned_data
        project: dict[str, Any] = {
            "pg_version": data["pg_version"],
            "region_id": data["region_id"],
            "store_passwords": data["store_passwords"],
        }
        optional = {
            "name": data.get("name"),
            "org_id": data.get("org_id"),
            "provisioner": data.get("provisioner"),
            "history_retention_seconds": data.get("history_retention"),
        }
        project.update({k: v for k, v in optional.items() if v not in (None, "")})

        endpoint: dict[str, Any] = {
            "autoscaling_limit_min_cu": data.get("autoscaling_limit_min_cu"),
            "autoscaling_limit_max_cu": data.get("autoscaling_limit_max_cu"),
            "pg_settings": data.get("pg_settings") or None,
        }
        if data.get("suspend_mode") != "default":
            endpoint["suspend_timeout_seconds"] = self._suspend_seconds()
        endpoint = {k: v for k, v in endpoint.items() if v is not None}
        if endpoint:
            project["default_endpoint_settings"] = endpoint

        settings: dict[str, Any] = {}
        quota = {k: v for k, v in self._quota().items() if v}
        if quota:
            settings["quota"] = quota
        if data.get("allowed_ips") or data.get("protected_branches_only"):
            settings["allowed_ips"] = {
                "ips": data.get("allowed_ips") or [],
                "protected_branches_only": bool(data.get("protected_branches_only")),
            }
        if window := self._window():
            settings["maintenance_window"] = window
        for flag in (
            "enable_logical_replication",
            "block_public_connections",
            "block_vpc_connections",
            "hipaa",
        ):
            if data.get(flag):
                settings[flag] = True
        if data.get("audit_log_level"):
            settings["audit_log_level"] = data["audit_log_level"]
        libraries = data.get("preload_libraries") or []
        if libraries or data.get("preload_skip_defaults"):
            settings["preload_libraries"] = {
                "use_defaults": not data.get("preload_skip_defaults"),
                "enabled_libraries": libraries,
            }
        if settings:
            project["settings"] = settings

        branch = {
            "name": data.get("branch_name"),
            "role_name": data.get("role_name"),
            "database_name": data.get("database_name"),
            "annotations": data.get("branch_annotations") or None,
        }
        branch = {k: v for k, v in branch.items() if v}
        if branch:
            project["branch"] = branch
        return project


# --- Settings (update) -------------------------------------------------------------------------

_VERSION_SALT = "neonadmin.settings.version"


class ProjectSettingsForm(ProjectSettingsFields):
    """Every field of Neon's ProjectUpdateRequest, starting from the project's current state.

    `version` carries the state the page was built from, signed; if Neon's copy moved since,
    the form is refused (`stale`) and the operator's edits are replayed on the new state rather
    than sending untouched fields that would undo someone else's change.

    On a project Neon lets the key view only (`Project.permission` CAN_VIEW), any change is
    refused here with `view_only` (`projects.permissions.MSG_VIEW_ONLY`) as a non-field error,
    so nothing is sent that Neon would refuse; an untouched form stays valid (nothing changed).
    """

    preload_use_defaults = forms.BooleanField(
        label="Preload Neon's default libraries", required=False
    )
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    preload_libraries = forms.MultipleChoiceField(
        label="Libraries to preload",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Loaded into every compute at start; changing them restarts computes.",
    )

    def __init__(
        self,
        *args: Any,
        project: Project,
        libraries: list[PreloadLibrary],
        state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.project = project
        self.libraries = libraries
        self.state = project_state(project)
        self.window = self.state["settings"]["maintenance_window"]
        # Why Neon would refuse any change to this project (None: it would not), for the page
        # to say before anything is typed; clean() enforces it.
        self.view_only = refusal(project.permission, "update")
        # What stale() found: the merged state, what others changed, and conflicting edits.
        self.stale: tuple[dict[str, Any], list[Change], list[Change]] | None = None
        self.already_on = frozenset(
            name
            for name, on in (
                ("enable_logical_replication", project.settings.enable_logical_replication),
                ("hipaa", project.settings.hipaa),
            )
            if on
        )
        kwargs.setdefault("initial", self.initial_from(state or self.state))
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.current_version
        name = self.fields["name"]
        name.required = True
        name.widget.attrs["required"] = True
        self.fields["history_retention"].required = True
        self.fields["history_retention"].error_messages["required"] = MSG_RETENTION_REQUIRED
        choices = []
        for lib in libraries:
            notes = [lib.version and f"v{lib.version}", lib.is_experimental and "experimental"]
            extra = ", ".join(n for n in notes if n)
            choices.append((lib.name, f"{lib.name}{f' ({extra})' if extra else ''}"))
        known = {name for name, _ in choices}
        # A library the project uses that Neon no longer lists stays visible and ticked.
        choices += [(n, n) for n in project.settings.preload_libraries if n not in known]
        self.fields["preload_libraries"].choices = choices
        # Neon has no way back to its default compute size: a project with a size offers sizes
        # only; one without offers the empty choice, which keeps it unset.
        cu = self.state["default_endpoint_settings"]
        unset = cu["autoscaling_limit_min_cu"] is None
        self._offer_cu(cu, MSG_CU_UNSET if unset else None)
        if not unset:
            for key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
                self.fields[key].required = True
        if project.settings.audit_log_level:  # Neon has no way back to "not set"
            self.fields["audit_log_level"].choices = [(lvl, lvl) for lvl in AUDIT_LOG_LEVELS]
            self.fields["audit_log_level"].required = True
        for name in self.already_on:
            self.fields[name].disabled = True  # on for good: the box shows it, cannot untick
            self.fields[name].help_text = (
                MSG_LOGICAL_REPLICATION_OFF
                if name == "enable_logical_replication"
                else MSG_HIPAA_OFF
            )

    def provisioner_value(self) -> str:
        return self.project.provisioner

    def compute_touched(self, low: Any, high: Any, suspend: Any) -> bool:
        return compute_touched(self.state, low, high, suspend)

    @staticmethod
    def initial_from(state: dict[str, Any]) -> dict[str, Any]:
        """The form's fields for a project state: every value as Neon holds it."""
        s, e = state["settings"], state["default_endpoint_settings"]
        suspend = e["suspend_timeout_seconds"]
        cu = {
            key: None if e[key] is None else cu_value(e[key])
            for key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu")
        }
        window = s["maintenance_window"] or {}
        initial: dict[str, Any] = {
            "name": state["name"],
            "history_retention": state["history_retention_seconds"],
            **cu,
            "suspend_mode": {SUSPEND_NEVER: "never", SUSPEND_DEFAULT: "default"}.get(
                suspend, "custom"
            ),
            "suspend_timeout_seconds": suspend if suspend > 0 else None,
            "pg_settings": dict(e["pg_settings"]),
            "allowed_ips": list(s["allowed_ips"]["ips"]),
            "protected_branches_only": s["allowed_ips"]["protected_branches_only"],
            "enable_logical_replication": s["enable_logical_replication"],
            "block_public_connections": s["block_public_connections"],
            "block_vpc_connections": s["block_vpc_connections"],
            "audit_log_level": s["audit_log_level"] or "",
            "hipaa": s["hipaa"],
            "preload_use_defaults": s["preload_libraries"]["use_defaults"],
            "preload_libraries": list(s["preload_libraries"]["enabled_libraries"]),
            "maintenance_weekdays": list(window.get("weekdays", [])),
            "maintenance_start_time": window.get("start_time", ""),
            "maintenance_end_time": window.get("end_time", ""),
        }
        initial.update({name: s["quota"][key] for name, key in QUOTAS.items()})
        return initial

    @cached_property
    def current_version(self) -> str:
        """The state this page shows, signed, so a later submission can tell what moved."""
        # No timestamp: the same state always signs the same, so an untouched page is unchanged.
        return signing.Signer(salt=_VERSION_SALT).sign_object(self.state, compress=True)

    def _shown_state(self, version: str) -> dict[str, Any] | None:
        try:
            return signing.Signer(salt=_VERSION_SALT).unsign_object(version)
        except signing.BadSignature:
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # An untouched form is valid and changes nothing, so a form with errors changes
        # something; either way Neon would refuse it.
        refused = self.view_only and permission(
            self.project.permission,
            changed=bool(self.errors) or bool(diff(self.state, self.payload())[0]),
        )
        if refused:
            self.add_violations(refused)
            return data
        if not data.get("version"):
            return data  # a script posting without a page: it asked for exactly this
        shown = self._shown_state(data["version"])
        if shown is None:
            self.add_error(None, MSG_PAGE_ALTERED)
        elif shown != self.state and not self.errors:
            # The untouched fields hold the values shown then; sending them would quietly undo
            # someone else's change.
            self.stale = rebase(shown, self.payload(), self.state)
            self.add_error(None, MSG_STALE)
        return data

    def payload(self) -> dict[str, Any]:
        """The desired state, in the update request's shape (`projects.project_state`)."""
        data = self.cleaned_data
        state = copy.deepcopy(self.state)
        s, e = state["settings"], state["default_endpoint_settings"]
        state["name"] = data["name"]
        state["history_retention_seconds"] = data.get("history_retention")
        s["quota"] = self._quota()
        s["allowed_ips"] = {
            "ips": data.get("allowed_ips") or [],
            "protected_branches_only": bool(data.get("protected_branches_only")),
        }
        for flag in (
            "enable_logical_replication",
            "block_public_connections",
            "block_vpc_connections",
            "hipaa",
        ):
            s[flag] = bool(data.get(flag))
        s["maintenance_window"] = self._window()
        s["audit_log_level"] = data.get("audit_log_level") or None
        s["preload_libraries"] = {
            "use_defaults": bool(data.get("preload_use_defaults")),
            "enabled_libraries": sorted(data.get("preload_libraries") or []),
        }
        e["autoscaling_limit_min_cu"] = data.get("autoscaling_limit_min_cu")
        e["autoscaling_limit_max_cu"] = data.get("autoscaling_limit_max_cu")
        e["suspend_timeout_seconds"] = self._suspend_seconds()
        e["pg_settings"] = data.get("pg_settings") or {}
        return state

    def stale_form(self) -> ProjectSettingsForm:
        """After a refused stale submission: a fresh form showing the project's new state with
        the operator's edits replayed on it, ready to save again."""
        merged = self.stale[0] if self.stale else self.state
        return ProjectSettingsForm(
            project=self.project,
            libraries=self.libraries,
            state=merged,
            limits=self.limits,
            allow_irreversible=self.allow_irreversible,
        )
