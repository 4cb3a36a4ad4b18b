"""Retries for every remote call: 408/429/5xx and dropped connections, jittered exponential backoff
with a cap, ``Retry-After`` honoured when Google sends it. The sleep function is injected so tests
run the whole schedule without waiting.

google-genai and google-cloud-storage can retry on their own; the client turns both off so that this
one policy (and its test clock) is the only one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from ftrouter_vertex.errors import is_retryable, retry_after_seconds

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # including the first call
    initial_wait: float = 1.0  # seconds
    max_wait: float = 30.0  # cap on one wait, Retry-After included
    jitter: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        hinted = retry_after_seconds(exc) if exc is not None else None
        if hinted is not None:
            return min(hinted, self.max_wait)
        backoff = tenacity.wait_exponential_jitter(initial=self.initial_wait, max=self.max_wait, jitter=self.jitter)
        return float(backoff(state))

    def retrying(self, before_retry: Callable[[int], None] | None = None) -> tenacity.Retrying:
        """A tenacity loop; ``before_retry(attempt_number)`` runs before each retry (not the first try)."""

        def before(state: tenacity.RetryCallState) -> None:
            if before_retry is not None and state.attempt_number > 1:
                before_retry(state.attempt_number)

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=self._wait,
            retry=tenacity.retry_if_exception(is_retryable),
            sleep=self.sleep,
            reraise=True,
            before=before,
        )

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` under this policy; the last exception is re-raised untouched."""
        return self.retrying()(fn)
