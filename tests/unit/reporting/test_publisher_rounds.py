"""While the consumers keep committing, each commit woke the publisher at once: at R's bench a round
after every batch of 500 events (39 rounds for 40 batches), whose transaction waited on the consumer's
and made the consumer's next one wait. The next round now starts no sooner than twice the last round's
length after it ended, so rounds take at most 1 / ROUND_SHARE of the time; after a quiet spell, at once."""

from __future__ import annotations

import pytest

from services.reporting.topics import ROUND_SHARE, next_round


def test_a_round_waits_twice_the_last_rounds_length_after_it_ended():
    assert next_round(last_sent=-5.0, interval=5.0, ended=10.0, took=0.3) == pytest.approx(10.6)


def test_a_round_after_a_quiet_spell_starts_at_once():
    assert next_round(last_sent=-5.0, interval=5.0, ended=10.0, took=0.3) < 60.0  # a change at 60 s: at once


def test_after_a_round_that_sent_something_the_interval_rules_when_it_is_longer():
    assert next_round(last_sent=9.7, interval=5.0, ended=10.0, took=0.3) == pytest.approx(14.7)
    assert next_round(last_sent=9.0, interval=0.5, ended=10.0, took=1.0) == pytest.approx(12.0)


@pytest.mark.parametrize("took", [0.01, 0.2, 3.0])
def test_back_to_back_rounds_take_at_most_their_share_of_the_time(took):
    now, busy = 0.0, 0.0
    last_sent, ended, length = -1e9, -1e9, 0.0
    for _ in range(100):  # a change is always waiting: each round starts as soon as it may
        now = max(now, next_round(last_sent, 0.0, ended, length))
        busy += took
        ended, length = now + took, took
        now = ended
    assert busy / now <= 1 / ROUND_SHARE + 0.01
