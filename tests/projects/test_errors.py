"""How errors reach people: the error page's status per Neon error class, and what htmx
requests get instead (a fragment in the flash area, status 200, since htmx 2 swaps 2xx only)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.utils.html import escape
from django_htmx.middleware import HtmxDetails

from projects.middleware import MSG_FORBIDDEN, NeonErrorMiddleware
from projects.neon import (
    NeonAuthError,
    NeonBadResponse,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    NeonUnavailable,
    get_client,
)
from projects.views.detail import MSG_REVEAL_FORBIDDEN

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def handle(exception, *, htmx: bool = False, user=None):
    request = RequestFactory().get("/projects/", headers=HX if htmx else {})
    request.htmx = HtmxDetails(request)
    if user is not None:
        request.user = user
    return NeonErrorMiddleware(lambda r: None).process_exception(request, exception)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NeonNotFound(status=404), 404),
        (NeonRejected("bad", status=400), 400),
        (NeonRejected("bad", status=422), 400),
        (NeonRejected("exists", status=409), 409),
        (NeonLocked(status=423), 409),
        (NeonRateLimited(status=429), 503),
        (NeonTimeout(), 504),
        (NeonUnavailable(status=500), 502),
        (NeonUnavailable(status=503), 502),
        (NeonBadResponse(status=200), 502),
        (NeonAuthError(status=401), 502),  # the dashboard's key, not the person, was refused
    ],
)
def test_error_page_status_follows_the_error(error, status, admin_user):
    response = handle(error, user=admin_user)
    assert response.status_code == status
    assert escape(error.message) in response.content.decode()


def test_rate_limited_page_says_when_to_retry(admin_user):
    response = handle(NeonRateLimited(status=429, retry_after=2.5), user=admin_user)
    assert response.status_code == 503 and response["Retry-After"] == "3"


@pytest.mark.parametrize("error", [NeonNotFound(status=404), NeonLocked(status=423)])
def test_htmx_errors_go_to_the_flash_area_with_200(error, admin_user):
    response = handle(error, htmx=True, user=admin_user)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#flash" and response["HX-Reswap"] == "innerHTML"
    assert error.message in response.content.decode()


def test_htmx_permission_denied_is_shown_in_the_flash_area(admin_user):
    response = handle(PermissionDenied(), htmx=True, user=admin_user)
    assert response.status_code == 200 and response["HX-Retarget"] == "#flash"
    assert MSG_FORBIDDEN in response.content.decode() and "HTTP 403" in response.content.decode()


def test_permission_denied_without_htmx_is_left_to_django():
    assert handle(PermissionDenied("no")) is None


@pytest.fixture
def connect_url(neon):
    project = get_client().list_projects(limit=1).projects[0]
    return reverse("projects:connect", args=[project.id])


def test_a_viewers_htmx_reveal_shows_why_it_was_refused(viewer_client, connect_url):
    data = viewer_client.get(connect_url).context["form"].cleaned_data
    data = {k: v for k, v in data.items() if v is not False}
    response = viewer_client.post(connect_url, data, headers=HX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#flash"
    assert MSG_REVEAL_FORBIDDEN in response.content.decode()
    # Without htmx it is still a 403, for browsers and HTTP-level callers alike.
    assert viewer_client.post(connect_url, data).status_code == 403


def test_a_role_refused_htmx_request_is_not_a_silent_403(viewer_client, neon):
    response = viewer_client.get(reverse("projects:create"), headers=HX)
    assert response.status_code == 200 and response["HX-Retarget"] == "#flash"
    assert "operator" in response.content.decode().lower()
    assert viewer_client.get(reverse("projects:create")).status_code == 403
