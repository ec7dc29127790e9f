"""/readyz: 503 only when this instance cannot serve; shared helpers down is "degraded"."""

import socket
import threading

import pytest
from django.db import OperationalError, connection
from django.test import override_settings

from neonadmin import health
from neonadmin.cache import redis_breaker
from projects import health as neon_health
from projects.neon import reset_client

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
UNREACHABLE_NEON = "http://127.0.0.1:9/api/v2"


def redis_caches(url: str) -> dict:
    return {"default": {"BACKEND": "neonadmin.cache.ResilientRedisCache", "LOCATION": url}}


@pytest.fixture(autouse=True)
def fresh_state():
    redis_breaker.reset()
    neon_health.reset_neon_check(setting="NEON_API_URL")
    with override_settings(CACHES=LOCMEM):  # CI's run sets REDIS_URL for the whole suite
        yield
    redis_breaker.reset()
    neon_health.reset_neon_check(setting="NEON_API_URL")


@pytest.fixture
def unreachable_neon(settings):
    settings.NEON_API_URL = UNREACHABLE_NEON
    settings.NEON_MAX_ATTEMPTS = 1  # refused at once, not after the retry budget
    reset_client()  # settings changes reset it too (projects/apps.py); say so anyway


@pytest.mark.django_db
def test_all_well_is_ok(client, neon):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"ok": True},
            "redis": {"ok": True, "configured": False, "message": health.REDIS_NOT_CONFIGURED},
            "neon": {"ok": True},
        },
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_live_redis_is_ok(client, neon):
    with override_settings(CACHES=redis_caches("redis://127.0.0.1:6379/15")):
        body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"] == {"ok": True, "configured": True}


@pytest.mark.django_db
def test_redis_configured_but_dead_is_degraded_not_failing(client, neon):
    with socket.socket() as sock:  # bound, not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
        with override_settings(CACHES=redis_caches(dead)):
            response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == {
        "ok": False,
        "configured": True,
        "message": health.REDIS_UNAVAILABLE,
    }
    assert body["checks"]["database"]["ok"] and body["checks"]["neon"]["ok"]


@pytest.mark.django_db
def test_neon_unreachable_is_degraded_with_its_message(client, unreachable_neon):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    neon = body["checks"]["neon"]
    assert neon["ok"] is False
    assert neon["error"] in ("NeonUnavailable", "NeonTimeout")
    assert neon["message"]


@pytest.mark.django_db
def test_a_refused_key_is_degraded(client, neon, settings):
    settings.NEON_API_KEY = "not-the-emulators-key"

    neon_check = client.get("/readyz").json()["checks"]["neon"]

    assert neon_check["ok"] is False
    assert neon_check["error"] == "NeonAuthError"


@pytest.mark.django_db
def test_neon_is_asked_at_most_once_in_ten_seconds(client, neon, monkeypatch):
    asked = []
    monkeypatch.setattr(neon_health, "_ask_neon", lambda: asked.append(1) or {"ok": True})
    now = [5000.0]
    monkeypatch.setattr(neon_health, "_clock", lambda: now[0])

    for _ in range(5):
        assert client.get("/readyz").json()["status"] == "ok"
    now[0] += neon_health.NEON_CHECK_SECONDS - 1
    client.get("/readyz")
    assert len(asked) == 1

    now[0] += 2
    client.get("/readyz")
    assert len(asked) == 2


@pytest.mark.django_db
def test_a_slow_neon_does_not_hold_up_the_probe(client, neon, monkeypatch):
    released = threading.Event()

    def slow():
        released.wait(10)
        return {"ok": True}

    monkeypatch.setattr(neon_health, "_ask_neon", slow)
    monkeypatch.setattr(neon_health, "NEON_CHECK_WAIT", 0.1)
    try:
        body = client.get("/readyz").json()
    finally:
        released.set()
    assert body["status"] == "degraded"
    assert body["checks"]["neon"] == {"ok": False, "message": neon_health.NEON_NOT_ANSWERED}


@pytest.mark.django_db
def test_a_dead_database_is_failing_with_503(client, neon, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection to server at db.internal failed")

    with monkeypatch.context() as broken:
        broken.setattr(connection, "cursor", down)
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    # Host names are for the log, not for anyone who can reach /readyz.
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}


def test_readyz_answers_get_only(client):
    assert client.post("/readyz").status_code == 405
