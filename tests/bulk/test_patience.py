"""bulk.patience: a write whose answer was lost is read back, patiently, and never sent again
while Neon cannot tell whether it landed. Counted: how many times the write was sent."""

import pytest

from bulk.models import BulkJob
from bulk.patience import LandedUnknown, patiently
from projects.neon import NeonUnavailable

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(settings):
    settings.BULK_RETRY_SECONDS = 0.01
    settings.BULK_ITEM_ATTEMPTS = 4
    return BulkJob.objects.create(
        kind="suspend", params={}, summary="Suspend", selection={}, created_by="ada"
    )


def lost_once():
    """A PATCH Neon applied whose answer came back as a 502 (lost), then an answer."""
    sent = []

    def call():
        sent.append(1)
        if len(sent) == 1:
            raise NeonUnavailable("Bad gateway", status=502)
        return "answer"

    return call, sent


def reads(*answers):
    """A read-back answering each of `answers` in turn (an exception is raised)."""
    asked = []

    def landed():
        answer = answers[len(asked)]
        asked.append(1)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return landed, asked


def test_a_lost_answer_then_a_503_on_the_read_back_is_read_again_not_resent(job):
    call, sent = lost_once()
    unavailable = NeonUnavailable("Service unavailable", status=503)
    landed, asked = reads(unavailable, unavailable, True)
    assert patiently(job, call, landed=landed) is None  # it had landed
    assert len(sent) == 1 and len(asked) == 3


def test_a_lost_answer_never_readable_is_reported_unknown_and_not_resent(job):
    call, sent = lost_once()
    unavailable = NeonUnavailable("Service unavailable", status=503)
    landed, asked = reads(*[unavailable] * 4)
    with pytest.raises(LandedUnknown) as raised:
        patiently(job, call, landed=landed)
    assert "could not be read afterwards" in raised.value.message
    assert len(sent) == 1 and len(asked) == 4


def test_a_lost_answer_read_back_as_not_applied_is_sent_again(job):
    call, sent = lost_once()
    landed, asked = reads(False)
    assert patiently(job, call, landed=landed) == "answer"
    assert len(sent) == 2 and len(asked) == 1
