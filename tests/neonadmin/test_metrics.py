"""/metrics: Prometheus exposition for the monitoring networks only, added up across gunicorn's
worker processes."""

import os
import subprocess
import sys
import textwrap
import uuid

import pytest
import requests
from prometheus_client import REGISTRY, Counter

from neonadmin.auth.checks import metrics_networks_valid
from scripts.prodserver import production_server
from tests.conftest import TEST_NEON_KEY


@pytest.fixture
def test_counter():
    name = f"neonadmin_test_{uuid.uuid4().hex[:8]}"
    counter = Counter(name, "A metric only this test registers.")
    counter.inc(3)
    yield name
    REGISTRY.unregister(counter)


def test_an_allowed_address_reads_the_metrics(client, test_counter):
    response = client.get("/metrics")  # the test client comes from 127.0.0.1

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert "python_info" in text
    assert f"{test_counter}_total 3.0" in text
    assert "no-cache" in response["Cache-Control"]


def test_openmetrics_is_served_when_asked_for(client, test_counter):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})

    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().endswith("# EOF\n")


@pytest.mark.parametrize(
    ("allowed", "remote", "forwarded"),
    [
        (["127.0.0.1/32", "::1/128"], "10.1.2.3", None),
        # A forwarded address from someone who is not our proxy counts for nothing.
        (["203.0.113.0/24"], "10.1.2.3", "203.0.113.9"),
        # Behind our own proxy, the client is the forwarded address, not the proxy.
        (["127.0.0.1/32"], "127.0.0.1", "198.51.100.7"),
    ],
)
def test_anyone_else_finds_nothing_there(client, settings, allowed, remote, forwarded):
    settings.METRICS_ALLOWED_NETWORKS = allowed
    settings.NEONADMIN_TRUSTED_PROXIES = ["127.0.0.1/32"]
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}

    response = client.get("/metrics", REMOTE_ADDR=remote, headers=headers)

    assert response.status_code == 404


def test_a_monitoring_network_behind_our_proxy_is_let_in(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.NEONADMIN_TRUSTED_PROXIES = ["192.0.2.10/32"]

    response = client.get(
        "/metrics", REMOTE_ADDR="192.0.2.10", headers={"X-Forwarded-For": "10.20.3.4"}
    )

    assert response.status_code == 200


def test_ipv6_and_mapped_ipv4_clients(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]

    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::2").status_code == 404


def test_a_bad_network_stops_the_start(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "10.0.0.300/8", "monitoring"]

    errors = metrics_networks_valid(None)

    assert [e.id for e in errors] == ["neonadmin.E005"]
    assert "'10.0.0.300/8', 'monitoring'" in errors[0].msg


def test_the_default_networks_pass_the_check():
    assert metrics_networks_valid(None) == []


def test_worker_processes_are_added_up(client, tmp_path, monkeypatch):
    """Two processes (gunicorn's workers) count into PROMETHEUS_MULTIPROC_DIR; one scrape,
    answered by either, shows their sum."""
    worker = textwrap.dedent(
        """
        from prometheus_client import Counter
        Counter("neonadmin_test_requests", "Requests in a worker.").inc(2)
        """
    )
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    response = client.get("/metrics")

    assert response.status_code == 200
    assert "neonadmin_test_requests_total 4.0" in response.content.decode()


def test_gunicorn_serves_metrics_from_its_own_directory(tmp_path_factory, emulator):
    """The production shape: gunicorn.conf.py sets the directory before the workers load the
    app, so /metrics aggregates (and does not fail) with two workers."""
    workdir = tmp_path_factory.mktemp("prod-metrics")
    with production_server(
        workdir=workdir, neon_url=emulator.base_url, neon_key=TEST_NEON_KEY, workers=2
    ) as url:
        for _ in range(4):  # each worker answers some
            response = requests.get(f"{url}/metrics", timeout=5)
            assert response.status_code == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            # Multiprocess mode: no per-process collectors such as python_info.
            assert "python_info" not in response.text
        ready = requests.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"]["neon"] == {"ok": True}
