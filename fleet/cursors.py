"""Keyset ("seek") cursors for the fleet's "Load more": where a page ended, as the values of
the last row shown in the page's order (the sorted column, then name, then project ID), so the
next page is "rows after these" on an index instead of an OFFSET that reads every row before.

A cursor is signed (it carries a sort value the page will compare against) and names the sort
it belongs to; one from another sort, or altered, starts the view from the top again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q

from fleet.models import InventoryProject

_SALT = "neonadmin.fleet.cursor"


def make(row: InventoryProject, *, field: str, descending: bool) -> str:
    value = getattr(row, field)
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    return signing.dumps(
        {"f": field, "d": descending, "v": value, "n": row.name, "i": row.project_id},
        salt=_SALT,
        compress=True,
    )


def read(cursor: str, *, field: str, descending: bool) -> dict[str, Any] | None:
    """The last row's keys, or None (no cursor, another sort's, or not one of ours)."""
    if not cursor:
        return None
    try:
        keys = signing.loads(cursor, salt=_SALT)
    except signing.BadSignature:
        return None
    if keys.get("f") != field or keys.get("d") != descending:
        return None
    if isinstance(keys["v"], dict) and "dt" in keys["v"]:
        keys["v"] = datetime.fromisoformat(keys["v"]["dt"])
    return keys


def after(keys: dict[str, Any], *, field: str, descending: bool) -> Q:
    """Rows after the one `keys` describes, in the order inventory_rows gives: the sorted
    column (empty values last, either way), then name, then project ID."""
    value, name, project_id = keys["v"], keys["n"], keys["i"]
    ties = Q(name__gt=name) | Q(name=name, project_id__gt=project_id)
    if field == "name":  # the sorted column is the name itself
        if descending:
            return Q(name__lt=name) | Q(name=name, project_id__gt=project_id)
        return ties
    if value is None:  # among the empty values, which come last: only ties remain
        return Q(**{f"{field}__isnull": True}) & ties
    beyond = Q(**{f"{field}__lt" if descending else f"{field}__gt": value})
    return beyond | Q(**{field: value}) & ties | Q(**{f"{field}__isnull": True})
