"""Django's `{% url %}`, remembering the URLs of names without arguments.

Every page draws a dozen such links (the navigation, the page's own actions), and each
`reverse()` walks the resolver's patterns and checks its candidate against them: about 50 µs a
link, a tenth of the project list's own time. Without arguments, a name's URL depends only on
the URLconf, the script prefix and the current app, so it is reversed once per combination of
them. Installed as a template builtin (settings.TEMPLATES), so templates keep writing
`{% url %}`; a link with arguments, or one that does not reverse, is left to Django.
tests/test_cached_url.py compares the two.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=1024)
def reversed_url(view_name: str, current_app: str | None, prefix: str, urlconf: str) -> str:
    """`reverse(view_name)`; `prefix` (the script prefix reverse reads) is in the key only."""
    return reverse(view_name, urlconf=urlconf, current_app=current_app)


@receiver(setting_changed)
def _forget_on_new_urlconf(*, setting, **_kwargs) -> None:
    """As Django forgets its resolvers when a test swaps ROOT_URLCONF (or the URLs under it)."""
    if setting in ("ROOT_URLCONF", "FORCE_SCRIPT_NAME"):
        reversed_url.cache_clear()


class CachedURLNode(URLNode):
    def render(self, context):
        if self.args or self.kwargs:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        try:
            url = reversed_url(view_name, current_app, get_script_prefix(), urlconf)
        except NoReverseMatch:
            if self.asvar is None:
                raise
            url = ""
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
