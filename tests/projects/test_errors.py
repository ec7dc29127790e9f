"""How errors reach people: the error page's status per Neon error class, and what htmx
requests get instead (a fragment in the flash area, status 200, since htmx 2 swaps 2xx only)."""

import pytest
from django.test import RequestFactory
from django.utils.html import escape
from django_htmx.middleware import HtmxDetails

from projects.middleware import NeonErrorMiddleware
from projects.neon import (
    NeonAuthError,
    NeonBadResponse,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    NeonUnavailable,
)

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
