"""The Python-drawn <select> is the HTML Django's own templates draw, escaping included."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from neonadmin.form_renderer import FastSelectRenderer


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
        ours = Sample(data, renderer=FastSelectRenderer())[name].as_widget()
        theirs = Sample(data, renderer=DjangoTemplates())[name].as_widget()
        assert ours == theirs


def test_other_widgets_are_left_to_django():
    class Other(forms.Form):
        text = forms.CharField()
        radio = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)

    for name in ("text", "radio"):
        ours = Other(renderer=FastSelectRenderer())[name].as_widget()
        assert ours == Other(renderer=DjangoTemplates())[name].as_widget()


@pytest.mark.django_db
def test_the_dashboards_forms_render_exactly_as_with_djangos_templates(neon):
    from django.conf import settings

    from projects import selectors
    from projects.forms.project import ProjectCreateForm, ProjectSettingsForm

    project, libraries, limits = selectors.project_settings_reads(
        project_id=selectors.project_page(limit=1).projects[0].id
    )
    regions, organizations, _limits = selectors.project_create_choices()
    for renderer_class in (FastSelectRenderer, DjangoTemplates):
        settings_form = ProjectSettingsForm(
            None, project=project, libraries=libraries, limits=limits, renderer=renderer_class()
        )
        create_form = ProjectCreateForm(
            None, regions=regions, organizations=organizations, limits=limits,
            default_org_id=settings.NEON_ORG_ID, renderer=renderer_class(),
        )  # fmt: skip
        rendered = [[str(field) for field in form] for form in (settings_form, create_form)]
        if renderer_class is FastSelectRenderer:
            ours = rendered
    assert ours == rendered
