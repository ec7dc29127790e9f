"""The bulk change form: which change, and its values. Every value field is the settings form's
own field (copied from `ProjectSettingsFields`), so the ranges the browser and the server apply
are the ones the settings page applies; each project's result is then judged by the rules the
settings form asks too (projects.rules)."""

from __future__ import annotations

import copy
from typing import Any

from django import forms

from bulk.changes import DELETE, KINDS
from projects.compute import ComputeLimits
from projects.forms.project import (
    MSG_SUSPEND_CUSTOM_MISSING,
    MSG_TIME,
    MSG_WINDOW_EMPTY,
    QUOTAS,
    ProjectSettingsFields,
    _cu_choices,
)
from projects.rules import (
    BACKUP_ACCEPTED,
    BACKUP_RETENTION_MAX_SECONDS,
    BACKUP_RETENTION_MIN_SECONDS,
)

MSG_CHOOSE_KIND = "Choose the change to make."
MSG_REQUIRED = "This change needs a value here."
MSG_WINDOW_DAYS = "Choose at least one day."
MSG_QUOTA_NONE = "Enter at least one quota (0 means unlimited)."
MSG_ENTRIES_NONE = "Enter at least one address, block or range."
MSG_CU_PAIR = "Choose both the minimum and the maximum."
MSG_DELETE_ADMIN = "Only admins may delete projects."
MSG_TYPE_COUNT = "Type the number of projects that will be deleted (%(count)s) to confirm."


def _field(name: str) -> forms.Field:
    field = copy.deepcopy(ProjectSettingsFields.base_fields[name])
    field.required = False
    return field


class BulkChangeForm(forms.Form):
    kind = forms.ChoiceField(
        label="Change",
        choices=[("", "Choose…")] + [(k.slug, k.label) for k in KINDS.values()],
        widget=forms.Select(attrs={"data-switches": "[data-kind]"}),
        error_messages={"required": MSG_CHOOSE_KIND},
    )
    maintenance_weekdays = _field("maintenance_weekdays")
    maintenance_start_time = _field("maintenance_start_time")
    maintenance_end_time = _field("maintenance_end_time")
    suspend_mode = _field("suspend_mode")
    suspend_timeout_seconds = _field("suspend_timeout_seconds")
    autoscaling_limit_min_cu = _field("autoscaling_limit_min_cu")
    autoscaling_limit_max_cu = _field("autoscaling_limit_max_cu")
    quota_active_time = _field("quota_active_time")
    quota_compute_time = _field("quota_compute_time")
    quota_written_data = _field("quota_written_data")
    quota_data_transfer = _field("quota_data_transfer")
    quota_logical_size = _field("quota_logical_size")
    ip_entries = _field("allowed_ips")
    history_retention = _field("history_retention")
    audit_log_level = _field("audit_log_level")
    # The default branch's backup schedule: one line, as the branch's backups page has it.
    backup_frequency = forms.ChoiceField(
        required=False,
        label="Snapshot frequency",
        choices=[("", "Choose…")] + [(f, f.capitalize()) for f in BACKUP_ACCEPTED],
    )
    backup_hour = forms.IntegerField(required=False, min_value=0, max_value=23, label="Hour (UTC)")
    backup_day = forms.IntegerField(
        required=False, min_value=1, max_value=31, label="Day (weekly, monthly)"
    )
    backup_retention_hours = forms.IntegerField(
        required=False,
        min_value=BACKUP_RETENTION_MIN_SECONDS // 3600,
        max_value=BACKUP_RETENTION_MAX_SECONDS // 3600,
        label="Keep for (hours)",
        help_text="Empty: until deleted.",
    )

    def __init__(self, *args: Any, limits: ComputeLimits, is_admin: bool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.is_admin = is_admin
        self.fields["ip_entries"].label = "IP addresses, blocks or ranges"
        self.fields["ip_entries"].help_text = "One per line: 203.0.113.7, 10.0.0.0/24 or a-b."
        self.fields["suspend_mode"].initial = "default"
        self.fields["suspend_mode"].widget.attrs["data-shows"] = "#id_suspend_timeout_seconds"
        self.fields["audit_log_level"].choices = self.fields["audit_log_level"].choices[1:]
        for name in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu"):
            self.fields[name].choices = _cu_choices(limits.steps(), None, "Choose…")
        for name in QUOTAS:
            self.fields[name].help_text = "Empty leaves it as it is; 0 means unlimited."
        if not is_admin:
            self.fields["kind"].choices = [
                (slug, label)
                for slug, label in self.fields["kind"].choices
                if not (slug in KINDS and KINDS[slug].admin_only)
            ]

    @property
    def fields_with_errors(self) -> int:
        return len([name for name in self.errors if name != forms.forms.NON_FIELD_ERRORS])

    def kinds(self) -> list[dict[str, Any]]:
        """Each kind with its bound fields, for the template's fieldsets."""
        return [
            {"kind": kind, "fields": [self[name] for name in kind.fields]}
            for kind in KINDS.values()
            if kind.fields and (self.is_admin or not kind.admin_only)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = KINDS.get(data.get("kind") or "")
        if kind is None:
            if "kind" not in self.errors:
                self.add_error("kind", MSG_CHOOSE_KIND)
            return data
        check = getattr(self, f"_check_{kind.slug}", None)
        if check and not (set(self.errors) & set(kind.fields)):
            check(data)
        return data

    def _need(self, data: dict[str, Any], *names: str, message: str = MSG_REQUIRED) -> None:
        for name in names:
            if data.get(name) in (None, "", []):
                self.add_error(name, message)

    def _check_maintenance_window(self, data: dict[str, Any]) -> None:
        self._need(data, "maintenance_weekdays", message=MSG_WINDOW_DAYS)
        self._need(data, "maintenance_start_time", "maintenance_end_time", message=MSG_TIME)
        start, end = data.get("maintenance_start_time"), data.get("maintenance_end_time")
        if start and start == end:
            self.add_error("maintenance_end_time", MSG_WINDOW_EMPTY)

    def _check_suspend(self, data: dict[str, Any]) -> None:
        if data.get("suspend_mode") == "custom" and data.get("suspend_timeout_seconds") is None:
            self.add_error("suspend_timeout_seconds", MSG_SUSPEND_CUSTOM_MISSING)
        self._need(data, "suspend_mode")

    def _check_autoscaling(self, data: dict[str, Any]) -> None:
        self._need(
            data, "autoscaling_limit_min_cu", "autoscaling_limit_max_cu", message=MSG_CU_PAIR
        )

    def _check_quota(self, data: dict[str, Any]) -> None:
        if all(data.get(name) is None for name in QUOTAS):
            self.add_error("quota_active_time", MSG_QUOTA_NONE)

    def _check_allowlist_add(self, data: dict[str, Any]) -> None:
        self._need(data, "ip_entries", message=MSG_ENTRIES_NONE)

    _check_allowlist_remove = _check_allowlist_add

    def _check_history_retention(self, data: dict[str, Any]) -> None:
        self._need(data, "history_retention")

    def _check_audit_log_level(self, data: dict[str, Any]) -> None:
        self._need(data, "audit_log_level")

    def _check_backup_schedule(self, data: dict[str, Any]) -> None:
        self._need(data, "backup_frequency")

    def change(self) -> tuple[str, dict[str, Any]]:
        """(kind, params): the values the chosen kind reads, as JSON keeps them."""
        kind = KINDS[self.cleaned_data["kind"]]
        return kind.slug, {name: self.cleaned_data.get(name) for name in kind.fields}


class ApplyForm(forms.Form):
    """Apply a planned job. A delete asks for the number of projects it will delete, typed."""

    confirm_count = forms.IntegerField(label="Number of projects to delete", required=False)

    def __init__(self, *args: Any, job_kind: str, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job_kind = job_kind
        self.count = count

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.job_kind == DELETE and data.get("confirm_count") != self.count:
            self.add_error("confirm_count", MSG_TYPE_COUNT % {"count": self.count})
        return data
