"""Protected branches "cannot be deleted, archived, or reset, and block deletion of the project".

The emulator answers such a project delete with 409 and changes nothing. Seeded projects with a
protected branch are found through ``GET /projects/{id}/branches`` (``"protected": true``).
"""

from __future__ import annotations

from tests.emulator.conftest import all_projects


def _protected_branches(api, project_id: str) -> list[dict]:
    branches = api.get(f"/projects/{project_id}/branches").json()["branches"]
    return [b for b in branches if b["protected"]]


def _with_protected(api) -> list[tuple[dict, list[dict]]]:
    """Every visible project that has a protected branch, with those branches."""
    found = []
    for project in all_projects(api):
        protected = _protected_branches(api, project["id"])
        if protected:
            found.append((project, protected))
    return found


def test_delete_of_a_project_with_a_protected_branch_is_409(api, conforms):
    project, protected = _with_protected(api)[0]
    pid = project["id"]
    before = api.get(f"/projects/{pid}").json()["project"]
    ops_before = api.get(f"/projects/{pid}/operations", params={"limit": 1000}).json()

    response = api.delete(f"/projects/{pid}")

    assert response.status_code == 409, response.text
    body = conforms(response)
    assert body["code"] == "CONFLICT"
    assert "protected" in body["message"] and pid in body["message"]
    for branch in protected:
        assert branch["name"] in body["message"] and branch["id"] in body["message"]
    # Nothing changed: still there, not among the deleted, no operation started.
    assert api.get(f"/projects/{pid}").json()["project"] == before
    recoverable = all_projects(api, recoverable="true")
    assert pid not in {p["id"] for p in recoverable}
    assert api.get(f"/projects/{pid}/operations", params={"limit": 1000}).json() == ops_before
    assert api.post(f"/projects/{pid}/recover").status_code == 400  # not deleted


def test_the_message_names_every_protected_branch(emu, api, conforms):
    emu.reset(seed=40)
    project, protected = next((p, b) for p, b in _with_protected(api) if len(b) > 1)
    message = conforms(api.delete(f"/projects/{project['id']}"))["message"]
    for branch in protected:
        assert f"{branch['name']} ({branch['id']})" in message


def test_protection_is_checked_before_the_lock(api, conforms):
    """A client that retries 423 must not retry a delete that can never succeed."""
    project, _ = _with_protected(api)[0]
    pid = project["id"]
    des = project["default_endpoint_settings"]
    assert api.patch(f"/projects/{pid}", json={"project": {"default_endpoint_settings": des}}).ok
    assert api.patch(f"/projects/{pid}", json={"project": {"name": "x"}}).status_code == 423
    response = api.delete(f"/projects/{pid}")
    assert response.status_code == 409
    conforms(response)


def test_unprotected_projects_still_delete(api, conforms):
    protected_ids = {p["id"] for p, _ in _with_protected(api)}
    project = next(p for p in all_projects(api) if p["id"] not in protected_ids)
    assert conforms(api.delete(f"/projects/{project['id']}"))["project"]["id"] == project["id"]


def test_seed_protects_a_few_older_projects(emu, api):
    emu.reset(seed=120)
    projects = all_projects(api)
    protected = {p["id"] for p, _ in _with_protected(api)}
    assert 5 <= len(protected) < len(projects) / 4
    # The newest projects, which demos and tests pick first, delete without a fuss.
    newest = sorted(projects, key=lambda p: p["created_at"], reverse=True)[:9]
    assert not protected & {p["id"] for p in newest}
    # Protected branches are sometimes not only the default one.
    assert any(any(not b["default"] for b in branches) for _, branches in _with_protected(api))


def test_seeded_deleted_projects_have_no_protected_branch(emu, api):
    """They were deleted, so nothing can have blocked it."""
    emu.reset(seed=120)
    deleted = all_projects(api, recoverable="true")
    assert deleted
    for project in deleted:
        recovered = api.post(f"/projects/{project['id']}/recover").json()
        assert not any(b["protected"] for b in recovered["branches"])


def test_seed_is_the_same_every_time(emu, api):
    first = [(p["id"], [b["id"] for b in bs]) for p, bs in _with_protected(api)]
    emu.reset()
    assert [(p["id"], [b["id"] for b in bs]) for p, bs in _with_protected(api)] == first
