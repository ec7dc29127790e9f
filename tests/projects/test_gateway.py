"""The gateway seen from the pages: calls made at once, cached reads, writes that forget what
they touched, secrets never kept, Server-Timing, and stale data with a banner when Neon fails.

Counted, not timed: the emulator's request counts and an in-flight counter around the
transport show what was sent and what overlapped."""

import pickle
import re
import threading

import pytest
from django.core.cache import cache
from django.urls import reverse

from projects.context_processors import age_text
from projects.neon import begin_request, end_request, gateway, get_client
from projects.neon.transport import Transport
from tests.formdata import form_data

HX = {"HX-Request": "true"}
PROJECT = "GET /api/v2/projects/{project_id}"
URI = "GET /api/v2/projects/{project_id}/connection_uri"
STALE_HEADLINE = "Neon is not answering right now"

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(neon):
    chosen = get_client().list_projects(limit=1).projects[0]
    cache.clear()
    neon.clear_stats()
    return chosen


@pytest.fixture
def in_flight(monkeypatch):
    """The largest number of Neon requests this process had open at once."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    original = Transport.request

    def counting(self, *args, **kwargs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            return original(self, *args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(Transport, "request", counting)
    return state


def page(name: str, project_id: str) -> str:
    return reverse(f"projects:{name}", args=[project_id])


# --- Fan-out ----------------------------------------------------------------------------------


def test_the_connect_page_makes_its_independent_calls_at_once(
    viewer_client, project, neon, in_flight
):
    neon.set_faults({"latency_ms": 200, "method": "GET"})  # long enough for calls to overlap
    response = viewer_client.get(page("connect", project.id))
    assert response.status_code == 200 and response.context["strings"]
    # project, branches and endpoints together; then databases and roles (and the project,
    # if it is still on its way) together.
    assert in_flight["most"] >= 3
    stats = neon.stats()
    assert stats[PROJECT] == 1 and stats[URI] == 1


def test_a_second_look_at_the_connect_page_asks_neon_only_what_is_not_cached(
    viewer_client, project, neon
):
    viewer_client.get(page("connect", project.id))
    neon.clear_stats()
    response = viewer_client.get(page("connect", project.id))
    assert response.status_code == 200
    # Branches, endpoints, databases and roles come from the cache; the project and the URI
    # (it holds the password) are asked for every time.
    assert neon.stats() == {PROJECT: 1, URI: 1}


def test_the_settings_page_reads_project_libraries_and_limits_at_once(
    operator_client, project, neon, in_flight
):
    neon.set_faults({"latency_ms": 200, "method": "GET"})
    assert operator_client.get(page("settings", project.id)).status_code == 200
    assert in_flight["most"] == 3
    neon.clear_stats()
    assert operator_client.get(page("settings", project.id)).status_code == 200
    assert neon.stats() == {PROJECT: 1}


def test_the_new_project_form_reads_its_choices_at_once_and_then_from_the_cache(
    operator_client, neon, in_flight
):
    cache.clear()
    neon.set_faults({"latency_ms": 200, "method": "GET"})
    assert operator_client.get(reverse("projects:create")).status_code == 200
    assert in_flight["most"] == 3
    neon.clear_stats()
    assert operator_client.get(reverse("projects:create")).status_code == 200
    assert neon.stats() == {}


def test_the_detail_page_without_javascript_reads_its_panels_at_once(
    viewer_client, project, neon, in_flight
):
    neon.set_faults({"latency_ms": 200, "method": "GET"})
    response = viewer_client.get(page("detail", project.id), {"panel": "all"})
    assert response.status_code == 200
    assert response.context["branches_loaded"] and response.context["operations_loaded"]
    assert in_flight["most"] >= 3


# --- Writes forget what they touched; secrets are never kept ---------------------------------


def test_a_saved_setting_makes_the_next_page_read_the_project_afresh(
    operator_client, project, neon
):
    url = page("settings", project.id)
    edit = operator_client.get(url).content.decode()
    data = form_data(edit, "settings-form", name="renamed-through-the-gateway")
    review = operator_client.post(url, data).content.decode()
    apply = form_data(review, "settings-form", step="apply")
    assert operator_client.post(url, apply).status_code == 302
    neon.clear_stats()
    detail = operator_client.get(page("detail", project.id)).content.decode()
    assert "renamed-through-the-gateway" in detail
    operator_client.get(url)
    # The libraries were cached before the write; the write forgot them.
    assert neon.stats()["GET /api/v2/projects/{project_id}/available_preload_libraries"] == 1


class RecordingCache:
    """The real cache (memory or Redis), noting every value the gateway stores."""

    def __init__(self, real):
        self.real, self.stored = real, []

    def set(self, key, value, *args, **kwargs):
        self.stored.append(pickle.dumps(value))
        return self.real.set(key, value, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_revealed_passwords_are_asked_for_each_time_and_never_cached(
    operator_client, project, neon, monkeypatch
):
    recording = RecordingCache(cache)
    monkeypatch.setattr(gateway, "cache", recording)
    response = operator_client.get(page("connect", project.id))
    data = form_data(response.content.decode(), page("connect", project.id))
    for _ in range(2):
        revealed = operator_client.post(page("connect", project.id), data)
        assert revealed.context["revealed"] is True
    uri = revealed.context["strings"].uri
    password = uri.split(":")[2].split("@")[0]
    assert neon.stats()[URI] == 3  # the masked one, then each reveal
    kept = b"".join(recording.stored)
    assert kept  # the page's other reads were cached
    assert password.encode() not in kept and uri.encode() not in kept


class KeyRecordingCache(RecordingCache):
    def set(self, key, value, *args, **kwargs):
        self.stored.append(key)
        return self.real.set(key, value, *args, **kwargs)


def test_what_neon_said_is_stored_as_it_arrives_in_a_page_or_outside_one(
    project, neon, monkeypatch
):
    recording = KeyRecordingCache(cache)
    monkeypatch.setattr(gateway, "cache", recording)
    get_client().get_project(project.id)  # a shell: kept as the last known answer
    assert len(recording.stored) == 1
    _, token = begin_request()
    try:
        get_client().list_branches(project.id)  # cached for a few seconds, and kept
        assert len(recording.stored) == 3  # before the page is done, not after
    finally:
        end_request(token)
    assert sum(":last:" in key for key in recording.stored) == 2


# --- Server-Timing ---------------------------------------------------------------------------


def test_every_page_says_how_it_spent_its_time(viewer_client, project, neon):
    timing = viewer_client.get(page("detail", project.id))["Server-Timing"]
    assert "neon;dur=" in timing and 'desc="1 calls"' in timing
    assert "cache;" in timing and "budget;dur=" in timing and "total;dur=" in timing
    assert viewer_client.get(reverse("healthz")).has_header("Server-Timing")


# --- Stale rather than broken ----------------------------------------------------------------


def test_when_neon_fails_a_page_shows_the_last_known_data_with_a_banner(
    viewer_client, project, neon
):
    assert viewer_client.get(page("detail", project.id)).status_code == 200
    neon.set_faults({"status": 503})
    response = viewer_client.get(page("detail", project.id))
    html = response.content.decode()
    assert response.status_code == 200
    assert project.name in html
    assert STALE_HEADLINE in html and re.search(r"as of \d+ s ago", html)
    assert "HTTP 503" in html


def test_a_stale_fragment_brings_the_banner_out_of_band(viewer_client, project, neon):
    viewer_client.get(page("detail", project.id), {"panel": "branches"}, headers=HX)
    neon.set_faults({"status": 503})
    response = viewer_client.get(page("detail", project.id), {"panel": "endpoints"}, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    # Endpoints were never read before: the panel shows the error, with no banner.
    assert 'id="neon-stale"' not in html
    neon.clear_faults()
    viewer_client.get(page("detail", project.id), {"panel": "operations"}, headers=HX)
    neon.set_faults({"status": 503})
    response = viewer_client.get(page("detail", project.id), {"panel": "operations"}, headers=HX)
    html = response.content.decode()
    assert '<div id="neon-stale" hx-swap-oob="true">' in html and STALE_HEADLINE in html


def test_a_page_that_writes_never_acts_on_stale_data(operator_client, project, neon):
    url = page("settings", project.id)
    edit = operator_client.get(url).content.decode()
    neon.set_faults({"status": 503})
    data = form_data(edit, "settings-form", name="never-sent")
    response = operator_client.post(url, data)
    assert response.status_code == 502
    assert STALE_HEADLINE not in response.content.decode()
    assert not any(route.startswith("PATCH") for route in neon.stats())


def test_nothing_stale_to_show_is_still_a_clear_error(viewer_client, project, neon):
    neon.set_faults({"status": 503})
    response = viewer_client.get(page("detail", project.id))
    assert response.status_code == 502


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (89, "89 s"), (600, "10 min"), (7200, "2 h"), (259200, "3 days")],
)
def test_the_age_reads_like_a_person_would_say_it(seconds, text):
    assert age_text(seconds) == text


# --- Prometheus ------------------------------------------------------------------------------


def test_metrics_count_neon_calls_cache_results_and_budget(viewer_client, project, neon, client):
    viewer_client.get(page("connect", project.id))
    viewer_client.get(page("connect", project.id))
    exposed = client.get(reverse("metrics"), REMOTE_ADDR="127.0.0.1").content.decode()
    route = 'route="GET /projects/{project_id}/connection_uri"'
    assert f'neonadmin_neon_requests_total{{outcome="200",{route}}}' in exposed
    assert "neonadmin_neon_request_seconds_bucket{" in exposed
    assert 'neonadmin_neon_cache_total{result="hit"}' in exposed
    assert 'neonadmin_neon_cache_total{result="miss"}' in exposed
    assert "neonadmin_neon_budget_tokens " in exposed
    assert "neonadmin_neon_rate_limited_total " in exposed
