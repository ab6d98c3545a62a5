"""The one failure policy of every durable consumer (the intake and the event consumers), as a pure
decision: (error, deliveries, failures) → ack | nak(delay) | dead-letter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.contract.errors import ConcurrentChange, RuleViolation, Unavailable
from shared.runtime.delivery import (
    BUSY_CAP,
    OUTAGE_CAP,
    STUCK_AFTER,
    Ack,
    DeadLetter,
    Gap,
    Nak,
    Outage,
    PoisonMessage,
    Policy,
    decide,
)

POLICY = Policy(max_failures=5, nack_delay=2.0, gap_deliveries=12)


def test_done_is_acknowledged():
    assert decide(None, 1, 0, POLICY) == Ack()
    assert decide(None, 999, 4, POLICY) == Ack()


def test_a_poison_message_is_dead_lettered_at_once():
    assert decide(PoisonMessage("unreadable"), 1, 0, POLICY) == DeadLetter("poison")


def test_an_outage_is_waited_out_with_a_growing_delay_and_is_no_failure():
    delays = [decide(Outage("down"), n, 0, POLICY) for n in range(1, 8)]
    assert [v.delay for v in delays if isinstance(v, Nak)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert all(isinstance(v, Nak) and not v.failure for v in delays)
    assert decide(Unavailable("database unavailable"), 3, 4, POLICY) == Nak(8.0, failure=False)  # not the 5th failure


def test_documents_held_by_another_transaction_are_retried_sooner():
    assert decide(Outage("locked", busy=True), 10, 0, POLICY) == Nak(BUSY_CAP, failure=False)
    assert decide(Outage("down"), 10, 0, POLICY) == Nak(OUTAGE_CAP, failure=False)


def test_an_outage_that_never_ends_is_dead_lettered_as_stuck():
    assert decide(Outage("down"), STUCK_AFTER - 1, 0, POLICY) == Nak(OUTAGE_CAP, failure=False)
    assert decide(Outage("down"), STUCK_AFTER, 0, POLICY) == DeadLetter("stuck")


def test_a_failure_is_retried_then_dead_lettered_after_max_deliver_failures():
    assert decide(RuntimeError("bug"), 1, 0, POLICY) == Nak(2.0, failure=True)
    assert decide(RuntimeError("bug"), 4, 3, POLICY) == Nak(8.0, failure=True)
    assert decide(RuntimeError("bug"), 5, 4, POLICY) == DeadLetter("failed")
    # a concurrent change that keeps recurring is a failure too (DESIGN §4), not an outage
    assert decide(ConcurrentChange("again"), 5, 4, POLICY) == DeadLetter("failed")
    assert decide(RuleViolation("a bug in a handler"), 2, 1, POLICY) == Nak(4.0, failure=True)


def test_a_missing_predecessor_waits_then_is_dead_lettered_as_a_gap():
    assert decide(Gap("v3 before v2"), 1, 0, POLICY) == Nak(2.0, failure=False)
    assert decide(Gap("v3 before v2"), 11, 0, POLICY) == Nak(OUTAGE_CAP, failure=False)
    assert decide(Gap("v3 before v2"), 12, 0, POLICY) == DeadLetter("gap")


@given(
    error=st.sampled_from([None, PoisonMessage("p"), Outage("o"), Outage("b", busy=True), Gap("g"), RuntimeError()]),
    deliveries=st.integers(1, 2 * STUCK_AFTER),
    failures=st.integers(0, 10),
)
def test_nothing_is_redelivered_forever_and_nothing_waits_long(error, deliveries, failures):
    """Property: a message delivered STUCK_AFTER times never comes back, and no wait exceeds the outage cap."""
    verdict = decide(error, deliveries, failures, POLICY)
    if deliveries >= STUCK_AFTER and error is not None:
        assert isinstance(verdict, DeadLetter)
    if isinstance(verdict, Nak):
        assert 0 < verdict.delay <= OUTAGE_CAP
