"""Reads from Neon. Views call these; only services write."""

from django.core.cache import cache

from projects.neon import Organization, ProjectPage, Region, get_client

# Regions and organizations change rarely; every create form and list filter needs them.
ACCOUNT_CACHE_SECONDS = 300


def project_page(
    *, limit: int, cursor: str | None = None, search: str | None = None, org_id: str | None = None
) -> ProjectPage:
    return get_client().list_projects(limit=limit, cursor=cursor, search=search, org_id=org_id)


def region_list() -> list[Region]:
    return cache.get_or_set("neon:regions", get_client().list_regions, ACCOUNT_CACHE_SECONDS)


def organization_list() -> list[Organization]:
    return cache.get_or_set(
        "neon:organizations", get_client().list_organizations, ACCOUNT_CACHE_SECONDS
    )
