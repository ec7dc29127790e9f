"""The production static files storage (WhiteNoise's compressed manifest storage, see
neonadmin/settings.py) gives every file a page asks for a hashed name once collected, so it can
be served as immutable."""

import pytest
from django.core.files.storage import storages
from django.core.management import call_command

NAMES = ("css/app.css", "js/app.js", "img/favicon.svg", "django_htmx/htmx-2.min.js")


@pytest.fixture
def collected(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    return storages["staticfiles"]


@pytest.mark.parametrize("name", NAMES)
def test_every_file_a_page_uses_gets_a_hashed_url(collected, name):
    url = collected.url(name)
    stem, _, suffix = name.rpartition(".")
    assert url.startswith(f"/static/{stem}.") and url.endswith(f".{suffix}")
    assert url != f"/static/{name}"
