from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from thinksafe.errors import ProviderError
from thinksafe.run.retry import RetryPolicy, call_with_retries


class Flaky:
    """Fails with the given errors in turn, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def transient(retry_after: float | None = None, status: int = 503) -> ProviderError:
    return ProviderError("busy", transient=True, status=status, retry_after=retry_after)


def run(
    fn: Callable[[], Awaitable[str]],
    policy: RetryPolicy,
    *,
    rand: Callable[[], float] = lambda: 0.5,
) -> tuple[str | BaseException, list[float], list[tuple[int, float]]]:
    sleeps: list[float] = []
    retries: list[tuple[int, float]] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> str:
        return await call_with_retries(
            fn,
            policy,
            sleep=fake_sleep,
            rand=rand,
            on_retry=lambda n, err, wait: retries.append((n, wait)),
        )

    try:
        result: str | BaseException = asyncio.run(main())
    except BaseException as exc:
        result = exc
    return result, sleeps, retries


def test_backoff_doubles_without_jitter_and_gives_up_with_the_last_error() -> None:
    errors = [transient() for _ in range(6)]
    fn = Flaky(*errors)
    policy = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=30.0, jitter=False)
    result, sleeps, retries = run(fn, policy)
    assert result is errors[-1]
    assert fn.calls == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert retries == [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0)]


def test_backoff_is_capped_by_max_delay() -> None:
    fn = Flaky(*[transient() for _ in range(5)])
    result, sleeps, _ = run(fn, RetryPolicy(base_delay=1.0, max_delay=3.0, jitter=False))
    assert result == "done"
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_draws_below_the_cap() -> None:
    fn = Flaky(transient(), transient(), transient())
    result, sleeps, _ = run(fn, RetryPolicy(base_delay=1.0, max_delay=30.0), rand=lambda: 0.25)
    assert result == "done"
    assert sleeps == [0.25, 0.5, 1.0]


def test_retry_after_replaces_the_backoff_and_is_capped() -> None:
    fn = Flaky(transient(retry_after=7.0), transient(retry_after=500.0), transient(retry_after=0))
    policy = RetryPolicy(base_delay=0.5, jitter=False, max_retry_after=120.0)
    result, sleeps, _ = run(fn, policy)
    assert result == "done"
    assert sleeps == [7.0, 120.0, 0.0]


def test_retry_after_gets_a_little_jitter_when_jitter_is_on() -> None:
    fn = Flaky(transient(retry_after=2.0))
    result, sleeps, _ = run(fn, RetryPolicy(base_delay=0.5), rand=lambda: 1.0)
    assert result == "done"
    assert sleeps == [2.5]


def test_non_transient_errors_are_not_retried() -> None:
    error = ProviderError("bad request", transient=False, status=400)
    fn = Flaky(error)
    result, sleeps, retries = run(fn, RetryPolicy())
    assert result is error
    assert fn.calls == 1
    assert sleeps == [] and retries == []


def test_other_exceptions_propagate_at_once() -> None:
    fn = Flaky(KeyError("bug"))
    result, sleeps, _ = run(fn, RetryPolicy())
    assert isinstance(result, KeyError)
    assert fn.calls == 1 and sleeps == []


def test_success_after_transient_failures_returns_the_value() -> None:
    fn = Flaky(transient(status=429), transient(status=500))
    result, sleeps, retries = run(fn, RetryPolicy(jitter=False))
    assert result == "done"
    assert fn.calls == 3
    assert retries == [(1, 0.5), (2, 1.0)]
    assert sleeps == [0.5, 1.0]


def test_one_attempt_means_no_retry() -> None:
    error = transient()
    fn = Flaky(error)
    result, sleeps, _ = run(fn, RetryPolicy(max_attempts=1))
    assert result is error and sleeps == []


def test_the_real_sleep_is_used_by_default() -> None:
    fn = Flaky(transient())
    policy = RetryPolicy(base_delay=0.01, max_delay=0.01, jitter=False)
    assert asyncio.run(call_with_retries(fn, policy)) == "done"
    assert fn.calls == 2


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_retry_after": -2.0}]
)
def test_invalid_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
