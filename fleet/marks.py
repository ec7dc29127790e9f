"""What a feature above the fleet says of its projects, shown and filtered like the inventory's
own values, without the fleet importing that feature (STYLE.md idiom 18).

Two kinds of mark:

- per row, in the inventory itself: a class (`project_class`) and a count of rules the project is
  out of (`drift`). The feature writes them (`set_marks` for one project, set-based updates and
  `tally.rebuild()` for the fleet); the page facets, filters, sorts and counts them from the
  tally like any other value.
- rules (`register_rules`): the rules a project can be out of, each a filter of the page ("out of
  rule X") and a chip with its count. A rule's rows are a condition the feature builds (an
  EXISTS on its own table), so a rule filter is answered by the rows, as a search is.

- bulk actions (`register_bulk_action`): a button beside "Bulk change…" that sends the same
  selection (the ticked rows, or the filters) to the feature's own page (set the class).

The policy app registers them in its `AppConfig.ready()`; with nothing registered the page shows
none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Q

from fleet import tally
from fleet.models import InventoryProject

RULE_COUNTS_SECONDS = 300


@dataclass(frozen=True)
class Rule:
    id: str
    label: str  # "production: Postgres 16 or newer"
    why: str
    severity: str  # deny, warn


@dataclass(frozen=True)
class Rules:
    """A feature's rules: `listed()` in the page's order, `rows(rule_id)` the condition on the
    inventory of the rows out of that rule, `counts()` each rule's rows out of it."""

    listed: Callable[[], list[Rule]]
    rows: Callable[[str], Q]
    counts: Callable[[], dict[str, int]]
    link: Callable[[str], str]  # the rule's own page (what it asks, the fix)


@dataclass(frozen=True)
class BulkAction:
    label: str
    url_name: str  # a POST view that takes the fleet's selection (bulk.selectors.selection_get)
    admin_only: bool = False


_rules: Rules | None = None
_bulk_actions: list[BulkAction] = []


def register_bulk_action(action: BulkAction) -> None:
    if action not in _bulk_actions:
        _bulk_actions.append(action)


def bulk_actions(*, admin: bool) -> list[BulkAction]:
    return [a for a in _bulk_actions if admin or not a.admin_only]


def register_rules(rules: Rules) -> None:
    global _rules
    _rules = rules


def rules() -> list[Rule]:
    return _rules.listed() if _rules else []


def rule(rule_id: str) -> Rule | None:
    return next((r for r in rules() if r.id == rule_id), None)


def rule_rows(rule_id: str) -> Q:
    """The rows out of the rule; none for a rule no one registered (a stale link)."""
    if _rules is None or rule(rule_id) is None:
        return Q(pk__in=[])
    return _rules.rows(rule_id)


def rule_link(rule_id: str) -> str:
    return _rules.link(rule_id) if _rules else ""


def rule_counts() -> dict[str, int]:
    """Each rule's count, kept until the tally changes: every change of drift moves a row's
    mark, and so the tally's generation."""
    if _rules is None:
        return {}
    key = f"fleet:rule-counts:{tally.generation()}"
    counts = cache.get(key)
    if counts is None:
        counts = _rules.counts()
        cache.set(key, counts, RULE_COUNTS_SECONDS)
    return counts


def set_marks(row: InventoryProject, *, project_class: str, drift: int) -> bool:
    """One project's marks, and the tally following it; False if nothing changed."""
    if (row.project_class, row.drift) == (project_class, drift):
        return False
    before = tally.group_of(row)
    row.project_class, row.drift = project_class, drift
    row.save(update_fields=["project_class", "drift"])
    tally.move(before, tally.group_of(row))
    return True
