"""The retry and error layer every provider adapter calls through (tenacity), in one place:

- ``error_for_status``: which ftrouter error an HTTP status becomes (one policy for every provider);
- ``retry_after_s``: the ``Retry-After`` / ``retry-after-ms`` headers as seconds (every RFC 9110 form);
- ``call_with_retries``: each attempt's SDK exception is translated into an ``ftrouter.errors`` type,
  then the transient ones — ``RateLimited`` (429, honouring Retry-After) and ``ProviderUnavailable``
  (5xx, 408, timeouts, dropped connections) — are retried with jittered exponential backoff and a cap.
  Everything else (auth, invalid request, conflict, quota, not found) fails at once;
- ``create_once``: the rule for non-idempotent creates (a paid fine-tuning job). When a create's outcome
  is unknown (5xx, timeout, dropped connection, an answer without an id), the job is looked up by its
  local id AFTER the backoff wait and before anything is sent again; when the lookup cannot settle it,
  the create is never re-sent: ``SubmitUnconfirmed`` is raised and the caller records the job as
  ``unknown``, to be reconciled by the next command.

``sleep`` is injectable so tests never wait.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ftrouter.errors import (
    AuthError,
    BackendError,
    BadResponse,
    Conflict,
    FtrouterError,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
    SubmitUnconfirmed,
)

T = TypeVar("T")
log = logging.getLogger("ftrouter.http")

RETRYABLE: tuple[type[Exception], ...] = (RateLimited, ProviderUnavailable)
# After these a create may or may not have taken effect at the provider.
OUTCOME_UNKNOWN: tuple[type[Exception], ...] = (ProviderUnavailable, BadResponse)
RETRY_AFTER_LIMIT_S = 86_400.0  # a parsed Retry-After is clamped to [0, one day]


# -- Retry-After -----------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds, clamped to [0, RETRY_AFTER_LIMIT_S]; None when absent or unreadable.

    RFC 9110 §10.2.3: delta-seconds or an HTTP-date, which a recipient must accept in all three forms
    (IMF-fixdate, the obsolete RFC 850 date and asctime). A date without a zone (asctime) or with
    ``-0000`` is UTC. A negative or past value means "now" (0); the caller still backs off.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until(text, now or datetime.now(UTC))
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_LIMIT_S)


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime and "-0000" come back naive; HTTP dates are always UTC
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()


def retry_after_s(headers: Mapping[str, Any] | Any | None, *, now: datetime | None = None) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` (OpenAI's) first, then ``Retry-After``."""
    if headers is None:
        return None
    millis = _header(headers, "retry-after-ms")
    try:
        seconds = float(millis) / 1000 if millis is not None else math.nan
    except ValueError:
        seconds = math.nan
    if not math.isnan(seconds):
        return min(max(seconds, 0.0), RETRY_AFTER_LIMIT_S)
    return parse_retry_after(_header(headers, "retry-after"), now=now)


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.title())
    return None if value is None else str(value)


# -- HTTP status -> ftrouter error -----------------------------------------------------------------


def error_type_for_status(status: int, *, quota: bool = False) -> type[FtrouterError]:
    """The one status policy. 409 (a conflict with the resource's state: already cancelled, already
    exists) is not transient: retrying cannot change it, and a retried create could duplicate a job.
    A 429 that says the account is out of quota (``quota``) is not retried either."""
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status == 429:
        return QuotaError if quota else RateLimited
    if status == 408 or status >= 500:
        return ProviderUnavailable
    if 400 <= status < 500:
        return InvalidRequest
    return BackendError


def error_for_status(status: int, message: str, *, quota: bool = False, headers: Any = None,
                     code: str | None = None) -> FtrouterError:
    """The ftrouter error for an HTTP ``status`` with ``message`` (a 429 carries its Retry-After)."""
    kind = error_type_for_status(status, quota=quota)
    if kind is RateLimited:
        return RateLimited(message, retry_after=retry_after_s(headers), code=code)
    return kind(message, code=code)


# -- retrying --------------------------------------------------------------------------------------


@dataclass
class RetryPolicy:
    attempts: int = 5  # total tries, the first included
    initial_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0  # a server asking for a longer pause is not retried (as the SDKs do)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def backoff_s(self, attempt: int) -> float:
        """Jittered exponential backoff after failed attempt number ``attempt`` (1-based), capped."""
        exponential = self.initial_s * 2 ** min(max(attempt - 1, 0), 32)
        return min(exponential + random.uniform(0, self.initial_s), self.max_backoff_s)

    def wait_for(self, state: RetryCallState) -> float:
        """Retry-After is a floor, never a reason to wait less than the backoff: ``Retry-After: 0`` (or
        a negative value, read as 0) five times in a row still backs off."""
        exc = state.outcome.exception() if state.outcome else None
        backoff = self.backoff_s(state.attempt_number)
        retry_after = getattr(exc, "retry_after", None)
        return max(float(retry_after), backoff) if retry_after is not None else backoff

    def should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, RETRYABLE):
            return False
        retry_after = getattr(exc, "retry_after", None)
        return retry_after is None or float(retry_after) <= self.max_retry_after_s


Translate = Callable[[Exception], BaseException]


def translated(fn: Callable[[], T], translate: Translate | None) -> Callable[[], T]:
    """``fn`` with any non-ftrouter exception replaced by ``translate(exc)`` (an adapter's SDK mapping)."""
    if translate is None:
        return fn

    def attempt() -> T:
        try:
            return fn()
        except FtrouterError:
            raise
        except Exception as exc:
            raise translate(exc) from exc

    return attempt


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy | None = None, *, what: str = "request",
                      translate: Translate | None = None) -> T:
    """Run ``fn``; retry it on transient provider errors per ``policy``; re-raise the last error.
    ``translate`` maps an SDK's exceptions to ftrouter errors on every attempt. (A non-idempotent
    create goes through ``create_once`` instead.)"""
    policy = policy or RetryPolicy()

    def announce(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info("%s failed (%s); retry %d/%d in %.1fs", what, exc, state.attempt_number, policy.attempts - 1, wait)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=policy.wait_for,
        retry=retry_if_exception(policy.should_retry),
        sleep=policy.sleep,
        before_sleep=announce,
        reraise=True,
    )
    return retrying(translated(fn, translate))


# -- non-idempotent creates ------------------------------------------------------------------------


def create_once(create: Callable[[], T], find_existing: Callable[[], T | None], policy: RetryPolicy | None = None,
                *, what: str = "creating the job", translate: Translate | None = None,
                sent: dict[str, Any] | None = None) -> T:
    """Send a create that must take effect at most once (a paid job), with retries.

    ``create`` is one attempt (``translate`` maps its SDK exceptions); ``find_existing`` looks the
    object up by the local id the create carried, with its own retries, and returns None when the
    provider has none. After an attempt whose outcome is unknown, the next step — after the backoff
    wait, so the provider has had time to list what it created — is that lookup: found, it is the
    result; none, the create is sent again (or, after the last attempt, the error is raised: nothing
    was created); the lookup failing raises ``SubmitUnconfirmed`` and the create is NOT sent again.
    ``sent`` (what the create carried, no secrets) travels on that error so it can be recorded.
    """
    policy = policy or RetryPolicy()
    unsure: list[BaseException] = []  # the failure of the last create, when its outcome is unknown
    creates: list[int] = []  # one entry per create sent
    attempt_create = translated(create, translate)

    def settle() -> T | None:
        cause = unsure.pop()
        try:
            return find_existing()
        except Exception as lookup_error:  # whatever went wrong, the lookup did not settle it
            raise SubmitUnconfirmed(
                f"{what}: the provider's answer was lost ({cause}) and looking the job up by its local id "
                f"failed too ({lookup_error}); the create was NOT sent again", sent=sent) from None

    def attempt() -> T:
        if unsure:
            existing = settle()
            if existing is not None:
                log.warning("%s: the failed attempt had created it after all", what)
                return existing
        creates.append(1)
        try:
            return attempt_create()
        except OUTCOME_UNKNOWN as exc:
            unsure.append(exc)
            raise

    try:
        return call_with_retries(attempt, policy, what=what)
    except OUTCOME_UNKNOWN as last:
        if not unsure:  # raised by the lookup path, not by a create
            raise
        policy.sleep(policy.backoff_s(len(creates)))
        existing = settle()
        if existing is None:
            raise last from None  # the provider has no such object: nothing was created
        log.warning("%s: the failed attempt had created it after all", what)
        return existing
