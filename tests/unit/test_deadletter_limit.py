"""The shared dead-letter limit: a run past the limit stops the process with its exit code."""

from __future__ import annotations

import pytest

from common.deadletters import EXIT_DEAD_LETTER_LIMIT, DeadLetterLimit, DeadLetterLimitReached


def test_a_run_past_the_limit_raises_with_the_exit_code_and_the_stage() -> None:
    limit = DeadLetterLimit(2, "index")
    limit.failed()
    limit.failed()
    with pytest.raises(DeadLetterLimitReached) as stopped:
        limit.failed()
    assert stopped.value.code == EXIT_DEAD_LETTER_LIMIT
    assert "3 consecutive dead letters at index (limit 2)" in str(stopped.value)
    assert isinstance(stopped.value, SystemExit)  # left alone it ends the process


def test_a_success_starts_the_run_again_and_the_total_keeps_counting() -> None:
    limit = DeadLetterLimit(2, "route")
    for _ in range(5):
        limit.failed()
        limit.failed()
        limit.succeeded()
    assert limit.total == 10 and limit.run == 0
    limit.succeeded(0)  # nothing went through: the run is not reset
    limit.failed()
    assert limit.run == 1


def test_a_limit_of_zero_stops_at_the_first_dead_letter() -> None:
    with pytest.raises(DeadLetterLimitReached):
        DeadLetterLimit(0, "notifier").failed()
