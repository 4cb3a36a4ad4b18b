"""The shared retry layer: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ftrouter.errors import (
    AuthError,
    BadResponse,
    Conflict,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
    SubmitUnconfirmed,
)
from ftrouter.http import (
    RETRY_AFTER_LIMIT_S,
    RetryPolicy,
    call_with_retries,
    create_once,
    error_for_status,
    error_type_for_status,
    parse_retry_after,
    retry_after_s,
)


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


def test_attempts_are_capped() -> None:
    sleeps: list[float] = []
    calls, fn = flaky(*[ProviderUnavailable(f"down {i}") for i in range(10)])
    with pytest.raises(ProviderUnavailable, match="down 2"):
        call_with_retries(fn, RetryPolicy(attempts=3, sleep=sleeps.append))  # type: ignore[arg-type]
    assert len(calls) == 3 and len(sleeps) == 2


def test_translate_maps_sdk_exceptions_on_every_attempt() -> None:
    calls, fn = flaky(TimeoutError("read timed out"), KeyError("boom"))
    with pytest.raises(AuthError, match="KeyError"):
        call_with_retries(fn, RetryPolicy(sleep=lambda s: None),  # type: ignore[arg-type]
                          translate=lambda exc: ProviderUnavailable("timeout") if isinstance(exc, TimeoutError)
                          else AuthError(f"{type(exc).__name__}"))
    assert len(calls) == 2


# -- Retry-After: every RFC 9110 form, clamped ---------------------------------------------------

NOW = datetime(1994, 11, 6, 8, 49, 0, tzinfo=UTC)


@pytest.mark.parametrize("value,seconds", [
    ("3", 3.0),
    ("0", 0.0),
    ("-5", 0.0),  # negative: now, never a negative sleep
    ("1.5", 1.5),
    ("Sun, 06 Nov 1994 08:49:37 GMT", 37.0),  # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", 37.0),  # obsolete RFC 850
    ("Sun Nov  6 08:49:37 1994", 37.0),  # asctime (no zone: UTC)
    ("Sun, 06 Nov 1994 08:49:37 -0000", 37.0),  # "-0000" parses naive; it used to crash the OpenAI adapter
    ("Sun, 06 Nov 1994 09:49:37 +0100", 37.0),
    ("Sun, 06 Nov 1994 08:00:00 GMT", 0.0),  # in the past
    ("99999999999", RETRY_AFTER_LIMIT_S),  # clamped
    ("1e400", RETRY_AFTER_LIMIT_S),
    ("soon", None), ("", None), ("nan", None), (None, None),
])
def test_retry_after_parses_every_form_and_clamps(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_retry_after_headers_prefer_milliseconds() -> None:
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_s({"Retry-After": "3"}) == 3.0
    assert retry_after_s({"retry-after-ms": "junk", "retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after-ms": "90000000"}) == RETRY_AFTER_LIMIT_S  # 25 h, clamped to a day
    assert retry_after_s({"retry-after-ms": "-40"}) == 0.0
    assert retry_after_s({}) is None and retry_after_s(None) is None


def test_retry_after_zero_or_negative_still_backs_off() -> None:
    """Five 'Retry-After: 0' (or negative) answers: the waits grow like the normal backoff."""
    sleeps: list[float] = []
    calls, fn = flaky(*[RateLimited("now", retry_after=parse_retry_after(v)) for v in ("0", "-3", "0", "-1")])
    assert call_with_retries(fn, RetryPolicy(initial_s=1, sleep=sleeps.append)) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 5 and len(sleeps) == 4 and all(s >= 1 for s in sleeps) and sleeps[3] >= 8


# -- one status policy ----------------------------------------------------------------------------


@pytest.mark.parametrize("status,kind", [
    (401, AuthError), (403, AuthError), (404, NotFound), (409, Conflict), (429, RateLimited),
    (408, ProviderUnavailable), (500, ProviderUnavailable), (503, ProviderUnavailable),
    (400, InvalidRequest), (422, InvalidRequest),
])
def test_status_policy(status: int, kind: type[Exception]) -> None:
    assert error_type_for_status(status) is kind
    assert type(error_for_status(status, "x")) is kind


def test_409_is_not_retried_and_a_quota_429_neither() -> None:
    assert not RetryPolicy().should_retry(error_for_status(409, "already cancelled"))
    assert error_type_for_status(429, quota=True) is QuotaError
    limited = error_for_status(429, "slow", headers={"retry-after": "Sun, 06 Nov 1994 08:49:37 -0000"})
    assert isinstance(limited, RateLimited) and limited.retry_after == 0.0


# -- create_once ----------------------------------------------------------------------------------


class Remote:
    """A provider whose create may take effect and lose its answer, and whose lookup may fail."""

    def __init__(self, create_faults: list[Exception], lookup_faults: list[Exception],
                 lose_answer: bool = True) -> None:
        self.created: list[str] = []
        self.creates = 0
        self.create_faults = create_faults
        self.lookup_faults = lookup_faults
        self.lose_answer = lose_answer

    def create(self) -> str:
        self.creates += 1
        if self.create_faults:
            if self.lose_answer:
                self.created.append(f"job-{self.creates}")
            raise self.create_faults.pop(0)
        self.created.append(f"job-{self.creates}")
        return self.created[-1]

    def find(self) -> str | None:
        if self.lookup_faults:
            raise self.lookup_faults.pop(0)
        return self.created[0] if self.created else None


def test_lost_create_with_a_failing_lookup_is_never_sent_again() -> None:
    remote = Remote([ProviderUnavailable("503")] * 5, [ProviderUnavailable("500")] * 5)
    with pytest.raises(SubmitUnconfirmed, match="NOT sent again") as info:
        create_once(remote.create, remote.find, RetryPolicy(sleep=lambda s: None), sent={"model": "m"})
    assert remote.creates == 1 and info.value.sent == {"model": "m"} and info.value.exit_code == 3


def test_lost_create_is_found_after_the_wait_not_sent_twice() -> None:
    order: list[str] = []
    remote = Remote([ProviderUnavailable("503")], [])

    def find() -> str | None:
        order.append("lookup")
        return remote.find()

    policy = RetryPolicy(sleep=lambda s: order.append("wait"))
    assert create_once(remote.create, find, policy) == "job-1"
    assert remote.creates == 1 and order == ["wait", "lookup"]


def test_create_resent_only_when_the_lookup_says_nothing_was_created() -> None:
    remote = Remote([ProviderUnavailable("503"), ProviderUnavailable("502")], [], lose_answer=False)
    assert create_once(remote.create, remote.find, RetryPolicy(sleep=lambda s: None)) == "job-3"
    assert remote.creates == 3 and remote.created == ["job-3"]


def test_last_attempt_lost_is_settled_by_a_final_lookup() -> None:
    remote = Remote([ProviderUnavailable("503")], [])
    assert create_once(remote.create, remote.find, RetryPolicy(attempts=1, sleep=lambda s: None)) == "job-1"
    nothing = Remote([ProviderUnavailable("503")], [], lose_answer=False)
    with pytest.raises(ProviderUnavailable):  # the provider has nothing: a plain failure, nothing created
        create_once(nothing.create, nothing.find, RetryPolicy(attempts=1, sleep=lambda s: None))


def test_an_answer_without_an_id_is_not_resent_but_looked_up() -> None:
    remote = Remote([BadResponse("no id")], [ProviderUnavailable("500")] * 5)
    with pytest.raises(SubmitUnconfirmed):
        create_once(remote.create, remote.find, RetryPolicy(sleep=lambda s: None))
    assert remote.creates == 1


def test_rate_limited_create_is_retried_without_a_lookup() -> None:
    remote = Remote([RateLimited("slow", retry_after=1)], [AssertionError("no lookup after a 429")],
                    lose_answer=False)
    assert create_once(remote.create, remote.find, RetryPolicy(sleep=lambda s: None)) == "job-2"
