"""The production shape: gunicorn (gthread) + WhiteNoise with DEBUG off, configured from the
environment alone, behind a trusted SSO proxy, talking to Neon (here the emulator)."""

import pytest
import requests

from scripts.prodserver import PROXY_HEADERS, production_server
from tests.conftest import TEST_NEON_KEY


@pytest.fixture(scope="module")
def production(tmp_path_factory, emulator):
    with production_server(
        workdir=tmp_path_factory.mktemp("prod"), neon_url=emulator.base_url, neon_key=TEST_NEON_KEY
    ) as url:
        yield url


def test_healthz(production):
    response = requests.get(f"{production}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_a_trusted_proxy_identity_sees_the_project_list(production):
    response = requests.get(f"{production}/projects/", headers=PROXY_HEADERS, timeout=10)
    assert response.status_code == 200
    assert 'id="results"' in response.text


def test_without_an_identity_pages_need_a_login(production):
    response = requests.get(f"{production}/projects/", timeout=5, allow_redirects=False)
    assert response.status_code in (302, 403)


def test_static_files_are_served_compressed_and_cacheable(production):
    page = requests.get(f"{production}/accounts/login/", timeout=5).text
    css = next(part.split('"')[0] for part in page.split('href="') if ".css" in part.split('"')[0])
    assert "/static/css/app." in css and css != "/static/css/app.css"  # hashed name
    response = requests.get(f"{production}{css}", timeout=5, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == "gzip"
    assert "immutable" in response.headers["Cache-Control"]


def test_security_headers(production):
    response = requests.get(f"{production}/accounts/login/", timeout=5)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_concurrent_first_sign_ins_all_succeed(production):
    """Eight people arriving at once each write a user, a role and a session. On SQLite this
    used to fail with "database is locked"; every one must get the page."""
    from concurrent.futures import ThreadPoolExecutor

    def visit(i: int) -> int:
        headers = PROXY_HEADERS | {"X-Forwarded-Email": f"person{i}@example.test"}
        return requests.get(f"{production}/projects/", headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(visit, range(16))) == [200] * 16
