import json

from django import template

from audit.forms import action_label

register = template.Library()


@register.filter
def as_json(value) -> str:
    """A recorded value as people read it in Neon's API: JSON, not Python's repr."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@register.filter(name="action_label")
def action_label_filter(action: str) -> str:
    """An audit action as people say it ("Change settings" for project.update)."""
    return action_label(action)
