"""The create and settings forms of a project.

Every documented range is written once, as field arguments, so the browser gets the same
`min`/`max`/`step`/`required` the server enforces; cross-field rules live in `clean()`.
Both forms produce the request body in Neon's own shape (`payload()`), so the services never
translate field names.

Left out on purpose: the deprecated top-level `autoscaling_limit_*_cu` (the same values go in
`default_endpoint_settings`) and `pgbouncer_settings` (deprecated, sunset 2026-06-20).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from projects.forms.listing import PERSONAL_ACCOUNT
from projects.neon import Organization, PreloadLibrary, Project, Region

# --- Documented limits (Neon API v2 spec) -------------------------------------------------------

MAX_HISTORY_RETENTION_SECONDS = 2_592_000  # 30 days
SUSPEND_MIN_SECONDS = 60
SUSPEND_MAX_SECONDS = 604_800  # 1 week
SUSPEND_NEVER = -1
SUSPEND_DEFAULT = 0
INT64_MAX = 2**63 - 1
HOUR = 3600
DAY = 86400
GIB = 2**30
PG_VERSIONS = (14, 15, 16, 17, 18)
PG_VERSION_DEFAULT = 17
PROVISIONERS = ("k8s-pod", "k8s-neonvm", "serverless-platform")
AUDIT_LOG_LEVELS = ("base", "extended", "full")
CU_STEPS = (
    0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
    30, 32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56,
)  # fmt: skip
WEEKDAYS = (
    (1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday"),
    (6, "Saturday"), (7, "Sunday"),
)  # fmt: skip
MAX_ANNOTATIONS = 50
MAX_NAME_LENGTH = 256
MAX_PG_IDENTIFIER_BYTES = 63
HH_MM = r"([01][0-9]|2[0-3]):[0-5][0-9]"

# --- Messages (tests import them) ---------------------------------------------------------------

MSG_CU_MIN_ABOVE_MAX = "The minimum compute size must not be larger than the maximum."
MSG_SUSPEND_CUSTOM_MISSING = "Enter the number of seconds for a custom suspend timeout."
MSG_RETENTION_TOO_LONG = "History retention can be at most 30 days (2,592,000 seconds)."
MSG_WINDOW_INCOMPLETE = "A maintenance window needs weekdays, a start and an end time, or none."
MSG_WINDOW_REMOVE = "Neon cannot remove a maintenance window; choose its days and times instead."
MSG_WINDOW_EMPTY = "The start and end time must differ."
MSG_TIME = "Enter a UTC time as HH:MM, from 00:00 to 23:59."
MSG_CONFIRM_IRREVERSIBLE = "Tick the confirmation: this change cannot be undone."
MSG_LOGICAL_REPLICATION_OFF = "Logical replication cannot be turned off once it is on."
MSG_HIPAA_OFF = "HIPAA compliance cannot be turned off once it is on."
MSG_STALE = (
    "Someone changed this project after you opened this page. The form still holds what you "
    "entered; check it against the project and save again to apply it."
)
MSG_CU_UNSET = "Neon's default (not set; choose a size to set one)"
MSG_NOT_AN_IDENTIFIER = (
    "“%(name)s” is not a library name: letters, digits and underscores, at most 63 bytes, "
    "not starting with a digit."
)
MSG_TOO_LONG_BYTES = "At most 63 bytes (Postgres identifiers are limited to 63 bytes)."


# --- Reusable fields ----------------------------------------------------------------------------


def _ip_entry_error(entry: str) -> str | None:
    """Why one allowlist entry is not an IPv4/IPv6 address, CIDR block or a-b range, or None."""
    if "-" in entry:
        first, _, last = (part.strip() for part in entry.partition("-"))
        try:
            start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
        except ValueError:
            return "a range must be two IP addresses joined by “-”"
        if start.version != end.version:
            return "a range cannot mix IPv4 and IPv6"
        if start > end:
            return "the range starts after it ends"
        return None
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=True)
        except ValueError:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                return "not a valid CIDR block"
            return f"host bits are set; did you mean {network}?"
        return None
    try:
        ipaddress.ip_address(entry)
    except ValueError:
        return "not an IPv4 or IPv6 address, CIDR block or range"
    return None


class IPAllowlistField(forms.CharField):
    """One IPv4/IPv6 address, CIDR block or `a-b` range per line; returns a list of strings.

    Blank lines are ignored and repeated entries kept once. Every bad line is reported, by line
    number, so the operator can fix them all at once.
    """

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        entries: list[str] = []
        for line in text.splitlines():
            entry = re.sub(r"\s*-\s*", "-", line.strip().replace("\N{EN DASH}", "-"))
            if entry and entry not in entries:
                entries.append(entry)
        return entries

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        errors = []
        for number, entry in enumerate(value, start=1):
            if reason := _ip_entry_error(entry):
                errors.append(
                    forms.ValidationError(
                        "Entry %(number)s, “%(entry)s”: %(reason)s.",
                        code="invalid_ip",
                        params={"number": number, "entry": entry, "reason": reason},
                    )
                )
        if errors:
            raise forms.ValidationError(errors)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != self.to_python(self.prepare_value(initial))
        except forms.ValidationError:
            return True


class KeyValueField(forms.CharField):
    """`key=value`, one per line; returns a dict of strings (Postgres settings, annotations)."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, *, max_pairs: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        self.max_pairs = max_pairs
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{k}={v}" for k, v in value.items())
        return value

    def to_python(self, value: Any) -> dict[str, str]:
        text = super().to_python(value) or ""
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, val = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(
                    "Line %(number)s, “%(line)s”: write it as name=value.",
                    code="invalid_pair",
                    params={"number": number, "line": line.strip()},
                )
            pairs[key.strip()] = val.strip()
        return pairs

    def validate(self, value: dict[str, str]) -> None:
        super().validate(value)
        if self.max_pairs is not None and len(value) > self.max_pairs:
            raise forms.ValidationError(
                "At most %(max)s entries (you have %(count)s).",
                code="too_many",
                params={"max": self.max_pairs, "count": len(value)},
            )

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or {})
        except forms.ValidationError:
            return True


PG_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class IdentifierListField(forms.CharField):
    """Postgres identifiers, one per line (library names); returns a list without repeats.
    Every bad line is reported, by line number."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        names: list[str] = []
        for line in text.splitlines():
            if (name := line.strip()) and name not in names:
                names.append(name)
        return names

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        errors = [
            forms.ValidationError(
                MSG_NOT_AN_IDENTIFIER, code="invalid_identifier", params={"name": name}
            )
            for name in value
            if not PG_IDENTIFIER.fullmatch(name) or len(name.encode()) > MAX_PG_IDENTIFIER_BYTES
        ]
        if errors:
            raise forms.ValidationError(errors)


def _max_bytes(value: str) -> None:
    if len(value.encode()) > MAX_PG_IDENTIFIER_BYTES:
        raise forms.ValidationError(MSG_TOO_LONG_BYTES, code="too_long")


def _cu_label(cu: float) -> str:
    return f"{cu:g} CU"


def _cu_field(label: str, help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        required=False,
        coerce=float,
        empty_value=None,
        choices=[("", "Neon's default")] + [(f"{cu:g}", _cu_label(cu)) for cu in CU_STEPS],
        help_text=help_text,
    )


def _quota_field(label: str, unit: str, per_unit: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=f"{label} ({unit})",
        required=False,
        min_value=0,
        max_value=INT64_MAX // per_unit,
        help_text="0 or empty means unlimited.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
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


# Quotas: form field name -> (Neon's quota key, label, unit, how many Neon units per form unit).
QUOTAS = {
    "quota_active_time_hours": ("active_time_seconds", "Active time", "hours", HOUR),
    "quota_compute_time_hours": ("compute_time_seconds", "Compute time", "CPU hours", HOUR),
    "quota_written_data_gib": ("written_data_bytes", "Written data", "GiB", GIB),
    "quota_data_transfer_gib": ("data_transfer_bytes", "Data transfer", "GiB", GIB),
    "quota_logical_size_gib": ("logical_size_bytes", "Logical size per branch", "GiB", GIB),
}
QUOTA_HELP = {
    "quota_logical_size_gib": "Per branch; writes fail above it. 0 or empty means unlimited.",
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
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    history_retention_days = forms.IntegerField(
        label="History retention: days",
        min_value=0,
        max_value=MAX_HISTORY_RETENTION_SECONDS // DAY,
        required=False,
    )
    history_retention_hours = forms.IntegerField(
        label="History retention: hours", min_value=0, max_value=23, required=False
    )
    autoscaling_limit_min_cu = _cu_field(
        "Minimum compute size", "Autoscaling lower limit, in compute units."
    )
    autoscaling_limit_max_cu = _cu_field(
        "Maximum compute size", "Autoscaling upper limit, in compute units."
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
    quota_active_time_hours = _quota_field("Active time", "hours", HOUR)
    quota_compute_time_hours = _quota_field("Compute time", "CPU hours", HOUR)
    quota_written_data_gib = _quota_field("Written data", "GiB", GIB)
    quota_data_transfer_gib = _quota_field("Data transfer", "GiB", GIB)
    quota_logical_size_gib = _quota_field("Logical size per branch", "GiB", GIB)
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
    confirm_irreversible = forms.BooleanField(
        label="I understand that turning on logical replication or HIPAA cannot be undone",
        required=False,
    )

    # Which fields sit in which collapsed section, so a section with an error opens itself.
    SECTIONS = {
        "compute": (
            "autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "suspend_mode",
            "suspend_timeout_seconds", "pg_settings",
        ),
        "history": ("history_retention_days", "history_retention_hours"),
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

    def __init__(self, *args: Any, allow_irreversible: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for name, help_text in QUOTA_HELP.items():
            self.fields[name].help_text = help_text
        if not allow_irreversible:
            # A courtesy: the view and the service refuse it whatever the browser sends.
            for name in ("enable_logical_replication", "hipaa"):
                if name not in self.already_on:
                    self.fields[name].widget.attrs["disabled"] = True
                    self.fields[name].help_text += " Only admins can turn it on."

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

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        days = data.get("history_retention_days")
        hours = data.get("history_retention_hours")
        if (days or 0) * DAY + (hours or 0) * HOUR > MAX_HISTORY_RETENTION_SECONDS:
            self.add_error("history_retention_hours", MSG_RETENTION_TOO_LONG)

        low, high = data.get("autoscaling_limit_min_cu"), data.get("autoscaling_limit_max_cu")
        if low is not None and high is not None and low > high:
            self.add_error("autoscaling_limit_max_cu", MSG_CU_MIN_ABOVE_MAX)

        # A value out of range already has its own, clearer message.
        custom_missing = data.get("suspend_timeout_seconds") is None
        custom_missing = custom_missing and "suspend_timeout_seconds" not in self.errors
        if data.get("suspend_mode") == "custom" and custom_missing:
            self.add_error("suspend_timeout_seconds", MSG_SUSPEND_CUSTOM_MISSING)

        window = [
            data.get("maintenance_weekdays"),
            data.get("maintenance_start_time"),
            data.get("maintenance_end_time"),
        ]
        window_errors = {"maintenance_start_time", "maintenance_end_time"} & set(self.errors)
        if any(window) and not all(window) and not window_errors:
            self.add_error("maintenance_weekdays", MSG_WINDOW_INCOMPLETE)
        elif all(window) and window[1] == window[2]:
            self.add_error("maintenance_end_time", MSG_WINDOW_EMPTY)

        if self.irreversible_changes() and not data.get("confirm_irreversible"):
            self.add_error("confirm_irreversible", MSG_CONFIRM_IRREVERSIBLE)
        return data

    def irreversible_changes(self) -> list[str]:
        """The irreversible settings this submission turns on (admins only, with confirmation)."""
        data = getattr(self, "cleaned_data", {})
        return [
            name
            for name in ("enable_logical_replication", "hipaa")
            if data.get(name) and name not in self.already_on
        ]

    # --- To Neon's shape ---

    def _retention_seconds(self) -> int | None:
        days = self.cleaned_data.get("history_retention_days")
        hours = self.cleaned_data.get("history_retention_hours")
        if days is None and hours is None:
            return None
        return (days or 0) * DAY + (hours or 0) * HOUR

    def _suspend_seconds(self) -> int:
        mode = self.cleaned_data.get("suspend_mode")
        if mode == "never":
            return SUSPEND_NEVER
        if mode == "custom":
            return self.cleaned_data["suspend_timeout_seconds"]
        return SUSPEND_DEFAULT

    def _quota(self) -> dict[str, int]:
        quota = {}
        for name, (key, _label, _unit, per_unit) in QUOTAS.items():
            value = self.cleaned_data.get(name)
            quota[key] = (value or 0) * per_unit
        return quota

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
        help_text="k8s-neonvm is the one that supports autoscaling.",
    )
    branch_name = forms.CharField(
        label="Default branch name", max_length=MAX_NAME_LENGTH, required=False,
        widget=forms.TextInput(attrs={"placeholder": "main"}),
    )  # fmt: skip
    role_name = forms.CharField(
        label="Owner role name", required=False, validators=[_max_bytes],
        widget=forms.TextInput(attrs={"placeholder": "neondb_owner"}),
    )  # fmt: skip
    database_name = forms.CharField(
        label="Database name", required=False, validators=[_max_bytes],
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
        self.fields["history_retention_days"].initial = 1  # Neon's documented default
        self.fields["history_retention_hours"].initial = 0

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
            "history_retention_seconds": self._retention_seconds(),
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


def _split(value: int | None, per_unit: int) -> int | None:
    """A Neon quantity in whole form units, or None when it is not a whole number of them
    (the field then starts empty and, left untouched, keeps Neon's exact value)."""
    if value is None:
        return None
    whole, rest = divmod(value, per_unit)
    return whole if not rest else None


class ProjectSettingsForm(ProjectSettingsFields):
    """Every field of Neon's ProjectUpdateRequest, starting from the project's current values."""

    preload_use_defaults = forms.BooleanField(
        label="Preload Neon's default libraries", required=False
    )
    # A digest of the project's editable values when the form was shown; the template renders
    # the current one, so a warned operator's second submission goes through.
    version = forms.CharField(required=False, widget=forms.HiddenInput)
    preload_libraries = forms.MultipleChoiceField(
        label="Preloaded libraries",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Loaded into every compute at start; changing them restarts computes.",
    )

    def __init__(
        self,
        *args: Any,
        project: Project,
        libraries: list[PreloadLibrary],
        **kwargs: Any,
    ) -> None:
        self.project = project
        self.already_on = frozenset(
            name
            for name, on in (
                ("enable_logical_replication", project.settings.enable_logical_replication),
                ("hipaa", project.settings.hipaa),
            )
            if on
        )
        kwargs.setdefault("initial", self.initial_from(project))
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
        self.fields["name"].widget.attrs["required"] = True
        choices = []
        for lib in libraries:
            notes = [lib.version and f"v{lib.version}", lib.is_experimental and "experimental"]
            extra = ", ".join(n for n in notes if n)
            choices.append((lib.name, f"{lib.name}{f' ({extra})' if extra else ''}"))
        known = {name for name, _ in choices}
        # A library the project uses that Neon no longer lists stays visible and ticked.
        choices += [(n, n) for n in project.settings.preload_libraries if n not in known]
        self.fields["preload_libraries"].choices = choices
        # Neon has no way back to its default compute size: leaving the key out of an update
        # changes nothing. A project with a size offers the explicit sizes only; one without
        # says that the empty choice keeps it unset.
        for key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
            field = self.fields[key]
            if getattr(project.endpoint_defaults, key) is not None:
                field.choices = [c for c in field.choices if c[0] != ""]
                field.required = True
            else:
                field.choices = [("", MSG_CU_UNSET)] + [c for c in field.choices if c[0] != ""]
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
        for name, (key, _label, _unit, per_unit) in QUOTAS.items():
            exact = getattr(project.settings.quota, key)
            if exact and _split(exact, per_unit) is None:
                self.fields[name].help_text = (
                    f"Now {exact:,} ({key.rsplit('_', 1)[1]}), not a whole number of "
                    f"{_unit}; left empty it stays as it is."
                )

    @staticmethod
    def initial_from(project: Project) -> dict[str, Any]:
        s, e = project.settings, project.endpoint_defaults
        retention = project.history_retention_seconds or 0
        days, rest = divmod(retention, DAY)
        suspend = e.suspend_timeout_seconds or 0
        initial: dict[str, Any] = {
            "name": project.name,
            "history_retention_days": days,
            "history_retention_hours": rest // HOUR,
            "autoscaling_limit_min_cu": _cu_initial(e.autoscaling_limit_min_cu),
            "autoscaling_limit_max_cu": _cu_initial(e.autoscaling_limit_max_cu),
            "suspend_mode": {SUSPEND_NEVER: "never", SUSPEND_DEFAULT: "default"}.get(
                suspend, "custom"
            ),
            "suspend_timeout_seconds": suspend if suspend > 0 else None,
            "pg_settings": dict(e.pg_settings),
            "allowed_ips": list(s.allowed_ips),
            "protected_branches_only": s.protected_branches_only,
            "enable_logical_replication": s.enable_logical_replication,
            "block_public_connections": s.block_public_connections,
            "block_vpc_connections": s.block_vpc_connections,
            "audit_log_level": s.audit_log_level or "",
            "hipaa": s.hipaa,
            "preload_use_defaults": bool(s.preload_use_defaults),
            "preload_libraries": list(s.preload_libraries),
        }
        for name, (key, _label, _unit, per_unit) in QUOTAS.items():
            initial[name] = _split(getattr(s.quota, key), per_unit) or (
                0 if not getattr(s.quota, key) else None
            )
        if s.maintenance_window:
            initial["maintenance_weekdays"] = list(s.maintenance_window.weekdays)
            initial["maintenance_start_time"] = s.maintenance_window.start_time
            initial["maintenance_end_time"] = s.maintenance_window.end_time
        return initial

    @property
    def current_version(self) -> str:
        """A digest of the editable values (not `updated_at`, which Neon may move for reasons
        that change nothing here)."""
        state = json.dumps(self.initial_from(self.project), sort_keys=True, default=str)
        return hashlib.sha256(state.encode()).hexdigest()[:16]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The untouched fields are re-sent as they were shown; if Neon's values moved since,
        # saving would quietly undo someone else's change.
        if data.get("version") and data["version"] != self.current_version:
            self.add_error(None, MSG_STALE)
        window_given = any(
            data.get(n)
            for n in ("maintenance_weekdays", "maintenance_start_time", "maintenance_end_time")
        )
        if self.project.settings.maintenance_window and not window_given:
            self.add_error("maintenance_weekdays", MSG_WINDOW_REMOVE)
        return data

    def payload(self) -> dict[str, Any]:
        """The full desired state, in the update request's shape; the service sends only what
        differs from the project."""
        data, project = self.cleaned_data, self.project
        retention = self._retention_seconds()
        if not {"history_retention_days", "history_retention_hours"} & set(self.changed_data):
            retention = project.history_retention_seconds  # keep seconds the form cannot show
        quota = self._quota()
        for name, (key, _label, _unit, _per) in QUOTAS.items():
            if name not in self.changed_data:
                quota[key] = getattr(project.settings.quota, key) or 0
        settings: dict[str, Any] = {
            "quota": quota,
            "allowed_ips": {
                "ips": data.get("allowed_ips") or [],
                "protected_branches_only": bool(data.get("protected_branches_only")),
            },
            "enable_logical_replication": bool(data.get("enable_logical_replication")),
            "block_public_connections": bool(data.get("block_public_connections")),
            "block_vpc_connections": bool(data.get("block_vpc_connections")),
            "hipaa": bool(data.get("hipaa")),
            "preload_libraries": {
                "use_defaults": bool(data.get("preload_use_defaults")),
                "enabled_libraries": list(data.get("preload_libraries") or []),
            },
        }
        if window := self._window():
            settings["maintenance_window"] = window
        if data.get("audit_log_level"):
            settings["audit_log_level"] = data["audit_log_level"]
        endpoint: dict[str, Any] = {
            "suspend_timeout_seconds": self._suspend_seconds(),
            "pg_settings": data.get("pg_settings") or {},
        }
        for key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
            if data.get(key) is not None:
                endpoint[key] = data[key]
        result: dict[str, Any] = {
            "name": data["name"],
            "settings": settings,
            "default_endpoint_settings": endpoint,
        }
        if retention is not None:
            result["history_retention_seconds"] = retention
        return result


def _cu_initial(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"
