"""A table recovery that stops moving is recognised after its patience, and only then."""

from __future__ import annotations

from pipelines.lifecycle import RecoveryStall


def test_unchanged_remaining_is_stuck_after_the_patience_and_the_clock_restarts() -> None:
    stall = RecoveryStall()
    patience = RecoveryStall.patience_s
    assert not stall.stuck(120, 0.0)
    assert not stall.stuck(120, patience - 1)
    assert stall.stuck(120, patience)
    assert not stall.stuck(120, patience + 1)  # the next restart waits a full patience again
    assert stall.stuck(120, 2 * patience)


def test_progress_or_nothing_left_is_never_stuck() -> None:
    stall = RecoveryStall()
    for second in range(0, 200, 5):
        assert not stall.stuck(1000 - second, float(second))  # records keep being read
    assert not stall.stuck(0, 500.0)
    assert not stall.stuck(0, 1000.0)  # not in recovery
