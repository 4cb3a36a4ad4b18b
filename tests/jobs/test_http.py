"""The shared retry layer: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import pytest

from ftrouter.errors import AuthError, ProviderUnavailable, RateLimited
from ftrouter.http import RetryPolicy, call_with_retries


def flaky(*failures: Exception) -> tuple[list[int], object]:
    calls: list[int] = []
    queue = list(failures)

    def fn() -> str:
        calls.append(1)
        if queue:
            raise queue.pop(0)
        return "ok"

    return calls, fn


def test_retry_after_is_honoured_and_backoff_grows_with_a_cap() -> None:
    sleeps: list[float] = []
    calls, fn = flaky(RateLimited("slow", retry_after=4), ProviderUnavailable("502"), ProviderUnavailable("503"),
                      ProviderUnavailable("504"))
    policy = RetryPolicy(attempts=5, initial_s=1, max_backoff_s=3, sleep=sleeps.append)
    assert call_with_retries(fn, policy) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 5 and sleeps[0] == 4
    assert all(0 < s <= 3 + 1 for s in sleeps[1:])  # jittered, capped


def test_permanent_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    calls, fn = flaky(AuthError("bad key"))
    with pytest.raises(AuthError):
        call_with_retries(fn, RetryPolicy(sleep=sleeps.append))  # type: ignore[arg-type]
    assert len(calls) == 1 and sleeps == []


def test_a_very_long_retry_after_is_not_waited_for() -> None:
    calls, fn = flaky(RateLimited("tomorrow", retry_after=86_400))
    with pytest.raises(RateLimited):
        call_with_retries(fn, RetryPolicy(sleep=lambda s: None))  # type: ignore[arg-type]
    assert len(calls) == 1


def test_attempts_are_capped_and_the_hook_sees_each_failure() -> None:
    seen: list[str] = []
    calls, fn = flaky(*[ProviderUnavailable(f"down {i}") for i in range(10)])
    with pytest.raises(ProviderUnavailable, match="down 2"):
        call_with_retries(fn, RetryPolicy(attempts=3, sleep=lambda s: None),  # type: ignore[arg-type]
                          before_retry=lambda exc: seen.append(str(exc)))
    assert len(calls) == 3 and len(seen) == 2
