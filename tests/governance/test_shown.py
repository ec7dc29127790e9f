"""What every page shows in passing, cached: the navigation's pending count and the list's
"protected" badges. Every change through the services shows at once; one made elsewhere (another
instance without a shared cache) within SHOWN_SECONDS."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from governance import selectors, services
from governance.models import ApprovalRequest, Protection

pytestmark = pytest.mark.django_db

NAV_COUNT = '<span class="badge nav-count" title="Pending requests">{}</span>'


def html(response) -> str:
    return response.content.decode()


def ask(actor, project_id: str = "p-1") -> ApprovalRequest:
    return services.approval_request_create(
        actor=actor, kind="unprotect", change={}, summary="x", project_id=project_id
    )


def test_the_pending_count_is_read_once_then_follows_every_decision(
    ada, bea, django_assert_num_queries
):
    assert selectors.approval_pending_count_shown() == 0
    with django_assert_num_queries(0):
        assert selectors.approval_pending_count_shown() == 0

    first, second = ask(ada, "p-1"), ask(ada, "p-2")
    assert selectors.approval_pending_count_shown() == 2
    services.approval_reject(actor=bea, approval_id=first.pk)
    assert selectors.approval_pending_count_shown() == 1
    services.approval_reject(actor=ada, approval_id=second.pk)  # withdrawn
    assert selectors.approval_pending_count_shown() == 0


def test_the_navigation_shows_the_count_to_every_role(ada, viewer_client, admin_client_):
    ask(ada)

    for client in (viewer_client, admin_client_):
        assert NAV_COUNT.format(1) in html(client.get(reverse("governance:approvals")))


def test_a_request_is_not_counted_past_its_expiry(ada):
    request = ask(ada)
    ApprovalRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() + timedelta(seconds=1.2)
    )
    cache.clear()  # as if the update had been made elsewhere

    assert selectors.approval_pending_count_shown() == 1
    time.sleep(1.3)
    assert selectors.approval_pending_count_shown() == 0


def test_badges_are_read_once_then_follow_protect_and_unprotect(
    ada, bea, django_assert_num_queries
):
    assert selectors.protected_ids_shown(project_ids=["p-1", "p-2"]) == set()
    services.protection_create(actor=ada, project_id="p-1", project_name="one", reason="prod")

    assert selectors.protected_ids_shown(project_ids=["p-1", "p-2"]) == {"p-1"}
    with django_assert_num_queries(0):
        assert selectors.protected_ids_shown(project_ids=["p-2", "p-1"]) == {"p-1"}
    services.protection_remove(actor=bea, project_id="p-1", reason="migrated")
    assert selectors.protected_ids_shown(project_ids=["p-1"]) == set()


def test_a_change_made_elsewhere_shows_within_the_bound(ada, monkeypatch):
    """Another instance's write, with no shared cache to forget: seen once the cache expires."""
    monkeypatch.setattr(selectors, "SHOWN_SECONDS", 1)  # whole seconds: Redis keeps no less
    assert selectors.protected_ids_shown(project_ids=["p-1"]) == set()
    assert selectors.approval_pending_count_shown() == 0
    Protection.objects.create(project_id="p-1", protected_by="x", protected_at=timezone.now())
    ApprovalRequest.objects.create(
        kind="unprotect", change={}, expires_at=timezone.now() + timedelta(hours=1)
    )

    assert selectors.protected_ids_shown(project_ids=["p-1"]) == set()
    time.sleep(1.1)
    assert selectors.protected_ids_shown(project_ids=["p-1"]) == {"p-1"}
    assert selectors.approval_pending_count_shown() == 1


def test_a_page_read_before_the_commit_is_forgotten_at_commit(
    ada, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.protection_create(actor=ada, project_id="p-1", project_name="one", reason="x")
        ask(ada)
        # A page served before this transaction commits still sees the old state, and caches it.
        cache.set(selectors.PROTECTED_KEY, frozenset())
        cache.set(selectors.PENDING_COUNT_KEY, 0)

    assert selectors.protected_ids_shown(project_ids=["p-1"]) == {"p-1"}
    assert selectors.approval_pending_count_shown() == 1
