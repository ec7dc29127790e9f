"""``/organizations/{org_id}/billing/spending_limit`` (beta): an organization's monthly cap in
cents, for Launch and Scale plans, set with PUT, removed with DELETE, kept with ``--state``."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from neon_emulator import seed
from neon_emulator.app import EmulatorApp

ACME, BOREALIS, CEDAR = seed.ACME, seed.BOREALIS, seed.CEDAR


def _url(org_id: str) -> str:
    return f"/organizations/{org_id}/billing/spending_limit"


def test_set_read_and_remove(api, conforms):
    assert conforms(api.get(_url(ACME))) == {"spending_limit_cents": None}
    put = api.request("PUT", _url(ACME), json={"spending_limit_cents": 250_000})
    assert conforms(put) == {"spending_limit_cents": 250_000}
    assert conforms(api.get(_url(ACME))) == {"spending_limit_cents": 250_000}
    assert conforms(api.get(_url(CEDAR))) == {"spending_limit_cents": None}, "per organization"
    assert conforms(api.delete(_url(ACME))) == {}
    assert conforms(api.get(_url(ACME))) == {"spending_limit_cents": None}
    assert conforms(api.delete(_url(ACME))) == {}, "removing no limit still succeeds"


def test_a_reset_forgets_the_limit(emu, api):
    api.request("PUT", _url(ACME), json={"spending_limit_cents": 100})
    emu.reset(seed=20)
    assert api.get(_url(ACME)).json() == {"spending_limit_cents": None}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (None, "request body is required"),
        ({}, "spending_limit_cents is required"),
        ({"spending_limit_cents": 0}, "send DELETE"),
        ({"spending_limit_cents": None}, "send DELETE"),
        ({"spending_limit_cents": -5}, "greater than or equal to 1"),
        ({"spending_limit_cents": 2**63}, "less than or equal to"),
        ({"spending_limit_cents": "5000"}, "expected integer"),
        ({"spending_limit_cents": 50.5}, "expected integer"),
        ({"spending_limit_cents": 5000.0}, "expected integer"),
        ({"spending_limit_cents": True}, "expected integer"),
        ({"spending_limit_cents": 5000, "currency": "usd"}, "currency"),
        ([5000], "expected object"),
    ],
)
def test_a_bad_limit_is_refused(api, conforms, body, words):
    response = api.request("PUT", _url(ACME), json=body)
    assert response.status_code == 400, response.text
    assert words in conforms(response)["message"]
    assert api.get(_url(ACME)).json() == {"spending_limit_cents": None}, "nothing changed"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_launch_and_scale_have_one(emu, api, conforms, method):
    body = {"spending_limit_cents": 100} if method == "PUT" else None
    business = api.request(method, _url(BOREALIS), json=body)
    assert business.status_code == 403
    assert "Business plan" in conforms(business)["message"]
    emu.set_plan(ACME, "free_v3")
    free = api.request(method, _url(ACME), json=body)
    assert free.status_code == 403 and "Free plan" in conforms(free)["message"]
    emu.set_plan(ACME, "launch")
    assert api.request(method, _url(ACME), json=body).status_code == 200
    unknown = api.request(method, _url("org-nobody-12345678"), json=body)
    assert unknown.status_code == 404
    conforms(unknown)


def test_other_methods_are_not_allowed(api, conforms):
    response = api.post(_url(ACME), json={"spending_limit_cents": 100})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


def test_the_limit_is_kept_in_the_state_file(tmp_path):
    path = tmp_path / "neon.state"
    auth = {"Authorization": "Bearer k"}
    first = Client(EmulatorApp(seed_count=3, state_path=path))
    put = first.put(f"/api/v2{_url(CEDAR)}", json={"spending_limit_cents": 9900}, headers=auth)
    assert put.status_code == 200
    again = Client(EmulatorApp(state_path=path))
    assert again.get(f"/api/v2{_url(CEDAR)}", headers=auth).json == {"spending_limit_cents": 9900}
