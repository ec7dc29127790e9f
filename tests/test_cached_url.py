"""`{% url %}` as installed (neonadmin.templatetags.cached_url) draws what Django's draws."""

import pytest
from django.template import Context, Engine, RequestContext
from django.template.defaulttags import URLNode
from django.test import RequestFactory
from django.urls import NoReverseMatch, resolve, set_script_prefix

from neonadmin.templatetags.cached_url import CachedURLNode

LINKS = (
    "{% url 'projects:list' %}",
    "{% url 'home' %}|{% url 'governance:approvals' %}",
    "{% url name %}",
    "{% url 'projects:detail' 'abc-def-12345678' %}",
    "{% url 'projects:detail' project_id=pid %}",
    "{% url 'projects:list' as list_url %}[{{ list_url }}]",
    "{% autoescape off %}{% url 'projects:list' %}{% endautoescape %}",
)


def render(source: str, *, django: bool, request=None) -> str:
    engine = Engine.get_default()
    template = engine.from_string(source)
    if django:  # the same template, its links drawn by Django's own node
        for node in template.nodelist.get_nodes_by_type(CachedURLNode):
            node.__class__ = URLNode
    values = {"name": "audit:list", "pid": "abc-def-12345678"}
    context = RequestContext(request, values) if request else Context(values)
    return template.render(context)


@pytest.mark.parametrize("source", LINKS)
@pytest.mark.parametrize("prefix", ["/", "/neonadmin/"])
def test_links_are_drawn_as_django_draws_them(source, prefix):
    plain = RequestFactory().get("/projects/")
    resolved = RequestFactory().get("/projects/")  # in the "projects" namespace: current_app
    resolved.resolver_match = resolve("/projects/")
    try:
        set_script_prefix(prefix)
        for req in (None, plain, resolved):
            ours = render(source, django=False, request=req)
            assert ours == render(source, django=True, request=req)
            assert ours == render(source, django=False, request=req)  # remembered
    finally:
        set_script_prefix("/")
    assert ("/neonadmin/" in ours) == (prefix == "/neonadmin/")


def test_the_installed_url_tag_is_ours():
    template = Engine.get_default().from_string("{% url 'projects:list' %}")
    assert template.nodelist.get_nodes_by_type(CachedURLNode)


def test_an_unknown_name_still_fails_loudly():
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such-page' %}", django=False)
    assert render("{% url 'no-such-page' as nothing %}[{{ nothing }}]", django=False) == "[]"


def test_a_link_follows_a_swapped_urlconf(settings):
    assert render("{% url 'projects:list' %}", django=False) == "/projects/"
    settings.ROOT_URLCONF = "tests.urls_mounted"
    assert render("{% url 'projects:list' %}", django=False) == "/mounted/projects/"
