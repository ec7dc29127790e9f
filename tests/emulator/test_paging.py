"""Cursor paging: every project exactly once, newest first, even while the list changes."""

from __future__ import annotations

import pytest

from neon_emulator.testing import run_emulator
from tests.emulator.conftest import Api, all_projects


def _pages(api: Api, path: str = "/projects", limit: int = 400, between=None, **params):
    cursor = None
    while True:
        query = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = api.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        yield body["projects"]
        if len(body["projects"]) < limit:
            return
        cursor = body["pagination"]["cursor"]
        if between:
            between()


@pytest.fixture(scope="module")
def big():
    with run_emulator(seed=10_000) as emu:
        yield emu


def test_ten_thousand_projects_each_exactly_once(big):
    api = Api(big.base_url)
    seen = [p["id"] for p in all_projects(api)]
    assert len(seen) == 10_000
    assert len(set(seen)) == 10_000


def test_list_is_newest_first(big):
    api = Api(big.base_url)
    projects = api.get("/projects", params={"limit": 400}).json()["projects"]
    created = [p["created_at"] for p in projects]
    assert created == sorted(created, reverse=True)


def test_each_owner_pages_cover_its_own_projects(big):
    """Without org_id the personal account's projects, with it that org's: disjoint, complete."""
    api = Api(big.base_url)
    orgs = [o["id"] for o in api.get("/users/me/organizations").json()["organizations"]]
    by_owner = {}
    for owner in [None, *orgs]:
        params = {} if owner is None else {"org_id": owner}
        listed = [p for page in _pages(api, **params) for p in page]
        assert {p.get("org_id") for p in listed} == {owner}
        ids = [p["id"] for p in listed]
        assert len(ids) == len(set(ids)) > 400  # more than one page each
        by_owner[owner] = set(ids)
    assert sum(map(len, by_owner.values())) == len(set().union(*by_owner.values())) == 10_000
    # The seed keeps a good personal share: the default list of the demo is full.
    assert 0.4 < len(by_owner[None]) / 10_000 < 0.7


def test_paging_while_creating_and_deleting_skips_and_repeats_nothing(emu, api):
    for _ in range(30):
        api.post("/projects", json={"project": {}})
    before = {p["id"] for page in _pages(api, limit=7) for p in page}
    created_during, deleted_during = set(), set()
    older_than_cursor = []

    def churn():
        # A new project lands at the head (before the cursor); it must not shift later pages.
        created_during.add(api.post("/projects", json={"project": {}}).json()["project"]["id"])
        # Delete one project that is still ahead of the cursor, so it must simply vanish.
        victim = older_than_cursor.pop()
        assert api.delete(f"/projects/{victim}").status_code in (200, 409, 423)
        deleted_during.add(victim)

    listed = []
    everything = sorted(before)
    older_than_cursor.extend(everything)
    for page in _pages(api, limit=7, between=churn):
        listed.extend(p["id"] for p in page)
        for project_id in (p["id"] for p in page):
            if project_id in older_than_cursor:
                older_than_cursor.remove(project_id)
    assert len(listed) == len(set(listed)), "a project was listed twice"
    deleted_ok = {pid for pid in deleted_during if api.get(f"/projects/{pid}").status_code == 404}
    assert set(listed) >= before - deleted_during, "a project that was never deleted was skipped"
    assert not (set(listed) & deleted_ok & set(older_than_cursor))
    assert not (set(listed) & created_during), "a project created at the head showed up later"


def test_empty_last_page_keeps_the_cursor(api):
    first = api.get("/projects", params={"limit": 400}).json()
    cursor = first["pagination"]["cursor"]
    rest = api.get("/projects", params={"limit": 400, "cursor": cursor}).json()
    assert rest["projects"] == []


def test_search_is_partial_and_case_insensitive(api):
    projects = api.get("/projects", params={"limit": 400}).json()["projects"]
    target = projects[3]
    word = target["name"].split("-")[0].upper()
    found = api.get("/projects", params={"search": word, "limit": 400}).json()["projects"]
    assert target["id"] in {p["id"] for p in found}
    assert all(word.lower() in p["name"].lower() or word.lower() in p["id"] for p in found)
    by_id = api.get("/projects", params={"search": target["id"][:12]}).json()["projects"]
    assert target["id"] in {p["id"] for p in by_id}


def test_operations_paging(api):
    created = api.post("/projects", json={"project": {}}).json()
    pid = created["project"]["id"]
    seen, cursor = [], None
    while True:
        params = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = api.get(f"/projects/{pid}/operations", params=params).json()
        seen.extend(op["id"] for op in body["operations"])
        if not body["operations"]:
            break
        cursor = body["pagination"]["cursor"]
    assert sorted(seen) == sorted(op["id"] for op in created["operations"])
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("sort_by", ["name", "created_at", "updated_at"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_branch_cursor_paging(api, sort_by, sort_order):
    projects = api.get("/projects", params={"limit": 20}).json()["projects"]
    for project in projects:
        pid = project["id"]
        everything = api.get(f"/projects/{pid}/branches").json()["branches"]
        seen, cursor = [], None
        while True:
            params = {"limit": 1, "sort_by": sort_by, "sort_order": sort_order}
            if cursor:
                params["cursor"] = cursor
            body = api.get(f"/projects/{pid}/branches", params=params).json()
            assert body["pagination"]["sort_by"] == sort_by
            seen.extend(b["id"] for b in body["branches"])
            cursor = body["pagination"].get("next")
            if not cursor:
                break
        assert sorted(seen) == sorted(b["id"] for b in everything)
        assert len(seen) == len(set(seen))
