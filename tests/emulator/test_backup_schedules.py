"""getSnapshotSchedule and setSnapshotSchedule (GET/PUT .../branches/{branch_id}/backup_schedule).

The spec's BackupScheduleItem: ``frequency`` (its text names hourly to yearly), ``hour`` 0-23,
``day`` 1-31, ``month`` 1-12, ``retention_seconds`` at least 3600. Neon's API reference takes
daily, weekly and monthly only and keeps scheduled snapshots up to 35 days; the emulator holds
a PUT to both, and refuses a field no schedule of that frequency can use.
"""

from __future__ import annotations

import pytest

from neon_emulator.validation import BACKUP_FREQUENCY_RULE, BACKUP_RETENTION_RULE, WEEKDAY_RULE
from tests.emulator.conftest import all_projects

DAY = 86400
SCHEDULE = [
    {"frequency": "daily", "hour": 3, "retention_seconds": 7 * DAY},
    {"frequency": "weekly", "hour": 2, "day": 7, "retention_seconds": 35 * DAY},
    {"frequency": "monthly", "hour": 0, "day": 31, "retention_seconds": 3600},
    {"frequency": "daily"},
]


def _main(api) -> str:
    """The path of the newest project's default branch."""
    pid = api.get("/projects", params={"limit": 1}).json()["projects"][0]["id"]
    branches = api.get(f"/projects/{pid}/branches").json()["branches"]
    return f"/projects/{pid}/branches/{next(b for b in branches if b['default'])['id']}"


def test_a_branch_without_a_schedule_has_an_empty_one(api, conforms):
    path = _main(api)
    assert conforms(api.get(f"{path}/backup_schedule")) == {"schedule": []}


def test_put_replaces_the_schedule_and_get_returns_it(api, conforms):
    path = _main(api)
    response = api.request("PUT", f"{path}/backup_schedule", json={"schedule": SCHEDULE})
    assert response.status_code == 200, response.text
    assert conforms(response) == {}
    assert conforms(api.get(f"{path}/backup_schedule")) == {"schedule": SCHEDULE}

    shorter = {"schedule": SCHEDULE[:1]}
    assert api.request("PUT", f"{path}/backup_schedule", json=shorter).status_code == 200
    assert api.get(f"{path}/backup_schedule").json() == shorter
    assert api.request("PUT", f"{path}/backup_schedule", json={"schedule": []}).ok
    assert api.get(f"{path}/backup_schedule").json() == {"schedule": []}


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({"frequency": "hourly", "hour": 1}, BACKUP_FREQUENCY_RULE),
        ({"frequency": "yearly", "month": 1, "day": 1}, BACKUP_FREQUENCY_RULE),
        ({"frequency": "Daily"}, BACKUP_FREQUENCY_RULE),
        ({"hour": 3}, "frequency: required"),
        ({"frequency": 1}, "frequency: expected string"),
        ({"frequency": "daily", "retention_seconds": 3599}, BACKUP_RETENTION_RULE),
        ({"frequency": "daily", "retention_seconds": 35 * DAY + 1}, BACKUP_RETENTION_RULE),
        ({"frequency": "daily", "retention_seconds": "3600"}, "expected integer"),
        ({"frequency": "daily", "hour": 24}, "hour"),
        ({"frequency": "daily", "hour": -1}, "hour"),
        ({"frequency": "daily", "hour": 3.0}, "expected integer"),
        ({"frequency": "daily", "day": 1}, "a daily schedule has no day"),
        ({"frequency": "weekly", "day": 8}, WEEKDAY_RULE),
        ({"frequency": "monthly", "day": 0}, "day"),
        ({"frequency": "monthly", "day": 32}, "day"),
        ({"frequency": "monthly", "day": 1, "month": 1}, "a monthly schedule has no month"),
        ({"frequency": "daily", "minute": 30}, "unknown field 'minute'"),
        ("daily", "expected object"),
    ],
)
def test_what_neon_refuses_is_400_and_changes_nothing(api, conforms, item, says):
    path = _main(api)
    assert api.request("PUT", f"{path}/backup_schedule", json={"schedule": SCHEDULE}).ok
    response = api.request("PUT", f"{path}/backup_schedule", json={"schedule": [SCHEDULE[0], item]})
    assert response.status_code == 400, response.text
    body = conforms(response)
    assert body["code"] == "BAD_REQUEST"
    assert says in body["message"] and "schedule[1]" in body["message"]
    assert api.get(f"{path}/backup_schedule").json() == {"schedule": SCHEDULE}


@pytest.mark.parametrize(
    "body", [None, [], {}, {"schedule": {}}, {"schedule": None}, {"schedule": [], "x": 1}]
)
def test_a_malformed_body_is_400(api, conforms, body):
    response = api.request("PUT", f"{_main(api)}/backup_schedule", json=body)
    assert response.status_code == 400
    conforms(response)


def test_unknown_branch_is_404(api, conforms):
    path = _main(api).rsplit("/", 1)[0] + "/br-nope-00000000/backup_schedule"
    for response in (api.get(path), api.request("PUT", path, json={"schedule": []})):
        assert response.status_code == 404
        conforms(response)


def test_seeded_schedules_conform_and_can_be_put_back_unchanged(emu, api, conforms):
    emu.reset(seed=120)
    seen = set()
    for project in all_projects(api):
        for branch in api.get(f"/projects/{project['id']}/branches").json()["branches"]:
            path = f"/projects/{project['id']}/branches/{branch['id']}/backup_schedule"
            schedule = conforms(api.get(path))
            if schedule["schedule"]:
                assert branch["default"], "the seed schedules default branches only"
                seen |= {item["frequency"] for item in schedule["schedule"]}
                put = api.request("PUT", path, json=schedule)
                view_only = project.get("effective_project_permission") == "CAN_VIEW"
                assert put.status_code == (403 if view_only else 200), put.text
                assert api.get(path).json() == schedule
    assert seen == {"daily", "weekly", "monthly"}
