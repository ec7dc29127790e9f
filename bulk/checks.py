"""Would Neon refuse this project's change? Asked of the settings form itself.

The dry run fills a project's settings form with the state the change leads to, exactly as a
browser would submit it, and keeps the form's messages: every rule the settings page applies
(Neon's compute limits, the plan ceiling, the maintenance window's rules, the per-project
permission…) applies here, and any rule added there later applies here too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from projects.compute import ComputeLimits
from projects.forms.project import ProjectSettingsForm
from projects.neon import Project


def form_submission(form: forms.Form) -> QueryDict:
    """What a browser submits for `form` left as it is shown (its initial values)."""
    data = QueryDict(mutable=True)
    for bound in form:
        widget, value = bound.field.widget, bound.value()
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=True):
                data[f"{bound.html_name}{suffix}"] = "" if part is None else str(part)
        elif isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[bound.html_name] = "on"
        elif getattr(widget, "allow_multiple_selected", False):
            data.setlist(bound.html_name, [str(v) for v in value or []])
        else:
            shown = widget.format_value(value)
            if isinstance(shown, list):
                shown = shown[0] if shown else ""
            data[bound.html_name] = "" if shown is None else str(shown)
    return data


def refusals(*, project: Project, desired: dict[str, Any], limits: ComputeLimits) -> list[str]:
    """The settings form's messages for going from `project` to `desired`; empty if none."""
    shown = ProjectSettingsForm(project=project, libraries=[], state=desired, limits=limits)
    form = ProjectSettingsForm(form_submission(shown), project=project, libraries=[], limits=limits)
    if form.is_valid():
        return []
    messages = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        messages += [f"{label}: {error}" if label else str(error) for error in errors]
    return messages
