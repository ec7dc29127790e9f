"""Configuration comes only from the environment, and production refuses to start half-set."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "SECRET_KEY", "NEON_API_KEY", "NEONADMIN_DEMO", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import neonadmin.settings as s; print(s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SECRET_KEY and NEON_API_KEY must be set"),
        ({"SECRET_KEY": "x" * 50}, "NEON_API_KEY must be set"),
        ({"NEON_API_KEY": "fake-neon-key"}, "SECRET_KEY must be set"),
    ],
)
def test_debug_off_refuses_to_start_without_secrets(env, missing):
    result = load_settings(**env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_debug_off_with_both_secrets_starts():
    result = load_settings(SECRET_KEY="x" * 50, NEON_API_KEY="fake-neon-key")
    assert result.returncode == 0, result.stderr


def test_demo_mode_needs_debug():
    result = load_settings(SECRET_KEY="x" * 50, NEON_API_KEY="fake-neon-key", NEONADMIN_DEMO="true")
    assert result.returncode != 0
    assert "NEONADMIN_DEMO is for local use only" in result.stderr


def test_database_url_selects_postgres():
    result = load_settings(
        DEBUG="true", DATABASE_URL="postgres://postgres@127.0.0.1:5432/neonadmin"
    )
    assert result.stdout.strip() == "django.db.backends.postgresql"


@pytest.mark.django_db
def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_with_a_nonce(viewer_client, neon):
    response = viewer_client.get("/projects/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "'unsafe-inline'" not in policy
    html = response.content.decode()
    assert "<script src=" in html and "onclick" not in html
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert re.search(r'<script src="[^"]*app\.js" defer nonce="' + re.escape(nonce) + '"', html)


def test_every_variable_the_settings_read_is_documented_in_env_example():
    import re

    read = set(
        re.findall(
            r'env\.(?:str|bool|int|float|list|path|db)\(\s*"([A-Z_]+)"',
            (ROOT / "neonadmin" / "settings.py").read_text(),
        )
    )
    read |= set(
        re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text())
    )
    documented = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()
