"""Connection URIs and passwords stay out of error reports: the traceback variables Django
writes to logs and admin emails. (With DEBUG on, Django's technical page shows everything.)"""

import os
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from django.urls import reverse
from django.views.debug import ExceptionReporter

from audit.services import Actor
from projects import services
from projects.neon import get_client
from projects.views import detail, edit
from tests.projects.test_create import URL as CREATE_URL
from tests.projects.test_create import VALID

pytestmark = pytest.mark.django_db

PROJECTS = Path(services.__file__).parent
PASSWORD = "npg_SuperSecret42"
CLEANSED = "********************"  # SafeExceptionReporterFilter.cleansed_substitute
SECRET = f"postgresql://owner:{PASSWORD}@ep-x.neon.tech/db"


class Boom(Exception):
    pass


def reported_variables(raised) -> str:
    """The dashboard's frames' variables as an error report (DEBUG off) shows them; the test's
    and mock's own frames hold the secret by construction."""
    reporter = ExceptionReporter(None, raised.type, raised.value, raised.tb)
    frames = reporter.get_traceback_frames()
    shown = [f["vars"] for f in frames if f"{PROJECTS}{os.sep}" in f["filename"]]
    assert shown, "no frame of the dashboard in the traceback"
    return repr(shown)


@pytest.fixture
def debug_off(settings):
    settings.DEBUG = False


def test_the_connect_views_uri_is_hidden(operator_client, neon, debug_off):
    project_id = get_client().list_projects(limit=1).projects[0].id
    connect = reverse("projects:connect", args=[project_id])
    data = operator_client.get(connect).context["form"].cleaned_data
    data = {k: v for k, v in data.items() if v is not False}
    with (
        mock.patch.object(services, "connection_reveal", return_value=SECRET),
        mock.patch.object(detail, "ConnectionStrings", side_effect=Boom),
        pytest.raises(Boom) as raised,
    ):
        operator_client.post(connect, data)
    report = reported_variables(raised)
    assert "project_connect" in repr([f.name for f in raised.traceback])
    assert PASSWORD not in report


def test_the_created_pages_secrets_are_hidden(operator_client, neon, debug_off):
    with (
        mock.patch.object(edit, "_created_operations", side_effect=Boom),
        pytest.raises(Boom) as raised,
    ):
        operator_client.post(CREATE_URL, VALID)
    frames = [entry.frame.f_locals for entry in raised.traceback]
    created = next(f["created"] for f in frames if "created" in f)
    password = created.connection_details[0].password
    assert password and password not in reported_variables(raised)
    # Hidden as a whole, not only by the dataclass's repr: the view's own variables are masked.
    view_vars = next(
        dict(frame["vars"])
        for frame in ExceptionReporter(
            None, raised.type, raised.value, raised.tb
        ).get_traceback_frames()
        if frame["function"] == "project_create"
    )
    assert view_vars["created"] == CLEANSED


def test_the_create_services_result_is_hidden(neon, debug_off):
    broken = SimpleNamespace(password=PASSWORD)  # no .project: fails after the call returned
    with (
        mock.patch.object(services, "get_client") as client,
        pytest.raises(AttributeError) as raised,
    ):
        client.return_value.create_project.return_value = broken
        services.project_create(actor=Actor(username="otto"), data={"name": "x"})
    assert PASSWORD not in reported_variables(raised)
