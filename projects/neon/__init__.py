"""The Neon management API v2 client: the only code in the dashboard that talks HTTP to Neon.

    errors     what can go wrong, one exception class per kind, and the operator's words for it
    models     Neon's answers as dataclasses
    transport  HTTP: session, auth, timeouts, urllib3 retries inside a time budget, logging
    budget     the account's rate budget, shared by every instance through Redis
    gateway    short shared cache, coalescing, last known answers, fan-out
    metrics    Prometheus metrics and the per-request stats behind Server-Timing
    client     NeonClient: one method per endpoint

`get_client()` is the process-wide client built from settings; everything a caller needs is
importable from here.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from neonadmin.cache import redis_client
from projects.neon.budget import Budget, parse_rate
from projects.neon.client import NeonClient
from projects.neon.errors import (
    MSG_AUTH,
    MSG_BAD_RESPONSE,
    MSG_BUDGET_SPENT,
    MSG_CONNECTION_LOST,
    MSG_LOCKED,
    MSG_NOT_FOUND,
    MSG_RATE_LIMITED,
    MSG_TIMEOUT,
    MSG_TIMEOUT_READ,
    MSG_UNAVAILABLE,
    NeonAuthError,
    NeonBadResponse,
    NeonBudgetSpent,
    NeonError,
    NeonLocked,
    NeonNotFound,
    NeonRateLimited,
    NeonRejected,
    NeonTimeout,
    NeonUnavailable,
)
from projects.neon.metrics import RequestStats, begin_request, current, end_request
from projects.neon.models import (
    BACKUP_FREQUENCIES,
    CONSUMPTION_METRICS,
    AuthDetails,
    BackupScheduleItem,
    Branch,
    ConnectionDetails,
    ConsumptionPage,
    ConsumptionPeriod,
    ConsumptionTimeframe,
    CreatedProject,
    CurrentUser,
    Database,
    DatabaseRole,
    Endpoint,
    EndpointDefaults,
    MaintenanceWindow,
    Operation,
    OperationPage,
    Organization,
    PreloadLibrary,
    Project,
    ProjectConsumption,
    ProjectPage,
    ProjectSettings,
    Quota,
    Region,
    UpdatedProject,
)
from projects.neon.transport import USER_AGENT

__all__ = [
    "ACCOUNT_CACHE_SECONDS",
    "BACKUP_FREQUENCIES",
    "CONSUMPTION_METRICS",
    "MSG_AUTH",
    "MSG_BAD_RESPONSE",
    "MSG_BUDGET_SPENT",
    "MSG_CONNECTION_LOST",
    "MSG_LOCKED",
    "MSG_NOT_FOUND",
    "MSG_RATE_LIMITED",
    "MSG_TIMEOUT",
    "MSG_TIMEOUT_READ",
    "MSG_UNAVAILABLE",
    "USER_AGENT",
    "AuthDetails",
    "BackupScheduleItem",
    "Branch",
    "Budget",
    "ConnectionDetails",
    "ConsumptionPage",
    "ConsumptionPeriod",
    "ConsumptionTimeframe",
    "CreatedProject",
    "CurrentUser",
    "Database",
    "DatabaseRole",
    "Endpoint",
    "EndpointDefaults",
    "MaintenanceWindow",
    "NeonAuthError",
    "NeonBadResponse",
    "NeonBudgetSpent",
    "NeonClient",
    "NeonError",
    "NeonLocked",
    "NeonNotFound",
    "NeonRateLimited",
    "NeonRejected",
    "NeonTimeout",
    "NeonUnavailable",
    "Operation",
    "OperationPage",
    "Organization",
    "PreloadLibrary",
    "Project",
    "ProjectConsumption",
    "ProjectPage",
    "ProjectSettings",
    "Quota",
    "Region",
    "RequestStats",
    "UpdatedProject",
    "begin_request",
    "current",
    "end_request",
    "get_client",
    "parse_rate",
    "reset_client",
]

# Neon limits the consumption history apart from the account's allowance (FACTS.md 12).
CONSUMPTION_ROUTES = "GET /consumption_history"
# Regions, organizations and the plan's limits change rarely; every create form needs them.
ACCOUNT_CACHE_SECONDS = 300

_client_lock = threading.Lock()
_client: NeonClient | None = None


def get_client() -> NeonClient:
    """The process-wide client, built once from settings (tests reset it via `reset_client`)."""
    global _client
    with _client_lock:
        if _client is None:
            budget = Budget(
                rate=parse_rate(settings.NEON_RATE_LIMIT, "NEON_RATE_LIMIT"),
                route_burst=parse_rate(settings.NEON_ROUTE_BURST, "NEON_ROUTE_BURST"),
                shared=redis_client() is not None,
                local_share=settings.NEON_BUDGET_LOCAL_SHARE,
                interactive_wait=settings.NEON_BUDGET_WAIT,
                max_wait=settings.NEON_BUDGET_MAX_WAIT,
            )
            consumption = Budget(
                rate=parse_rate(
                    settings.NEON_CONSUMPTION_RATE_LIMIT, "NEON_CONSUMPTION_RATE_LIMIT"
                ),
                route_burst=parse_rate(
                    settings.NEON_CONSUMPTION_RATE_LIMIT, "NEON_CONSUMPTION_RATE_LIMIT"
                ),
                shared=redis_client() is not None,
                local_share=settings.NEON_BUDGET_LOCAL_SHARE,
                interactive_wait=settings.NEON_BUDGET_WAIT,
                max_wait=settings.NEON_BUDGET_MAX_WAIT,
                prefix="neon:budget:consumption",
            )
            _client = NeonClient(
                api_key=settings.NEON_API_KEY,
                base_url=settings.NEON_API_URL,
                connect_timeout=settings.NEON_CONNECT_TIMEOUT,
                read_timeout=settings.NEON_READ_TIMEOUT,
                retry_budget=settings.NEON_RETRY_BUDGET,
                max_attempts=settings.NEON_MAX_ATTEMPTS,
                budget=budget,
                route_budgets={CONSUMPTION_ROUTES: consumption},
                cache_seconds=settings.NEON_CACHE_SECONDS,
                account_cache_seconds=ACCOUNT_CACHE_SECONDS,
                stale_seconds=settings.NEON_STALE_SECONDS,
                fanout_threads=settings.NEON_FANOUT_THREADS,
            )
        return _client


def reset_client(**_: Any) -> None:
    global _client
    with _client_lock:
        old, _client = _client, None
    if old is not None:
        # Frees its sockets; a thread still holding it simply reconnects.
        old.close()
