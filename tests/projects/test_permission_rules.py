"""`projects.permissions`: what Neon refuses for each per-project permission level."""

import pytest

from projects.permissions import (
    MSG_DELETE_NEEDS_MANAGE,
    MSG_VIEW_ONLY,
    can_change,
    can_delete,
    refusal,
)


@pytest.mark.parametrize(
    ("level", "change", "delete"),
    [
        ("CAN_VIEW", False, False),
        ("CAN_EDIT", True, False),
        ("CAN_MANAGE", True, True),
        (None, True, True),  # personal projects and organizations without the feature
        ("CAN_SOMETHING_NEW", True, True),  # unknown: Neon decides, its answer is shown
    ],
)
def test_levels(level, change, delete):
    assert can_change(level) is change
    assert can_delete(level) is delete
    assert (refusal(level, "update") is None) is change
    assert (refusal(level, "delete") is None) is delete


def test_messages_name_the_level():
    assert refusal("CAN_VIEW", "update") == refusal("CAN_VIEW", "delete") == MSG_VIEW_ONLY
    assert refusal("CAN_EDIT", "delete") == MSG_DELETE_NEEDS_MANAGE
    assert "CAN_VIEW" in MSG_VIEW_ONLY
    assert "CAN_EDIT" in MSG_DELETE_NEEDS_MANAGE and "CAN_MANAGE" in MSG_DELETE_NEEDS_MANAGE


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown action"):
        refusal(None, "rename")
