"""JSON shapes of the emulated objects, as the published spec defines them."""

from __future__ import annotations

from datetime import UTC, datetime

from neon_emulator import quotas
from neon_emulator.store import (
    RECOVERY_WINDOW_SECONDS,
    Branch,
    Endpoint,
    Operation,
    Organization,
    Project,
    Snapshot,
    Store,
    iso,
    now_us,
    region_host,
)

MIB = 1024 * 1024
BRANCH_LOGICAL_SIZE_LIMIT_MIB = 512 * 1024


def _platform(region_id: str) -> str:
    return region_id.partition("-")[0]


def _billing_period(now: int) -> tuple[str, str]:
    dt = datetime.fromtimestamp(now / 1e6, UTC)
    start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


def _common_project(p: Project) -> dict:
    out = {
        "id": p.id,
        "platform_id": _platform(p.region_id),
        "region_id": p.region_id,
        "name": p.name,
        "provisioner": p.provisioner,
        # Not copied: the app serializes the answer while it still holds the store lock.
        # Views: rendering a page of seeded projects leaves them unbuilt (store.Project).
        "default_endpoint_settings": p.default_endpoint_settings_view(),
        "settings": p.settings_view(),
        "pg_version": p.pg_version,
        "proxy_host": region_host(p.region_id),
        "branch_logical_size_limit": BRANCH_LOGICAL_SIZE_LIMIT_MIB,
        "branch_logical_size_limit_bytes": BRANCH_LOGICAL_SIZE_LIMIT_MIB * MIB,
        "store_passwords": p.store_passwords,
        "cpu_used_sec": p.compute_time_seconds,
        "creation_source": p.creation_source,
        "history_retention_seconds": p.history_retention_seconds,
        "created_at": iso(p.created_us),
        "updated_at": iso(p.updated_us),
        "synthetic_storage_size": p.synthetic_storage_size,
        "owner_id": p.owner.id,
    }
    if p.compute_last_active_us is not None:
        out["compute_last_active_at"] = iso(p.compute_last_active_us)
    if p.org_id is not None:
        out["org_id"] = p.org_id
    if p.hipaa_enabled_us is not None:
        out["hipaa_enabled_at"] = iso(p.hipaa_enabled_us)
    if p.permission is not None:
        out["effective_project_permission"] = p.permission
    return out


def project(store: Store, p: Project) -> dict:
    out = _common_project(p)
    start, end = _billing_period(now_us())
    out.update(
        {
            "data_storage_bytes_hour": p.synthetic_storage_size // 1024 * 3,
            "data_transfer_bytes": p.data_transfer_bytes,
            "written_data_bytes": p.written_data_bytes,
            "compute_time_seconds": p.compute_time_seconds,
            "active_time_seconds": p.active_time,
            "consumption_period_start": start,
            "consumption_period_end": end,
            "owner": {
                "email": p.owner.email,
                "name": p.owner.name,
                "branches_limit": 5000,
                "subscription_type": p.owner.subscription_type,
            },
        }
    )
    if quotas.has_period_quota(out["settings"]):
        # Deprecated in the spec for consumption_period_end, which it equals: quotas reset
        # with the billing period. Sent only where there is a quota to reset.
        out["quota_reset_at"] = end
    return out


def project_list_item(store: Store, p: Project) -> dict:
    out = _common_project(p)
    out["active_time"] = p.active_time
    if p.org_id is not None and p.org_id in store.organizations:
        out["org_name"] = store.organizations[p.org_id].name
    if p.deleted_us is not None:
        out["deleted_at"] = iso(p.deleted_us)
        out["recoverable_until"] = iso(p.deleted_us + RECOVERY_WINDOW_SECONDS * 1_000_000)
    return out


def branch(store: Store, p: Project, b: Branch) -> dict:
    busy = store.has_running_operations(p) and any(
        op.branch_id == b.id and store.op_status(op, now_us()) != "finished"
        for op in p.operations[-4:]
        if op.action == "create_timeline"
    )
    out = {
        "id": b.id,
        "project_id": p.id,
        "name": b.name,
        "current_state": "init" if busy else "ready",
        "state_changed_at": iso(b.created_us),
        "logical_size": b.logical_size,
        "creation_source": p.creation_source,
        "primary": b.default,
        "default": b.default,
        "protected": b.protected,
        "cpu_used_sec": 0,
        "compute_time_seconds": 0,
        "active_time_seconds": 0,
        "written_data_bytes": b.written_data_bytes,
        "data_transfer_bytes": 0,
        "created_at": iso(b.created_us),
        "updated_at": iso(b.updated_us),
        "init_source": "parent-data",
    }
    if busy:
        out["pending_state"] = "ready"
    if b.parent_id:
        out["parent_id"] = b.parent_id
        out["parent_lsn"] = "0/1F6D2B8"
        out["parent_timestamp"] = iso(b.created_us)
    if b.expires_us is not None:
        out["expires_at"] = iso(b.expires_us)
        out["ttl_interval_seconds"] = b.ttl_interval_seconds
    if b.restore_status is not None:
        out["restore_status"] = b.restore_status
        out["restored_from"] = b.restored_from
        out["restored_as"] = b.restored_as
    return out


def backup_schedule(b: Branch) -> dict:
    return {"schedule": [dict(item) for item in b.backup_schedule]}


def snapshot(s: Snapshot) -> dict:
    out = {
        "id": s.id,
        "name": s.name,
        "lsn": s.lsn,
        "timestamp": iso(s.timestamp_us),
        "source_branch_id": s.source_branch_id,
        "created_at": iso(s.created_us),
        "manual": s.manual,
    }
    if s.expires_us is not None:
        out["expires_at"] = iso(s.expires_us)
    if s.full_size is not None:
        out["full_size"] = s.full_size
    return out


def endpoint(store: Store, p: Project, e: Endpoint, *, held_since: int | None = None) -> dict:
    """``held_since``: when a quota the project reached suspended its computes (quotas.py)."""
    host_suffix = region_host(p.region_id)
    out = {
        "host": f"{e.id}.{host_suffix}",
        "id": e.id,
        "project_id": p.id,
        "branch_id": e.branch_id,
        "autoscaling_limit_min_cu": e.min_cu,
        "autoscaling_limit_max_cu": e.max_cu,
        "region_id": p.region_id,
        "type": e.type,
        "current_state": "idle" if e.idle else "active",
        "settings": {},
        "pooler_enabled": False,
        "pooler_mode": "transaction",
        "disabled": False,
        "passwordless_access": True,
        "creation_source": p.creation_source,
        "created_at": iso(e.created_us),
        "updated_at": iso(e.created_us),
        "proxy_host": host_suffix,
        "suspend_timeout_seconds": e.suspend_timeout_seconds,
        "provisioner": p.provisioner,
    }
    if e.last_active_us is not None:
        out["last_active"] = iso(e.last_active_us)
    if held_since is not None and quotas.suspended_by_hold(e, held_since):
        out["current_state"] = "idle"
        out["suspended_at"] = iso(held_since)
        return out
    suspended = e.suspended_at_us()
    if suspended is not None:
        out["suspended_at"] = iso(suspended)
    elif not e.idle and e.last_active_us is not None:
        out["started_at"] = iso(e.last_active_us)
    return out


def role(b: Branch, name: str, *, with_password: bool = False) -> dict:
    password, created = b.roles[name]
    out = {
        "branch_id": b.id,
        "name": name,
        "protected": False,
        "created_at": iso(created),
        "updated_at": iso(created),
        "authentication_method": "password",
    }
    if with_password:
        out["password"] = password
    return out


def database(b: Branch, name: str) -> dict:
    db_id, owner, created = b.databases[name]
    return {
        "id": db_id,
        "branch_id": b.id,
        "name": name,
        "owner_name": owner,
        "created_at": iso(created),
        "updated_at": iso(created),
    }


def operation(store: Store, op: Operation) -> dict:
    now = now_us()
    status = store.op_status(op, now)
    if op.done:
        duration_ms = 1234
    elif status == "finished":
        duration_ms = int(store.op_seconds * 1000)
    else:
        duration_ms = int((now - op.created_us) / 1000)
    updated = op.created_us + duration_ms * 1000
    out = {
        "id": op.id,
        "project_id": op.project_id,
        "action": op.action,
        "status": status,
        "failures_count": 0,
        "created_at": iso(op.created_us),
        "updated_at": iso(updated),
        "total_duration_ms": duration_ms,
    }
    if op.branch_id:
        out["branch_id"] = op.branch_id
    if op.endpoint_id:
        out["endpoint_id"] = op.endpoint_id
    return out


def organization(o: Organization) -> dict:
    return {
        "id": o.id,
        "name": o.name,
        "handle": o.handle,
        "plan": o.plan,
        "created_at": iso(o.created_us),
        "updated_at": iso(o.created_us),
        "managed_by": "console",
        "allow_hipaa_projects": o.allow_hipaa_projects,
        "require_mfa": False,
    }


def connection_uri(
    p: Project, e: Endpoint, role_name: str, password: str, database_name: str, *, pooled: bool
) -> str:
    from urllib.parse import quote

    host = f"{e.id}-pooler" if pooled else e.id
    return (
        f"postgresql://{quote(role_name, safe='')}:{quote(password, safe='')}"
        f"@{host}.{region_host(p.region_id)}/{quote(database_name, safe='')}"
        "?sslmode=require&channel_binding=require"
    )
