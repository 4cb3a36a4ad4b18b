"""The retry layer every provider adapter calls through (tenacity).

Adapters translate their SDK's exceptions into ``ftrouter.errors`` types first; this layer then
retries the transient ones — ``RateLimited`` (429, honouring Retry-After) and ``ProviderUnavailable``
(5xx, 408/409, timeouts, dropped connections) — with jittered exponential backoff and a cap. Everything
else (auth, invalid request, quota, not found) fails at once. ``sleep`` is injectable so tests never
wait, and a ``before_retry`` hook lets a caller check whether a non-idempotent call (job creation)
already took effect before it is sent again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ftrouter.errors import ProviderUnavailable, RateLimited

T = TypeVar("T")
log = logging.getLogger("ftrouter.http")

RETRYABLE: tuple[type[Exception], ...] = (RateLimited, ProviderUnavailable)


@dataclass
class RetryPolicy:
    attempts: int = 5  # total tries, the first included
    initial_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0  # a server asking for a longer pause is not retried (as the SDKs do)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def wait_for(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return max(0.0, float(retry_after))
        backoff = wait_exponential_jitter(initial=self.initial_s, max=self.max_backoff_s, jitter=self.initial_s)
        return float(backoff(state))

    def should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, RETRYABLE):
            return False
        retry_after = getattr(exc, "retry_after", None)
        return retry_after is None or float(retry_after) <= self.max_retry_after_s


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy | None = None, *, what: str = "request",
                      before_retry: Callable[[BaseException], None] | None = None) -> T:
    """Run ``fn``; retry it on transient provider errors per ``policy``; re-raise the last error."""
    policy = policy or RetryPolicy()

    def announce(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info("%s failed (%s); retry %d/%d in %.1fs", what, exc, state.attempt_number, policy.attempts - 1, wait)
        if before_retry is not None and exc is not None:
            before_retry(exc)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=policy.wait_for,
        retry=retry_if_exception(policy.should_retry),
        sleep=policy.sleep,
        before_sleep=announce,
        reraise=True,
    )
    return retrying(fn)
