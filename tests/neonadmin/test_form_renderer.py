"""The Python-drawn widgets, labels and error lists are the HTML Django's own templates draw,
escaping included."""

import datetime
import re
from pathlib import Path

import pytest
from django import forms
from django.core import checks
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from neonadmin import form_renderer
from neonadmin.form_renderer import PythonWidgetRenderer


class Sample(forms.Form):
    plain = forms.ChoiceField(choices=[("1", "One"), ("<2>", 'T"w&o'), ("", "None")])
    grouped = forms.ChoiceField(
        choices=[("Small", [("0.25", "0.25 CU")]), ("Large", [("8", "8 CU"), ("16", "16 CU")])],
        widget=forms.Select(attrs={"aria-label": "Size <x>", "disabled": True, "data-x": False}),
    )
    many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], initial=["b"])


@pytest.mark.parametrize("data", [None, {"plain": "<2>", "grouped": "8", "many": ["a", "b"]}])
def test_the_same_html_as_djangos_templates(data):
    for name in ("plain", "grouped", "many"):
        ours = Sample(data, renderer=PythonWidgetRenderer())[name].as_widget()
        theirs = Sample(data, renderer=DjangoTemplates())[name].as_widget()
        assert ours == theirs


class Pair(forms.MultiWidget):
    def __init__(self):
        number = forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"})
        unit = forms.Select(choices=[("s", "seconds"), ("<m>", "mi&nutes")], attrs={"aria-x": "<"})
        super().__init__((number, unit))

    def decompress(self, value):
        return [value, "<m>"] if value is not None else [None, None]


class PairField(forms.MultiValueField):
    widget = Pair

    def __init__(self, **kwargs):
        super().__init__((forms.IntegerField(), forms.CharField()), **kwargs)

    def compress(self, data_list):
        return data_list[0] if data_list else None


class Kinds(forms.Form):
    """One field of each widget kind the renderer draws, with what needs escaping."""

    required_css_class = "req"

    text = forms.CharField(
        label='Name <"x">', initial='a"<b>&', widget=forms.TextInput(attrs={"data-on": True})
    )
    number = forms.IntegerField(required=False, initial=5, help_text="h")
    decimal = forms.FloatField(required=False, initial=0.25)
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"disabled": False}))
    url = forms.URLField(required=False)
    hidden = forms.CharField(required=False, initial="<h>", widget=forms.HiddenInput)
    password = forms.CharField(required=False, widget=forms.PasswordInput)
    time = forms.TimeField(required=False, initial=datetime.time(11, 0), widget=forms.TimeInput)
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    checked = forms.BooleanField(required=False, initial=True)
    unchecked = forms.BooleanField(required=False)
    textarea = forms.CharField(required=False, initial="x\n<y>", widget=forms.Textarea)
    empty_textarea = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    radio = forms.ChoiceField(
        choices=[("a", "A <1>"), (2, 2), ("", "none")], widget=forms.RadioSelect, initial=2
    )
    grouped_radio = forms.ChoiceField(
        choices=[("G<1>", [("a", "A"), ("b", "B")]), ("c", "C")],
        widget=forms.RadioSelect(attrs={"class": "choices <c>"}),
        required=False,
    )
    checkboxes = forms.MultipleChoiceField(
        choices=[("mon", "Monday"), ("tue", mark_safe("<i>Tue</i>"))],
        widget=forms.CheckboxSelectMultiple,
        initial=["tue"],
        required=False,
    )
    pair = PairField(required=False, initial=90)
    split = forms.SplitDateTimeField(required=False)
    hidden_split = forms.SplitDateTimeField(required=False, widget=forms.SplitHiddenDateTimeWidget)
    hidden_many = forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "B")],
        initial=["a", "b"],
        required=False,
        widget=forms.MultipleHiddenInput,
    )
    date_parts = forms.DateField(
        required=False,
        initial=datetime.date(2026, 1, 2),
        widget=forms.SelectDateWidget(years=[2025, 2026]),
    )


def rendered(form: forms.Form) -> list[list[str]]:
    return [
        [str(b), b.label_tag(), b.legend_tag(), str(b.errors), b.as_field_group()] for b in form
    ]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "<t>", "number": "x", "radio": "a", "checkboxes": ["mon"], "pair_0": "3"},
        {"text": "", "email": "not an email", "grouped_radio": "b", "pair_1": "s"},
    ],
    ids=["unbound", "bound", "errors"],
)
@pytest.mark.parametrize("auto_id", ["id_%s", "f-%s", False])
def test_every_widget_kind_as_djangos_templates_draw_it(data, auto_id):
    ours = rendered(Kinds(data, auto_id=auto_id, renderer=PythonWidgetRenderer()))
    assert ours == rendered(Kinds(data, auto_id=auto_id, renderer=DjangoTemplates()))


def test_the_common_widgets_are_drawn_without_templates(monkeypatch):
    """The speed is in not rendering templates: only what this module does not draw
    (non-empty error lists, the field group around them) goes to Django."""
    rendered_by_django = []
    original = DjangoTemplates.render

    def counting(self, template_name, context, request=None):
        rendered_by_django.append(template_name)
        return original(self, template_name, context, request)

    monkeypatch.setattr(DjangoTemplates, "render", counting)
    form = Kinds(renderer=PythonWidgetRenderer())
    for field in form:
        str(field), field.label_tag(), str(field.errors)
    assert rendered_by_django == []


def test_a_template_it_does_not_know_goes_to_django(monkeypatch):
    class Custom(forms.Form):
        file = forms.FileField(required=False)  # clearable_file_input.html: not drawn here
        choice = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)

    ours, theirs = Custom(renderer=PythonWidgetRenderer()), Custom(renderer=DjangoTemplates())
    for form in (ours, theirs):
        form.fields["choice"].widget.option_template_name = "django/forms/widgets/input_option.html"
    rendered_by_django = []
    original = DjangoTemplates.render

    def counting(self, template_name, context, request=None):
        rendered_by_django.append(template_name)
        return original(self, template_name, context, request)

    monkeypatch.setattr(DjangoTemplates, "render", counting)
    drawn = rendered(ours)
    # The radio list with an option template not drawn here, and the file input, went to Django.
    assert form_renderer.RADIO in rendered_by_django
    assert "django/forms/widgets/clearable_file_input.html" in rendered_by_django
    monkeypatch.undo()
    assert drawn == rendered(theirs)


@pytest.mark.django_db
def test_the_dashboards_forms_render_exactly_as_with_djangos_templates(neon):
    from django.conf import settings

    from projects import selectors
    from projects.forms.project import ProjectCreateForm, ProjectSettingsForm

    project, libraries, limits = selectors.project_settings_reads(
        project_id=selectors.project_page(limit=1).projects[0].id
    )
    regions, organizations, _limits = selectors.project_create_choices()
    for renderer_class in (PythonWidgetRenderer, DjangoTemplates):
        settings_form = ProjectSettingsForm(
            None, project=project, libraries=libraries, limits=limits, renderer=renderer_class()
        )
        create_form = ProjectCreateForm(
            None, regions=regions, organizations=organizations, limits=limits,
            default_org_id=settings.NEON_ORG_ID, renderer=renderer_class(),
        )  # fmt: skip
        rendered = [[str(field) for field in form] for form in (settings_form, create_form)]
        if renderer_class is PythonWidgetRenderer:
            ours = rendered
    assert ours == rendered


# --- A project template the renderer would bypass --------------------------------------------


def with_template_dir(settings, directory) -> None:
    first, *rest = settings.TEMPLATES
    settings.TEMPLATES = [first | {"DIRS": [*first["DIRS"], directory]}, *rest]


def test_a_project_template_overriding_a_drawn_one_fails_the_checks(settings, tmp_path):
    override = tmp_path / form_renderer.SELECT
    override.parent.mkdir(parents=True)
    override.write_text('<select class="ours"></select>')
    with_template_dir(settings, tmp_path)
    found = checks.run_checks(tags=[checks.Tags.templates])  # registered at start-up
    errors = [e for e in found if e.id.startswith("neonadmin.")]
    assert [(e.id, e.obj, e.level) for e in errors] == [
        ("neonadmin.E006", form_renderer.SELECT, checks.ERROR)
    ]
    assert str(override) in errors[0].msg
    settings.FORM_RENDERER = "django.forms.renderers.DjangoTemplates"  # not ours: not its call
    assert form_renderer.drawn_templates_overridden() == []


def test_a_template_django_still_draws_may_be_overridden(settings, tmp_path):
    override = tmp_path / "django/forms/widgets/clearable_file_input.html"
    override.parent.mkdir(parents=True)
    override.write_text("<input>")
    with_template_dir(settings, tmp_path)
    assert form_renderer.drawn_templates_overridden() == []


def test_no_project_template_is_bypassed_today():
    assert form_renderer.drawn_templates_overridden() == []


def test_every_template_a_drawn_template_includes_counts_as_drawn():
    """So that a Django upgrade which splits a widget template further is noticed here."""
    django_templates = Path(forms.__file__).parent / "templates"
    included = {
        name
        for drawn in form_renderer.DRAWN
        for name in re.findall(
            r"""{% include ["']([^"']+)["']""", (django_templates / drawn).read_text()
        )
    }
    assert included
    assert included <= form_renderer.DRAWN
