"""Schemathesis on consumption history and the spending limit: requests generated from Neon's
published spec get no 5xx, only status codes the spec documents, JSON, and bodies that conform
to the spec's schemas.

Generated query strings seldom name an organization the user is in or a range the granularity
allows, so most cases have some parameters replaced with ones that exist (the organization, a
project of it, a range within the last 168 hours, known metrics), chosen from the case itself:
the same cases every run, and each kind of refusal still reached. Every example starts from a
freshly seeded emulator with the consumption clock fixed, so none sees what another did.
"""

from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from neon_emulator import seed
from tests.emulator import fuzzing
from tests.emulator.conftest import (
    API_KEY,
    SEED,
    Api,
    listed_projects,
    load_spec,
    skip_or_fail_in_ci,
)

EXAMPLES = 25
CHECKS = fuzzing.CHECKS
CONFIG = fuzzing.config(EXAMPLES)
PATHS = (
    "/consumption_history/v2/projects",
    "/consumption_history/v2/branches",
    "/organizations/{org_id}/billing/spending_limit",
)
NOW = "2026-12-07T18:20:00Z"
WITHIN = {"from": "2026-12-06T00:00:00Z", "to": "2026-12-08T00:00:00Z"}


def _schema():
    spec = load_spec()
    if spec is None:
        return None
    config = schemathesis.Config.from_dict(CONFIG)
    paths = "^(" + "|".join(re.escape(path) for path in PATHS) + ")$"
    return schemathesis.openapi.from_dict(spec, config=config).include(path_regex=paths)


schema = _schema()


def test_the_spec_is_there():
    if schema is None:
        skip_or_fail_in_ci(
            "the Neon OpenAPI spec is not found (see load_spec in tests/emulator/conftest.py)"
        )


def test_the_spec_has_these_operations(spec_dict):
    assert set(PATHS) <= set(spec_dict["paths"])


@pytest.fixture
def project_id(emu) -> str:
    return listed_projects(Api(emu.base_url), org_id=seed.ACME)[0]["id"]


def _steer(case, project_id: str) -> None:
    """Replace some generated values with ones that exist, by a rule of the case's own."""
    pick = len(repr(case.path_parameters)) + len(repr(case.query))
    if case.path_parameters and pick % 4:
        case.path_parameters["org_id"] = seed.ACME
    if case.query is None:
        return
    if pick % 4:
        case.query["org_id"] = seed.ACME
    if pick % 3:
        case.query.update(WITHIN)
    if pick % 5:
        case.query["metrics"] = ["compute_unit_seconds", "root_branch_bytes_month"]
    if "project_ids" in case.query and pick % 2:
        case.query["project_ids"] = [project_id]


@pytest.mark.skipif(schema is None, reason="the Neon OpenAPI spec is not found")
@(schema.parametrize() if schema is not None else lambda test: test)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_consumption_and_spending_limit_answer_as_the_spec_says(case, emu, project_id):
    emu.reset(seed=SEED)
    emu.set_consumption_clock(NOW)
    _steer(case, project_id)
    case.call_and_validate(
        base_url=emu.base_url,
        session=requests.Session(),
        headers={"Authorization": f"Bearer {API_KEY}"},
        checks=CHECKS,
    )
