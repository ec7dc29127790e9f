"""The client's branch writes and backup schedules, against the emulator: what is sent, what
comes back, and annotations read beside the branches."""

from __future__ import annotations

import pytest

from projects.neon import BackupScheduleItem, NeonRejected


@pytest.fixture
def client(make_client):
    return make_client()


def _default(client, project_id: str):
    return next(b for b in client.list_branches(project_id) if b.default)


def test_a_branch_is_protected_and_unprotected(client, emu):
    project = client.list_projects(limit=5).projects[0]
    branch = _default(client, project.id)
    changed = client.update_branch(project.id, branch.id, protected=not branch.protected)
    assert changed.protected is (not branch.protected) and changed.id == branch.id
    assert _default(client, project.id).protected is changed.protected  # the cache was dropped
    assert emu.stats()["PATCH /api/v2/projects/{project_id}/branches/{branch_id}"] == 1


def test_a_backup_schedule_is_set_and_read_back(client, emu):
    project = client.list_projects(limit=5).projects[1]
    branch = _default(client, project.id)
    schedule = [
        BackupScheduleItem(frequency="daily", hour=3, retention_seconds=7 * 86400),
        BackupScheduleItem(frequency="weekly", day=7, hour=4, retention_seconds=None),
    ]
    client.set_backup_schedule(project.id, branch.id, schedule)
    read = client.get_backup_schedule(project.id, branch.id)
    assert [item.as_api() for item in read] == [item.as_api() for item in schedule]
    client.set_backup_schedule(project.id, branch.id, [])
    assert client.get_backup_schedule(project.id, branch.id) == []


def test_neon_refuses_a_retention_under_an_hour(client):
    project = client.list_projects(limit=5).projects[2]
    branch = _default(client, project.id)
    with pytest.raises(NeonRejected):
        client.set_backup_schedule(
            project.id, branch.id, [BackupScheduleItem(frequency="daily", retention_seconds=60)]
        )


def test_annotations_come_with_the_branches(client):
    created = client.create_project(
        {"name": "annotated", "branch": {"annotations": {"env": "preview", "team": "web"}}}
    )
    listed = _default(client, created.project.id)
    assert dict(listed.annotations) == {"env": "preview", "team": "web"}
    one = client.get_branch(created.project.id, listed.id)
    assert dict(one.annotations) == {"env": "preview", "team": "web"}
