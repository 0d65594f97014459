"""The project retry policy: full-jitter bounds, cap, server hints, permanent errors, budgets."""

from __future__ import annotations

import pytest

from common.retry import (
    Permanent,
    RetriesExhausted,
    Retryable,
    RetryPolicy,
    retry_async,
    retry_sync,
)


@pytest.mark.parametrize("attempt", range(10))
def test_full_jitter_stays_within_zero_and_the_capped_exponential(attempt: int) -> None:
    policy = RetryPolicy(base=0.5, cap=10.0)
    ceiling = min(10.0, 0.5 * 2**attempt)
    assert policy.backoff(attempt, rand=lambda: 0.0) == 0.0
    assert policy.backoff(attempt, rand=lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
    assert policy.backoff(attempt, rand=lambda: 0.5) == pytest.approx(ceiling / 2)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert RetryPolicy(base=1, cap=30).backoff(10_000, rand=lambda: 1.0) == 30.0


def test_retry_after_hint_wins_when_longer_and_is_bounded() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0, max_hint=120.0)
    assert policy.delay(0, hint=7.0, rand=lambda: 1.0) == 7.0
    assert policy.delay(5, hint=0.1, rand=lambda: 1.0) == 4.0
    assert policy.delay(0, hint=86_400.0, rand=lambda: 0.0) == 120.0
    assert policy.delay(0, hint=None, rand=lambda: 0.25) == pytest.approx(0.125)


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=2, cap=1)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_permanent_and_unexpected_errors_are_never_retried() -> None:
    policy = RetryPolicy(max_attempts=None)
    assert not policy.should_retry(0, Permanent("404"))
    assert not policy.should_retry(0, KeyError("bug"))
    assert policy.should_retry(10_000, Retryable("503"))


async def test_retry_async_sleeps_the_policy_delays_and_honours_hints() -> None:
    calls: list[int] = []
    slept: list[float] = []

    async def op() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise Retryable("429", retry_after=3.0)
        if len(calls) == 2:
            raise Retryable("503")
        return "done"

    async def sleep(d: float) -> None:
        slept.append(d)

    policy = RetryPolicy(base=1.0, cap=8.0, max_attempts=5)
    assert await retry_async(op, policy, sleep=sleep, rand=lambda: 0.5) == "done"
    assert slept == [3.0, 1.0]  # hint (3 > 0.5), then U(0, 2) at 0.5


async def test_retry_async_stops_at_once_on_permanent() -> None:
    async def op() -> None:
        raise Permanent("410 gone")

    async def sleep(d: float) -> None:
        raise AssertionError("must not sleep")

    with pytest.raises(Permanent):
        await retry_async(op, RetryPolicy(), sleep=sleep)


def test_retry_sync_gives_up_after_max_attempts() -> None:
    slept: list[float] = []

    def op() -> None:
        raise Retryable("timeout")

    with pytest.raises(RetriesExhausted) as info:
        retry_sync(op, RetryPolicy(max_attempts=3), sleep=slept.append, rand=lambda: 1.0)
    assert len(slept) == 2
    assert isinstance(info.value.__cause__, Retryable)


def test_retry_sync_respects_max_elapsed_with_an_injected_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(d: float) -> None:
        slept.append(d)
        now[0] += d

    def op() -> None:
        raise Retryable("busy", retry_after=4.0)

    policy = RetryPolicy(max_attempts=None, max_elapsed=10.0)
    with pytest.raises(RetriesExhausted):
        retry_sync(op, policy, sleep=sleep, rand=lambda: 0.0, clock=lambda: now[0])
    assert slept == [4.0, 4.0]  # a third wait would end at 12s > 10s
