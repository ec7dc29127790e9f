"""The policy file (`POLICY_FILE`): classes of projects, and per class the settings its projects
must have, each with a severity. It is YAML, reviewed in git like code:

    classes:                      # a project is in the first class it matches, else unclassified
      - name: production
        match:
          organizations: [org-acme-analytics-41502719]
          names: ["*-prod", "prod-*"]   # shell-style patterns on the project's name
      - name: preview
        match: {names: ["*-preview-*"]}
      - name: staging                 # any of these: a name, or the default branch's annotation
        match: [{names: ["*-staging"]}, {annotations: {env: staging}}]
    rules:
      production:
        - {rule: postgres_version_min, value: 16, severity: deny}
        - {rule: history_retention_min, value: 604800, severity: warn, notify_after: 1d}

A value is checked with the rules the settings form asks (projects.rules), so a policy that
Neon would refuse cannot load: reading the file gives every problem at once, each with where it
is, and a file with any problem is not used at all.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml

from policy.catalog import KINDS

SEVERITIES = ("deny", "warn")
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
ANNOTATION_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9._/-]{0,62}$")
DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class ClassMatch:
    organizations: tuple[str, ...] = ()  # organization IDs; "personal" for the personal account
    names: tuple[str, ...] = ()  # shell-style patterns (fnmatch) on the project's name
    # key=value pairs the default branch's annotation must all hold (env=prod): known for the
    # projects whose default branch the dashboard has read (fleet.branches)
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProjectClass:
    name: str
    matches: tuple[ClassMatch, ...]  # a project meeting any of them is in the class


@dataclass(frozen=True)
class Rule:
    klass: str
    kind: str  # policy.catalog.KINDS
    value: Any
    severity: str  # deny or warn
    notify_after: timedelta | None = None
    fix_after: timedelta | None = None

    @property
    def id(self) -> str:
        return f"{self.klass}.{self.kind}"


@dataclass(frozen=True)
class Policy:
    classes: tuple[ProjectClass, ...]
    rules: tuple[Rule, ...]
    digest: str  # sha256 of the file's bytes, as the page shows it
    path: str = ""
    loaded_at: datetime | None = None
    auto_fix: bool = False  # may the worker open fix jobs itself after fix_after
    problems: tuple[str, ...] = field(default=())

    def rules_of(self, klass: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.klass == klass]


class PolicyError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse(text: str, *, path: str = "", loaded_at: datetime | None = None) -> Policy:
    """The policy `text` holds, or PolicyError naming every problem."""
    problems: list[str] = []
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PolicyError([f"not YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(["the file must be a mapping with `classes` and `rules`"])
    for key in sorted(set(data) - {"classes", "rules", "auto_fix"}):
        problems.append(f"{key}: unknown key (expected classes, rules, auto_fix)")
    classes = _classes(data.get("classes") or [], problems)
    rules = _rules(data.get("rules") or {}, {c.name for c in classes}, problems)
    auto_fix = data.get("auto_fix", False)
    if not isinstance(auto_fix, bool):
        problems.append("auto_fix: must be true or false")
    if problems:
        raise PolicyError(problems)
    return Policy(
        classes=tuple(classes),
        rules=tuple(rules),
        digest=hashlib.sha256(text.encode()).hexdigest(),
        path=path,
        loaded_at=loaded_at,
        auto_fix=bool(auto_fix),
    )


def _classes(given: Any, problems: list[str]) -> list[ProjectClass]:
    if not isinstance(given, list):
        problems.append("classes: must be a list, in the order a project is matched")
        return []
    classes: list[ProjectClass] = []
    for i, entry in enumerate(given):
        where = f"classes[{i}]"
        if not isinstance(entry, dict) or "name" not in entry:
            problems.append(f"{where}: must have a name and a match")
            continue
        name = entry["name"]
        if not isinstance(name, str) or not NAME.match(name) or name == UNCLASSIFIED:
            problems.append(
                f"{where}.name: {name!r} is not a class name (lower-case letters, digits, - "
                f"and _, starting with a letter; `{UNCLASSIFIED}` is taken)"
            )
            continue
        if name in {c.name for c in classes}:
            problems.append(f"{where}.name: {name} is named twice")
            continue
        given = entry.get("match") or {}
        alternatives = given if isinstance(given, list) else [given]
        if not alternatives or not all(isinstance(m, dict) and m for m in alternatives):
            problems.append(
                f"{where}.match: say which projects it takes (organizations, names, "
                "annotations), or list such matches, any of which takes a project"
            )
            continue
        many = isinstance(given, list)
        matches = tuple(
            _match(m, f"{where}.match[{k}]" if many else f"{where}.match", problems)
            for k, m in enumerate(alternatives)
        )
        classes.append(ProjectClass(name, matches))
    return classes


def _match(match: dict, where: str, problems: list[str]) -> ClassMatch:
    for key in sorted(set(match) - {"organizations", "names", "annotations"}):
        problems.append(f"{where}.{key}: unknown (expected organizations, names, annotations)")
    lists = {}
    for key in ("organizations", "names"):
        value = match.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"{where}.{key}: must be a list of non-empty strings")
            value = []
        lists[key] = tuple(value)
    lists["annotations"] = _annotations(match.get("annotations") or {}, where, problems)
    return ClassMatch(**lists)


def _annotations(given: Any, where: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """`{key: value}` pairs of a branch annotation (Neon: strings, at most 50 of them)."""
    if not isinstance(given, dict) or len(given) > 50:
        problems.append(f"{where}.annotations: must map up to 50 keys to their values")
        return ()
    pairs = []
    for key, value in given.items():
        if not isinstance(key, str) or not ANNOTATION_KEY.match(key):
            problems.append(
                f"{where}.annotations: {key!r} is not an annotation key (a letter, then "
                "letters, digits, . _ / -, up to 63)"
            )
        elif not isinstance(value, str | int | bool) or value == "":
            problems.append(f"{where}.annotations.{key}: must be a non-empty string")
        else:
            pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    return tuple(sorted(pairs))


def _rules(given: Any, classes: set[str], problems: list[str]) -> list[Rule]:
    if not isinstance(given, dict):
        problems.append("rules: must map each class to its list of rules")
        return []
    rules: list[Rule] = []
    for klass, entries in given.items():
        if klass not in classes and klass != UNCLASSIFIED:
            problems.append(f"rules.{klass}: no such class")
            continue
        if not isinstance(entries, list):
            problems.append(f"rules.{klass}: must be a list of rules")
            continue
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            rule = _rule(klass, i, entry, problems)
            if rule is None:
                continue
            if rule.kind in seen:
                problems.append(f"rules.{klass}[{i}]: {rule.kind} is given twice for {klass}")
                continue
            seen.add(rule.kind)
            rules.append(rule)
    return rules


def _rule(klass: str, i: int, entry: Any, problems: list[str]) -> Rule | None:
    where = f"rules.{klass}[{i}]"
    if not isinstance(entry, dict) or "rule" not in entry:
        problems.append(f"{where}: must name its rule (rule: …)")
        return None
    kind = KINDS.get(entry["rule"])
    if kind is None:
        known = ", ".join(sorted(KINDS))
        problems.append(f"{where}.rule: {entry['rule']!r} is not a rule (known: {known})")
        return None
    for key in sorted(set(entry) - {"rule", "value", "severity", "notify_after", "fix_after"}):
        problems.append(f"{where}.{key}: unknown key")
    severity = entry.get("severity", "warn")
    if severity not in SEVERITIES:
        problems.append(f"{where}.severity: {severity!r} is not deny or warn")
    if "value" not in entry and kind.needs_value:
        problems.append(f"{where}.value: {kind.slug} needs a value ({kind.value_help})")
        return None
    value = entry.get("value", kind.default)
    found = kind.check(value)
    problems += [f"{where}.value: {message}" for message in found]
    times = {}
    for key in ("notify_after", "fix_after"):
        times[key] = _duration(entry.get(key), f"{where}.{key}", problems)
    if times["fix_after"] is not None and not kind.fixable:
        problems.append(f"{where}.fix_after: {kind.slug} cannot be fixed by a change ({kind.fix})")
    if found or severity not in SEVERITIES:
        return None
    return Rule(klass, kind.slug, kind.normal(value), severity, **times)


def _duration(given: Any, where: str, problems: list[str]) -> timedelta | None:
    if given is None:
        return None
    matched = DURATION.match(str(given).strip())
    if not matched:
        problems.append(f"{where}: {given!r} is not a duration such as 0m, 30m, 12h, 7d or 2w")
        return None
    return timedelta(**{UNITS[matched.group(2)]: int(matched.group(1))})
