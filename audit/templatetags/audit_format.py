import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """A recorded value as people read it in Neon's API: JSON, not Python's repr."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
