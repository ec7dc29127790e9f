"""Neon's documented compute limits, each just inside and just outside its bound.

The spec says only CU ≥ 0.25; these are the rules of Neon's docs (neon_emulator/limits.py):
autoscaling 0.25-16 CU with max - min ≤ 8, fixed sizes up to 56 CU, no scale to zero above
16 CU, k8s-pod only fixed, and the account's plan ceiling.
"""

from __future__ import annotations

import pytest
import requests

from tests.emulator.conftest import all_projects, wait_for_operations

DES = "default_endpoint_settings"
NEVER = -1


def _des(min_cu=None, max_cu=None, suspend=None) -> dict:
    des = {}
    if min_cu is not None:
        des["autoscaling_limit_min_cu"] = min_cu
    if max_cu is not None:
        des["autoscaling_limit_max_cu"] = max_cu
    if suspend is not None:
        des["suspend_timeout_seconds"] = suspend
    return des


def _create(api, *, provisioner=None, **project):
    if provisioner is not None:
        project["provisioner"] = provisioner
    return api.post("/projects", json={"project": project})


def _refused(response, conforms, *words: str) -> str:
    assert response.status_code == 400, response.text
    body = conforms(response)
    assert body["code"] == "BAD_REQUEST"
    for word in words:
        assert word in body["message"], body["message"]
    return body["message"]


def _sizes(project: dict) -> tuple:
    des = project[DES]
    return (
        des["autoscaling_limit_min_cu"],
        des["autoscaling_limit_max_cu"],
        des["suspend_timeout_seconds"],
    )


# ---- create -------------------------------------------------------------------------------

# (min, max, suspend, provisioner, refused because the message says ...); None = accepted
CREATE = [
    # autoscaling goes up to 16 CU
    (8, 16, None, None, None),
    (8.25, 16.25, None, None, "autoscaling goes from 0.25 to 16 CU"),
    (15.75, 16, None, None, None),
    # max - min at most 8 CU
    (1, 9, None, None, None),
    (1, 9.25, None, None, "can be at most 8 CU, got 9.25 - 1 = 8.25"),
    (0.25, 8.25, None, None, None),
    (0.25, 8.5, None, None, "at most 8 CU"),
    (0.3, 8.3, None, None, None),  # exactly 8, even in binary floating point
    (0.3, 8.31, None, None, "at most 8 CU"),
    # min <= max
    (1, 1, None, None, None),
    (1.25, 1, None, None, "must be less than or equal to autoscaling_limit_max_cu"),
    # fixed sizes up to 56 CU; above 16 CU never suspended
    (56, 56, NEVER, None, None),
    (56.25, 56.25, NEVER, None, "can be at most 56 CU"),
    (16, 16, 0, None, None),
    (16, 16, 300, None, None),
    (16.25, 16.25, NEVER, None, None),
    (16.25, 16.25, 0, None, "cannot scale to zero"),
    (20, 20, NEVER, None, None),
    (20, 20, 0, None, "set it to -1 (never suspend), got 0 (the default"),
    (20, 20, 300, None, "cannot scale to zero; set it to -1 (never suspend), got 300"),
    (20, 20, 604800, None, "cannot scale to zero"),
    (20, 20, None, None, "suspend_timeout_seconds"),  # absent means 0, the default 300 s
    # no step rule: any value of at least 0.25
    (0.75, 7.5, None, None, None),
    (5, 13, None, None, None),
    (11, 11, None, None, None),
    (13, 13, None, None, None),
    (0.3, 0.3, None, None, None),
    # k8s-pod cannot autoscale
    (1, 2, None, "k8s-pod", "the k8s-pod provisioner cannot autoscale"),
    (2, 2, None, "k8s-pod", None),
    (32, 32, NEVER, "k8s-pod", None),
    (0.25, 2, None, "k8s-neonvm", None),
    (0.25, 2, None, "serverless-platform", None),
]


@pytest.mark.parametrize(
    ("min_cu", "max_cu", "suspend", "provisioner", "refusal"),
    CREATE,
    ids=[
        f"{lo}-{hi}{'' if s is None else f'-s{s}'}{'' if p is None else f'-{p}'}"
        f"-{'bad' if r else 'ok'}"
        for lo, hi, s, p, r in CREATE
    ],
)
def test_create(api, conforms, min_cu, max_cu, suspend, provisioner, refusal):
    response = _create(api, provisioner=provisioner, **{DES: _des(min_cu, max_cu, suspend)})
    if refusal is None:
        assert response.status_code == 201, response.text
        body = conforms(response)
        assert _sizes(body["project"])[:2] == (min_cu, max_cu)
        endpoint = body["endpoints"][0]
        assert (endpoint["autoscaling_limit_min_cu"], endpoint["autoscaling_limit_max_cu"]) == (
            min_cu,
            max_cu,
        )
    else:
        _refused(response, conforms, refusal)


def test_refused_create_stores_nothing(api, conforms):
    before = len(all_projects(api))
    _refused(_create(api, name="too-wide", **{DES: _des(1, 10)}), conforms, "at most 8 CU")
    assert len(all_projects(api)) == before


@pytest.mark.parametrize(
    ("project", "refusal"),
    [
        ({"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 9}, None),
        ({"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 9.25}, "at most 8 CU"),
        ({"autoscaling_limit_max_cu": 8.25}, None),  # min defaults to 0.25
        ({"autoscaling_limit_max_cu": 8.5}, "got 8.5 - 0.25 = 8.25"),
        ({"autoscaling_limit_min_cu": 20, "autoscaling_limit_max_cu": 20}, "cannot scale"),
        # default_endpoint_settings wins over the deprecated fields
        ({"autoscaling_limit_max_cu": 20, DES: _des(max_cu=4)}, None),
        ({"autoscaling_limit_max_cu": 4, DES: _des(max_cu=20)}, "autoscaling goes"),
    ],
    ids=["1-9", "1-9.25", "max-8.25", "max-8.5", "fixed-20", "des-wins", "des-wins-bad"],
)
def test_create_with_the_deprecated_top_level_fields(api, conforms, project, refusal):
    response = _create(api, **project)
    if refusal is None:
        assert response.status_code == 201, response.text
        conforms(response)
    else:
        _refused(response, conforms, refusal)


@pytest.mark.parametrize(
    ("provisioner", "des", "expected"),
    [
        (None, {}, (0.25, 2, 0)),
        (None, _des(min_cu=1), (1, 2, 0)),
        (None, _des(min_cu=4), (4, 4, 0)),  # the max defaults to the min when that is larger
        (None, _des(max_cu=0.5), (0.25, 0.5, 0)),
        (None, _des(min_cu=20, suspend=NEVER), (20, 20, NEVER)),
        ("k8s-pod", {}, (0.25, 0.25, 0)),  # k8s-pod: a missing side copies the other
        ("k8s-pod", _des(min_cu=2), (2, 2, 0)),
        ("k8s-pod", _des(max_cu=4), (4, 4, 0)),
    ],
)
def test_create_defaults_meet_the_rules(api, conforms, provisioner, des, expected):
    response = _create(api, provisioner=provisioner, **({DES: des} if des else {}))
    assert response.status_code == 201, response.text
    assert _sizes(conforms(response)["project"]) == expected


# ---- update: the stored settings merged with the sent ones -------------------------------


def _made(api, provisioner=None, **des) -> str:
    response = _create(api, provisioner=provisioner, **{DES: des})
    assert response.status_code == 201, response.text
    pid = response.json()["project"]["id"]
    wait_for_operations(api, pid)
    return pid


def _patch(api, pid: str, **des):
    return api.patch(f"/projects/{pid}", json={"project": {DES: des}})


# (stored min, max, suspend, provisioner, sent, refused because ...); None = accepted
UPDATES = [
    ((1, 4, 0, None), _des(max_cu=9), None),
    ((1, 4, 0, None), _des(max_cu=9.25), "got 9.25 - 1 = 8.25"),
    ((1, 4, 0, None), _des(min_cu=4), None),
    ((1, 4, 0, None), _des(min_cu=4.25), "(4.25) must be less than or equal to"),
    ((1, 4, 0, None), _des(max_cu=0.75), "(1) must be less than or equal to"),
    ((8, 16, 0, None), _des(min_cu=8), None),
    ((8, 16, 0, None), _des(min_cu=7.75), "got 16 - 7.75 = 8.25"),
    ((8, 16, 0, None), _des(max_cu=16.25), "autoscaling goes from 0.25 to 16 CU"),
    ((2, 2, 0, "k8s-pod"), _des(max_cu=4), "the k8s-pod provisioner cannot autoscale"),
    ((2, 2, 0, "k8s-pod"), _des(min_cu=1), "the k8s-pod provisioner cannot autoscale"),
    ((2, 2, 0, "k8s-pod"), _des(min_cu=4, max_cu=4), None),
    ((8, 8, 0, None), _des(min_cu=20, max_cu=20), "cannot scale to zero"),
    ((8, 8, 0, None), _des(min_cu=20, max_cu=20, suspend=NEVER), None),
    ((32, 32, NEVER, None), _des(suspend=300), "cannot scale to zero; set it to -1"),
    ((32, 32, NEVER, None), _des(suspend=0), "cannot scale to zero"),
    ((32, 32, NEVER, None), _des(min_cu=56, max_cu=56), None),
    ((32, 32, NEVER, None), _des(min_cu=56.25, max_cu=56.25), "can be at most 56 CU"),
    ((32, 32, NEVER, None), _des(max_cu=33), "autoscaling goes from 0.25 to 16 CU"),
    ((32, 32, NEVER, None), _des(min_cu=16, max_cu=16, suspend=0), None),
    ((0.25, 2, 0, None), _des(max_cu=7.5, suspend=60), None),
]


def _update_id(stored, sent, refusal) -> str:
    short = {"autoscaling_limit_min_cu": "min", "autoscaling_limit_max_cu": "max"}
    sent_text = ",".join(f"{short.get(k, 'suspend')}={v}" for k, v in sent.items())
    pod = "-pod" if stored[3] else ""
    return f"{stored[0]}-{stored[1]}-s{stored[2]}{pod}+{sent_text}-{'bad' if refusal else 'ok'}"


@pytest.mark.parametrize(
    ("stored", "sent", "refusal"), UPDATES, ids=[_update_id(*case) for case in UPDATES]
)
def test_update_checks_the_merged_result(api, conforms, stored, sent, refusal):
    min_cu, max_cu, suspend, provisioner = stored
    pid = _made(api, provisioner, **_des(min_cu, max_cu, suspend))
    before = api.get(f"/projects/{pid}").json()["project"]
    response = _patch(api, pid, **sent)
    if refusal is None:
        assert response.status_code == 200, response.text
        merged = {**before[DES], **sent}
        assert conforms(response)["project"][DES] == merged
    else:
        _refused(response, conforms, refusal)
        # Refused: nothing changed, no operation started.
        assert api.get(f"/projects/{pid}").json()["project"] == before
        ops = api.get(f"/projects/{pid}/operations").json()["operations"]
        assert {op["action"] for op in ops} == {"create_timeline", "start_compute"}


def test_update_without_compute_settings_is_not_checked_again(api, conforms):
    pid = _made(api, **_des(32, 32, NEVER))
    response = api.patch(f"/projects/{pid}", json={"project": {"name": "big-renamed"}})
    assert response.status_code == 200, response.text
    assert conforms(response)["project"]["name"] == "big-renamed"


# ---- the plan ceiling ---------------------------------------------------------------------


def _ceiling(api) -> float:
    return api.get("/users/me").json()["max_autoscaling_limit"]


def test_default_ceiling_is_a_paid_plans_16(api, conforms):
    assert conforms(api.get("/users/me"))["max_autoscaling_limit"] == 16


@pytest.mark.parametrize(
    ("ceiling", "min_cu", "max_cu", "suspend", "refusal"),
    [
        (2, 0.25, 2, None, None),
        (2, 0.25, 2.25, None, "exceeds the plan's limit of 2 CU"),
        (2, 1, 1, None, None),
        (2, 2, 2, None, None),
        # Below 16 CU (the Free plan) the ceiling caps fixed sizes too.
        (2, 2.25, 2.25, None, "exceeds the plan's limit of 2 CU"),
        (2, 32, 32, NEVER, "exceeds the plan's limit of 2 CU"),
        (8, 1, 8, None, None),
        (8, 1, 9, None, "exceeds the plan's limit of 8 CU"),
        (8, 12, 12, None, "exceeds the plan's limit of 8 CU"),
        (7.5, 0.75, 7.5, None, None),
        (7.5, 0.75, 7.75, None, "limit of 7.5 CU"),
        # From 16 CU up (a paid plan) fixed sizes go to 56 CU whatever the ceiling.
        (16, 8, 16, None, None),
        (16, 32, 32, NEVER, None),
        (16, 56, 56, NEVER, None),
        (20, 8, 16, None, None),
        (20, 12, 20, None, "autoscaling goes from 0.25 to 16 CU"),
        # 0: no ceiling; Neon's own limits still hold.
        (0, 8, 16, None, None),
        (0, 56, 56, NEVER, None),
        (0, 56.25, 56.25, NEVER, "can be at most 56 CU"),
    ],
)
def test_create_within_the_ceiling(emu, api, conforms, ceiling, min_cu, max_cu, suspend, refusal):
    emu.reset(max_autoscaling_limit=ceiling)
    assert conforms(api.get("/users/me"))["max_autoscaling_limit"] == ceiling
    response = _create(api, **{DES: _des(min_cu, max_cu, suspend)})
    if refusal is None:
        assert response.status_code == 201, response.text
        conforms(response)
    else:
        message = _refused(response, conforms, refusal)
        if "plan" in refusal:
            assert "max_autoscaling_limit" in message


@pytest.mark.parametrize(("ceiling", "default_max"), [(1, 1), (0.25, 0.25), (2, 2), (0, 2)])
def test_default_max_never_exceeds_the_ceiling(emu, api, conforms, ceiling, default_max):
    emu.reset(max_autoscaling_limit=ceiling)
    response = _create(api, name="defaults")
    assert response.status_code == 201, response.text
    assert _sizes(conforms(response)["project"]) == (0.25, default_max, 0)


def test_update_within_the_ceiling(emu, api, conforms):
    emu.reset(max_autoscaling_limit=2)
    pid = _made(api, **_des(0.5, 1))
    _refused(_patch(api, pid, autoscaling_limit_max_cu=2.25), conforms, "limit of 2 CU")
    assert _patch(api, pid, autoscaling_limit_max_cu=2).status_code == 200


def test_a_plain_reset_restores_the_startup_ceiling(emu, api):
    emu.reset(seed=3, max_autoscaling_limit=2)
    assert _ceiling(api) == 2
    emu.reset(seed=3)
    assert _ceiling(api) == 16
    emu.reset(max_autoscaling_limit=0)
    assert _ceiling(api) == 0
    emu.reset()
    assert _ceiling(api) == 16


@pytest.mark.parametrize(
    "body",
    [
        {"max_autoscaling_limit": -1},
        {"max_autoscaling_limit": 0.1},
        {"max_autoscaling_limit": "2"},
        {"max_autoscaling_limit": True},
        {"max_autoscaling_limit": None},
        {"seed": 3, "max_autoscaling": 2},
        [2],
    ],
    ids=["negative", "below-0.25", "string", "boolean", "null", "unknown-field", "array"],
)
def test_reset_refuses_a_bad_ceiling(emu, api, body):
    response = requests.post(emu.root_url + "/_emulator/reset", json=body, timeout=10)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"code", "message", "request_id"}
    assert _ceiling(api) == 16


def test_reset_answers_the_ceiling(emu):
    answer = requests.post(
        emu.root_url + "/_emulator/reset",
        json={"seed": 2, "max_autoscaling_limit": 2.5},
        timeout=10,
    ).json()
    assert answer == {
        "seed": 2,
        "projects": 2,
        "shared_projects": 2,
        "max_autoscaling_limit": 2.5,
        "org_only": False,
    }


# ---- the seed meets every rule --------------------------------------------------------------


@pytest.mark.parametrize("ceiling", [None, 0, 8, 2, 0.25])
def test_every_seeded_project_can_be_saved_unchanged(emu, api, conforms, ceiling):
    """A dashboard that sends back a project's own settings is never refused."""
    emu.reset(seed=120, max_autoscaling_limit=ceiling)
    projects = all_projects(api)
    assert len(projects) == 120
    for project in projects:
        if project.get("effective_project_permission") == "CAN_VIEW":
            emu.set_permission(project["id"], None)  # sizes are the point here, not access
    for project in projects:
        response = api.patch(f"/projects/{project['id']}", json={"project": {DES: project[DES]}})
        assert response.status_code == 200, (project["id"], _sizes(project), response.text)
    if ceiling:
        assert max(p[DES]["autoscaling_limit_max_cu"] for p in projects) <= ceiling
    conforms(response)


def test_seed_spreads_realistic_sizes(emu, api):
    emu.reset(seed=120)
    projects = all_projects(api)
    sizes = {
        (p[DES]["autoscaling_limit_min_cu"], p[DES]["autoscaling_limit_max_cu"]) for p in projects
    }
    # Off the console's steps, which the API takes.
    assert {(0.75, 7.5), (5, 13), (0.25, 2), (11, 11)} <= sizes
    big = [p for p in projects if _sizes(p) == (32, 32, NEVER)]
    assert big, "a fixed 32 CU compute that never suspends"
    pods = [p for p in projects if p["provisioner"] == "k8s-pod"]
    assert pods
    assert all(_sizes(p)[0] == _sizes(p)[1] for p in pods)
    for p in pods[:3]:
        endpoints = api.get(f"/projects/{p['id']}/endpoints").json()["endpoints"]
        assert all(
            e["autoscaling_limit_min_cu"] == e["autoscaling_limit_max_cu"] for e in endpoints
        )


def test_newest_projects_have_common_sizes(emu, api):
    """Demos and tests reach for the newest projects first: any of them can be resized to
    0.25-2 CU, or have its max alone set to 2 CU."""
    emu.reset(seed=120)
    newest = sorted(all_projects(api), key=lambda p: p["created_at"], reverse=True)[:9]
    for project in newest:
        min_cu, max_cu, _ = _sizes(project)
        assert project["provisioner"] == "k8s-neonvm"
        assert min_cu <= 1 and min_cu < max_cu <= 9
