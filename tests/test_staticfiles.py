"""The production static files storage (neonadmin.staticfiles): WhiteNoise's URLs, remembered."""

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from whitenoise.storage import CompressedManifestStaticFilesStorage

NAMES = ("css/app.css", "js/app.js", "img/favicon.svg", "django_htmx/htmx-2.min.js")


@pytest.fixture
def collected(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "neonadmin.staticfiles.StaticFilesStorage"}
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return storages["staticfiles"]


def test_urls_are_whitenoise_urls_remembered(collected):
    whitenoise = CompressedManifestStaticFilesStorage()

    for name in NAMES:
        url = collected.url(name)
        assert url == whitenoise.url(name) == collected.url(name)
        assert url != f"/static/{name}"  # hashed
    assert set(collected._urls) == set(NAMES)


def test_collecting_again_forgets_them(collected):
    collected.url("css/app.css")

    call_command("collectstatic", interactive=False, verbosity=0)

    assert not collected._urls


def test_debug_serves_the_names_as_they_are(collected, settings):
    settings.DEBUG = True

    assert collected.url("css/app.css") == "/static/css/app.css"
    assert not collected._urls
