"""Django's form renderer, with its common widget templates drawn in Python.

Django renders every widget, label, error list and <option> through its own templates, each an
include or two deep: the settings form made about 60 renders and 500 includes per page, most of
the page's own time. This renderer draws the templates of the widgets the dashboard's forms use
(<select>, <input> of every type, <textarea>, radio and checkbox lists, multi-widgets such as
the quantity fields, labels, empty error lists) in Python, with the same HTML and the same
escaping as Django's templates (django/forms/templates/django/forms/…). Anything else — another
template, an option using another template, a non-empty error list — renders as Django renders
it. tests/neonadmin/test_form_renderer.py compares the two on every widget kind and on both of the
dashboard's large forms.

Each `_draw_*` returns what its template renders before BaseRenderer.render strips the result:
an included template keeps its trailing newline, as Django's `{% include %}` does.

A project template named like one of those drawn here would never be used: the system check
`drawn_templates_overridden` (registered in neonadmin.apps) says so at start-up.
"""

import re
from html import escape
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

WIDGETS = "django/forms/widgets/"
SELECT = WIDGETS + "select.html"
OPTION = WIDGETS + "select_option.html"
# Templates that are `{% include "django/forms/widgets/input.html" %}` and a newline.
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "text",
        "number",
        "email",
        "url",
        "password",
        "hidden",
        "checkbox",
        "date",
        "datetime",
        "time",
        "search",
        "tel",
        "color",
    )
)
# `{% include "django/forms/widgets/multiple_input.html" %}`, and their options'
# `{% include "django/forms/widgets/input_option.html" %}`, each with a newline.
RADIO = WIDGETS + "radio.html"
MULTIPLE_INPUTS = frozenset({RADIO, WIDGETS + "checkbox_select.html"})
INPUT_OPTIONS = frozenset({WIDGETS + "radio_option.html", WIDGETS + "checkbox_option.html"})
MULTIWIDGET = WIDGETS + "multiwidget.html"
# `{% include "django/forms/widgets/multiwidget.html" %}` and a newline.
MULTIWIDGETS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in ("splitdatetime", "splithiddendatetime", "select_date", "multiple_hidden")
)
TEXTAREA = WIDGETS + "textarea.html"
LABEL = "django/forms/label.html"
ERRORS = "django/forms/errors/list/default.html"
# Every template whose output this module writes itself: those above, and what they include.
DRAWN = (
    INPUTS
    | MULTIPLE_INPUTS
    | INPUT_OPTIONS
    | MULTIWIDGETS
    | {SELECT, OPTION, MULTIWIDGET, TEXTAREA, LABEL, ERRORS}
    | {f"{WIDGETS}{name}.html" for name in ("input", "attrs", "multiple_input", "input_option")}
    | {"django/forms/attrs.html", "django/forms/errors/list/ul.html"}
)

_CONTEXT = Context(autoescape=True)
_SPACES_BETWEEN_TAGS = re.compile(r">\s+<")  # what {% spaceless %} removes


class _NotDrawn(Exception):
    """A template or option this module does not draw: Django renders the whole widget."""


def conditional_escape(text) -> str:
    """django.utils.html.conditional_escape for what a widget holds, without the lazy-string
    checks that make Django's cost three times as much: safe text as it is, anything else
    through the standard library's `html.escape` (which Django's `escape` calls)."""
    if hasattr(text, "__html__"):
        return text.__html__()
    return escape(str(text))


def _out(value) -> str:
    """`{{ value }}`: localized, escaped unless safe."""
    if isinstance(value, str):
        return conditional_escape(value)
    return render_value_in_context(value, _CONTEXT)


def _attrs(attrs: dict) -> str:
    """attrs.html: ` name="value"`, a bare ` name` for True, nothing for False."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def _draw_input(widget: dict) -> str:
    """input.html, with its newline."""
    value = widget["value"]
    shown = "" if value is None else f' value="{conditional_escape(str(value))}"'
    return (
        f'<input type="{_out(widget["type"])}" name="{_out(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>\n"
    )


def _draw_select(widget: dict) -> str:
    """select.html (whose options are select_option.html), with its newline."""
    parts = [f'<select name="{_out(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_out(group_name)}">')
        for option in options:
            if option["template_name"] != OPTION:
                raise _NotDrawn
            parts.append(
                f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                f"{_attrs(option['attrs'])}>{_out(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _draw_multiple_input(widget: dict) -> str:
    """multiple_input.html: a <div> of labelled radio buttons or checkboxes."""
    attrs = widget["attrs"]
    id_ = attrs.get("id")
    parts = ["<div"]
    if id_:
        parts.append(f' id="{_out(id_)}"')
    if attrs.get("class"):
        parts.append(f' class="{_out(attrs["class"])}"')
    parts.append(">")
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_out(group)}</label>")
        for option in options:
            if option["template_name"] not in INPUT_OPTIONS:
                raise _NotDrawn
            parts.append(f"<div>\n    {_draw_input_option(option)}</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


def _draw_input_option(option: dict) -> str:
    """radio_option.html or checkbox_option.html: input_option.html and a newline."""
    if not option["wrap_label"]:
        return _draw_input(option) + "\n\n"
    id_ = option["attrs"].get("id")
    label_for = f' for="{_out(id_)}"' if id_ else ""
    return f"<label{label_for}>{_draw_input(option)} {_out(option['label'])}</label>\n\n"


def _draw_widget(widget: dict) -> str:
    """Any widget this module draws, as `{% include widget.template_name %}` renders it."""
    name = widget["template_name"]
    if name in INPUTS:
        return _draw_input(widget) + "\n"
    if name == SELECT:
        return _draw_select(widget)
    if name in MULTIPLE_INPUTS:
        return _draw_multiple_input(widget) + "\n"
    if name == TEXTAREA:
        value = _out(widget["value"]) if widget["value"] else ""
        return (
            f'<textarea name="{_out(widget["name"])}"{_attrs(widget["attrs"])}>\n'
            f"{value}</textarea>\n"
        )
    if name == MULTIWIDGET or name in MULTIWIDGETS:
        inner = "".join(_draw_widget(sub) for sub in widget["subwidgets"])
        drawn = _SPACES_BETWEEN_TAGS.sub("><", inner.strip())  # {% spaceless %}
        return drawn + ("\n" if name == MULTIWIDGET else "\n\n")
    raise _NotDrawn


def _draw_label(context: dict) -> str:
    """label.html: `<label for="…">Label:</label>`, or the label alone without an ID."""
    if not context["use_tag"]:
        return _out(context["label"])
    tag = _out(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{_out(context['label'])}</{tag}>"


class PythonWidgetRenderer(DjangoTemplates):
    """The dashboard's FORM_RENDERER: the common widgets drawn in Python, the rest by Django."""

    def render(self, template_name, context, request=None):
        try:
            if template_name == LABEL:
                html = _draw_label(context)
            elif template_name == ERRORS and not context["errors"]:
                html = ""
            elif "widget" in context and template_name == context["widget"]["template_name"]:
                html = _draw_widget(context["widget"])
            else:
                raise _NotDrawn
        except _NotDrawn:
            return super().render(template_name, context, request)
        # As BaseRenderer.render: the template's output, stripped. Every part is escaped.
        return mark_safe(html.strip())  # noqa: S308


def drawn_templates_overridden(app_configs=None, **kwargs) -> list[checks.Error]:
    """System check: a template in the project's template directories named like one this
    renderer draws in Python would be bypassed without a word, so it is an error."""
    if not issubclass(import_string(settings.FORM_RENDERER), PythonWidgetRenderer):
        return []
    return [
        checks.Error(
            f"{path} overrides a Django form template that {settings.FORM_RENDERER} draws in "
            "Python: it would never be used.",
            hint="Delete it, or take its widget out of neonadmin/form_renderer.py (and render "
            "forms with a renderer that reads the project's templates).",
            obj=name,
            id="neonadmin.E006",
        )
        for backend in settings.TEMPLATES
        for directory in backend.get("DIRS", ())
        for name in sorted(DRAWN)
        if (path := Path(directory) / name).is_file()
    ]
