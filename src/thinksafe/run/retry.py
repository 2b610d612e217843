"""The one retry wrapper every model call goes through.

Providers raise ``ProviderError`` and never retry themselves; the engine wraps each call in
``call_with_retries``. Only transient errors are retried (408, 409, 429, 5xx, timeouts, dropped
connections), with exponential backoff and full jitter, honouring the server's ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from thinksafe.errors import ProviderError
from thinksafe.records import Completion, Messages

if TYPE_CHECKING:
    from thinksafe.config import GenerationConfig
    from thinksafe.protocols import Target

T = TypeVar("T")

# Called before each retry sleep with (number of failed attempts so far, the error, the delay).
OnRetry = Callable[[int, ProviderError, float], None]
Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried.

    ``max_attempts`` counts every call, the first included. The backoff before retry ``n``
    (``n`` = 1 after the first failure) is drawn uniformly from ``[0, min(max_delay,
    base_delay * 2 ** (n - 1))]`` ("full jitter"), or is that upper bound itself when
    ``jitter`` is off. A server's ``Retry-After`` replaces the backoff, capped at
    ``max_retry_after``, plus up to ``base_delay`` of jitter so a crowd of callers told to come
    back at the same moment does not return all at once.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("retry delays must not be negative")

    def backoff_cap(self, failures: int) -> float:
        """The upper bound of the backoff after ``failures`` failed attempts (1-based)."""
        exponent = min(failures - 1, 62)  # keeps 2 ** exponent a finite float
        return float(min(self.max_delay, self.base_delay * 2.0**exponent))

    def delay(
        self,
        failures: int,
        error: ProviderError,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before the next attempt."""
        if error.retry_after is not None:
            wait = min(max(error.retry_after, 0.0), self.max_retry_after)
            if self.jitter:
                wait += rand() * self.base_delay
            return wait
        cap = self.backoff_cap(failures)
        return rand() * cap if self.jitter else cap


DEFAULT_POLICY = RetryPolicy()


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    on_retry: OnRetry | None = None,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Await ``fn()``; on a transient ``ProviderError`` wait and call it again.

    Non-transient provider errors and every other exception propagate at once. After
    ``policy.max_attempts`` calls the last error is re-raised unchanged.
    """
    failures = 0
    while True:
        try:
            return await fn()
        except ProviderError as exc:
            failures += 1
            if not exc.transient or failures >= policy.max_attempts:
                raise
            wait = policy.delay(failures, exc, rand)
            if on_retry is not None:
                on_retry(failures, exc, wait)
            await sleep(wait)


async def generate_with_retries(
    target: Target, messages: Messages, config: GenerationConfig, policy: RetryPolicy
) -> Completion:
    """One completion from ``target``, retried by ``policy``; a call that finally fails is an
    error completion (an outcome of its own), not an exception."""
    started = time.perf_counter()
    try:
        return await call_with_retries(lambda: target.generate(messages, config), policy)
    except ProviderError as exc:
        return Completion(error=str(exc), latency_s=time.perf_counter() - started)
