"""The policy file: what loads, and that everything Neon would refuse, or that does not read,
is refused with where it is, all at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import checks

from policy import loaded
from policy.catalog import KINDS
from policy.document import PolicyError, parse

EXAMPLE = Path(__file__).resolve().parents[2] / "policy" / "example-policy.yaml"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        parse(text)
    return raised.value.problems


def test_the_example_loads_with_every_rule_there_is():
    policy = parse(EXAMPLE.read_text())
    assert [c.name for c in policy.classes] == ["preview", "staging", "production"]
    assert {rule.kind for rule in policy.rules_of("production")} == set(KINDS)
    history = next(r for r in policy.rules if r.id == "production.history_retention_min")
    assert (history.value, history.severity) == (604800, "deny")
    assert (history.notify_after, history.fix_after) == (timedelta(days=1), timedelta(days=7))
    assert len(policy.digest) == 64 and not policy.auto_fix


def test_what_neon_would_refuse_does_not_load():
    found = problems(
        """
classes:
  - {name: production, match: {names: ["*-prod"]}}
rules:
  production:
    - {rule: history_retention_min, value: 9999999}
    - {rule: suspend_timeout_max, value: 30}
    - {rule: autoscaling, value: {min_cu: 4, max_cu: 1}}
    - {rule: maintenance_window, value: {weekdays: [1], start_time: "02:00", end_time: "02:00"}}
    - {rule: postgres_version_min, value: 13}
    - {rule: compute_quota_max, value: 0}
"""
    )
    assert found == [
        "rules.production[0].value: History retention can be at most 30 days (2,592,000 seconds).",
        "rules.production[1].value: A custom suspend timeout is from 60 seconds to 604,800 "
        "seconds (one week); -1 never suspends and 0 is Neon's default.",
        "rules.production[2].value: The minimum compute size must not be larger than the maximum.",
        "rules.production[3].value: The start and end time must differ.",
        "rules.production[4].value: a Postgres major version must be from 14 to 18",
        "rules.production[5].value: a quota above 0 (0 is unlimited in Neon, which is no quota)",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("classes: [1", "not YAML"),
        ("- a list", "the file must be a mapping"),
        ("clases: []", "clases: unknown key"),
        ("classes: [{name: Prod, match: {names: [x]}}]", "classes[0].name: 'Prod' is not"),
        ("classes: [{name: unclassified, match: {names: [x]}}]", "`unclassified` is taken"),
        ("classes: [{name: a, match: {names: [x]}}, {name: a, match: {names: [y]}}]", "twice"),
        ("classes: [{name: a}]", "classes[0].match: say which projects"),
        ("classes: [{name: a, match: {tags: [x]}}]", "classes[0].match.tags: unknown"),
        ("classes: [{name: a, match: {names: x}}]", "must be a list of non-empty strings"),
        ("rules: {prod: []}", "rules.prod: no such class"),
        ("rules: {unclassified: [{rule: nope}]}", "'nope' is not a rule"),
        ("rules: {unclassified: [{value: 1}]}", "must name its rule"),
        (
            "rules: {unclassified: [{rule: audit_log_level, value: full, severity: block}]}",
            "severity: 'block' is not deny or warn",
        ),
        ("rules: {unclassified: [{rule: audit_log_level}]}", "audit_log_level needs a value"),
        (
            "rules: {unclassified: [{rule: audit_log_level, value: full, fix_after: soon}]}",
            "fix_after: 'soon' is not a duration",
        ),
        (
            "rules: {unclassified: [{rule: postgres_version_min, value: 16, fix_after: 7d}]}",
            "cannot be fixed by a change",
        ),
        (
            "rules: {unclassified: [{rule: deletion_protection}, {rule: deletion_protection}]}",
            "deletion_protection is given twice",
        ),
        ("auto_fix: sometimes", "auto_fix: must be true or false"),
        ("classes: [{name: a, match: []}]", "classes[0].match: say which projects"),
        (
            "classes: [{name: a, match: [{names: [x]}, {tags: [y]}]}]",
            "classes[0].match[1].tags: unknown",
        ),
        (
            "classes: [{name: a, match: {annotations: {'9env': prod}}}]",
            "'9env' is not an annotation key",
        ),
        (
            "classes: [{name: a, match: {annotations: {env: ''}}}]",
            "classes[0].match.annotations.env: must be a non-empty string",
        ),
        ("classes: [{name: a, match: {annotations: [env]}}]", "must map up to 50 keys"),
        (
            "rules: {unclassified: [{rule: backup_schedule, value: {frequency: often}}]}",
            "Neon takes scheduled snapshots daily, weekly or monthly",
        ),
        (
            "rules: {unclassified: [{rule: backup_schedule,"
            " value: {frequency: daily, retention_seconds: 60}}]}",
            "kept from an hour (3,600 seconds) to 35 days",
        ),
    ],
)
def test_each_problem_is_named_where_it_is(text, expected):
    assert any(expected in problem for problem in problems(text)), problems(text)


def test_every_problem_of_a_file_is_given_at_once():
    found = problems(
        "rules: {unclassified: [{rule: nope}, {rule: public_connections, value: open}]}\nextra: 1"
    )
    assert len(found) == 3


@pytest.mark.django_db
def test_the_system_check_refuses_a_file_with_problems(settings, tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules: {unclassified: [{rule: suspend_timeout_max, value: 5}]}")
    settings.POLICY_FILE = str(bad)
    errors = [e for e in checks.run_checks() if e.id == "policy.E001"]
    assert [e.msg for e in errors] == [
        "POLICY_FILE: rules.unclassified[0].value: A custom suspend timeout is from 60 seconds "
        "to 604,800 seconds (one week); -1 never suspends and 0 is Neon's default."
    ]
    bad.write_text(EXAMPLE.read_text())  # fixed in place: read again, no restart
    assert not [e for e in checks.run_checks() if e.id == "policy.E001"]
    assert loaded.current().policy.digest == parse(EXAMPLE.read_text()).digest


def test_no_file_is_no_policy_and_a_missing_one_says_so(settings, tmp_path):
    settings.POLICY_FILE = ""
    assert loaded.current().policy is None and not loaded.current().problems
    settings.POLICY_FILE = str(tmp_path / "absent.yaml")
    assert "cannot be read" in loaded.current().problems[0]
