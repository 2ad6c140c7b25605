"""The one cancel policy (tui/cancel/policy.py), without a gateway or a screen."""

from __future__ import annotations

import pytest

from tui.api import Batch
from tui.cancel.policy import READ_ONLY_REFUSAL, Confirmation, may_cancel, plan_cancel


def batch(batch_id: str, status: str = "in_progress", provider: str = "openai") -> Batch:
    return Batch.from_wire(
        {"id": batch_id, "status": status, "request_counts": {"total": 10, "completed": 1, "failed": 0}}, provider
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("validating", True),
        ("in_progress", True),
        ("finalizing", True),
        ("JOB_STATE_PAUSED", True),
        ("cancelling", False),
        ("completed", False),
        ("failed", False),
        ("expired", False),
        ("cancelled", False),
        ("canceled", False),
        ("ended", False),
        ("deleted", False),
    ],
)
def test_what_may_be_cancelled(status: str, expected: bool) -> None:
    assert may_cancel(batch("b", status)) is expected


def test_read_only_refuses_everything() -> None:
    plan = plan_cancel([batch("a")], read_only=True, protected=False)
    assert plan.refusal == READ_ONLY_REFUSAL and plan.to_cancel == []


def test_one_batch_is_a_yes_no_question() -> None:
    plan = plan_cancel([batch("a")], read_only=False, protected=False)
    assert plan.confirmation is Confirmation.YES_NO and not plan.typed
    assert plan.accepts("y") and plan.accepts(" YES ") and not plan.accepts("") and not plan.accepts("n")


def test_one_batch_beside_others_left_out_is_typed() -> None:
    plan = plan_cancel([batch("a"), batch("b", "completed")], read_only=False, protected=False)
    assert [b.id for b in plan.to_cancel] == ["a"] and [b.id for b in plan.skipped] == ["b"]
    assert plan.confirmation is Confirmation.TYPE_COUNT and plan.expected == "1"
    assert not plan.accepts("y") and plan.accepts("1")


def test_several_batches_type_their_number_each_counted_once() -> None:
    plan = plan_cancel(
        [batch("a"), batch("b"), batch("a"), batch("a", provider="gemini")], read_only=False, protected=False
    )
    assert len(plan.to_cancel) == 3  # (provider, id) is the key
    assert plan.confirmation is Confirmation.TYPE_COUNT and plan.expected == "3"
    assert not plan.accepts("2") and not plan.accepts("y") and plan.accepts("3")


def test_protected_profile_types_the_end_of_the_id() -> None:
    plan = plan_cancel([batch("batch_9f3c")], read_only=False, protected=True)
    assert plan.confirmation is Confirmation.TYPE_ID_END and plan.expected == "9f3c"
    assert not plan.accepts("y") and plan.accepts("9f3c")


def test_protected_several_still_types_the_number() -> None:
    plan = plan_cancel([batch("a"), batch("b")], read_only=False, protected=True)
    assert plan.confirmation is Confirmation.TYPE_COUNT and plan.expected == "2"


def test_nothing_cancellable() -> None:
    plan = plan_cancel([batch("a", "completed"), batch("b", "cancelling")], read_only=False, protected=False)
    assert plan.to_cancel == [] and len(plan.skipped) == 2 and plan.refusal is None


def test_batches_the_caller_knows_are_unavailable_are_left_out() -> None:
    """The board's own knowledge (gone, a cancel in flight) counts as left out, so one batch
    beside such a one is typed too."""
    a, b = batch("a"), batch("b")
    plan = plan_cancel([a, b], read_only=False, protected=False, unavailable=[b])
    assert [x.id for x in plan.to_cancel] == ["a"] and [x.id for x in plan.skipped] == ["b"]
    assert plan.confirmation is Confirmation.TYPE_COUNT and plan.expected == "1"
