"""A branch's backup schedule: one line per frequency Neon accepts (daily, weekly, monthly), each
on or off, with when the snapshot is taken and how long it is kept."""

from __future__ import annotations

from typing import Any

from django import forms

from projects import rules
from projects.neon import BackupScheduleItem

# Which of hour and day each frequency is taken at (the spec: "if applicable").
WHEN = {"daily": ("hour",), "weekly": ("day", "hour"), "monthly": ("day", "hour")}
LABELS = {"hour": "Hour (UTC)", "day": "Day"}


class BackupScheduleForm(forms.Form):
    """`initial`: the schedule in force (a list of BackupScheduleItem)."""

    def __init__(self, data=None, *, schedule: list[BackupScheduleItem] = (), **kwargs):
        super().__init__(data, **kwargs)
        current = {item.frequency: item for item in schedule}
        # Items of a frequency Neon's docs do not list (the spec's text names hourly and
        # yearly): not offered, but kept as they are when the schedule is saved.
        self.kept = [item for item in schedule if item.frequency not in rules.BACKUP_ACCEPTED]
        for frequency in rules.BACKUP_ACCEPTED:
            item = current.get(frequency)
            self.fields[f"{frequency}_on"] = forms.BooleanField(
                required=False, label=frequency.capitalize(), initial=item is not None
            )
            for name in WHEN[frequency]:
                low, high = rules.BACKUP_RANGES[name]
                self.fields[f"{frequency}_{name}"] = forms.IntegerField(
                    required=False,
                    min_value=low,
                    max_value=high,
                    label=LABELS[name],
                    initial=getattr(item, name) if item else None,
                )
            kept = item.retention_seconds if item else None
            self.fields[f"{frequency}_retention_hours"] = forms.IntegerField(
                required=False,
                min_value=rules.BACKUP_RETENTION_MIN_SECONDS // 3600,
                max_value=rules.BACKUP_RETENTION_MAX_SECONDS // 3600,
                label="Keep for (hours)",
                help_text="Empty: until deleted.",
                initial=kept // 3600 if kept else None,
            )

    def lines(self) -> list[dict[str, Any]]:
        """The form's fields by frequency, as the page lays them out."""
        return [
            {
                "frequency": frequency,
                "on": self[f"{frequency}_on"],
                "fields": [self[f"{frequency}_{name}"] for name in WHEN[frequency]]
                + [self[f"{frequency}_retention_hours"]],
            }
            for frequency in rules.BACKUP_ACCEPTED
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for violation in rules.backup_schedule([item.as_api() for item in self._items(data)]):
            self.add_error(violation.field if violation.field in self.fields else None,
                           violation.message)  # fmt: skip
        return data

    def schedule(self) -> list[BackupScheduleItem]:
        return self._items(self.cleaned_data) + self.kept

    @staticmethod
    def _items(data: dict[str, Any]) -> list[BackupScheduleItem]:
        items = []
        for frequency in rules.BACKUP_ACCEPTED:
            if not data.get(f"{frequency}_on"):
                continue
            hours = data.get(f"{frequency}_retention_hours")
            when = {name: data.get(f"{frequency}_{name}") for name in WHEN[frequency]}
            items.append(
                BackupScheduleItem(
                    frequency=frequency, retention_seconds=hours * 3600 if hours else None, **when
                )
            )
        return items
