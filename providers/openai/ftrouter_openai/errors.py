"""OpenAI SDK exceptions -> ftrouter's typed errors, with helpful messages and no secrets.

SDK error messages can quote part of the API key ("Incorrect API key provided: sk-ab***yz"), so every
provider message goes through ``redact`` before it reaches an error, a log line or the registry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ftrouter.errors import (
    AuthError,
    BackendError,
    FtrouterError,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
)

KEY_ENV = "OPENAI_API_KEY"
_KEYLIKE = re.compile(r"\b(sk|sess|rk)-[A-Za-z0-9_*\-.]{3,}")

WIND_DOWN = (
    "OpenAI no longer lets this organisation create fine-tuning jobs: OpenAI is winding down its self-serve "
    "fine-tuning platform (closed to new users; no new jobs for anyone after 2027-01-06). Fine-tune elsewhere: "
    "--backend vertex (Gemini on Google Cloud) or --backend local (open models on your own GPU); "
    "`ftrouter compare --data FILE` prices them."
)
_WIND_DOWN_CODES = {"fine_tuning_unavailable", "fine_tuning_disabled", "fine_tuning_not_available",
                    "fine_tuning_deprecated", "fine_tuning_sunset"}
_WIND_DOWN_WORDS = re.compile(
    r"(no longer|not (currently )?(available|accessible|permitted|allowed|enabled)|winding down|wind down|"
    r"disabled|deprecated|sunset)", re.IGNORECASE)
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "quota_exceeded"}


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys (whole or partly masked) from a provider message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEYLIKE.sub("[redacted key]", text)


def retry_after_seconds(headers: Any) -> float | None:
    """Retry-After as seconds: ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_wind_down(code: str | None, message: str) -> bool:
    """Whether an OpenAI error says the organisation may not create fine-tuning jobs any more."""
    if code in _WIND_DOWN_CODES:
        return True
    lowered = message.lower()
    return "fine-tun" in lowered.replace("fine tun", "fine-tun") and bool(_WIND_DOWN_WORDS.search(message))


def translate(exc: Exception, *, what: str, secrets: tuple[str, ...] = ()) -> FtrouterError:
    """The ftrouter error for an exception raised by the OpenAI SDK while doing ``what``."""
    import openai

    if isinstance(exc, FtrouterError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderUnavailable(f"{what}: OpenAI did not answer in time", code="timeout")
    if isinstance(exc, openai.APIConnectionError):
        cause = redact(str(exc.__cause__ or exc), secrets)
        return ProviderUnavailable(f"{what}: cannot reach OpenAI ({cause})", code="connection_error")
    if isinstance(exc, openai.APIStatusError):
        return _from_status(exc, what=what, secrets=secrets)
    if isinstance(exc, openai.OpenAIError):
        return BackendError(f"{what}: {redact(str(exc), secrets)}", code="openai_error")
    return BackendError(f"{what}: {type(exc).__name__}: {redact(str(exc), secrets)}", code="openai_error")


def _provider_message(exc: Any, secrets: tuple[str, ...]) -> tuple[str | None, str]:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
    message = str(error.get("message") or getattr(exc, "message", "") or "")
    code = error.get("code") or getattr(exc, "code", None)
    return (str(code) if code else None), redact(message, secrets)


def _from_status(exc: Any, *, what: str, secrets: tuple[str, ...]) -> FtrouterError:
    status = int(exc.status_code)
    code, message = _provider_message(exc, secrets)
    said = f"{message} ({status}{', ' + code if code else ''})"
    if is_wind_down(code, message) and status in (400, 403, 404, 409, 422, 429):
        return QuotaError(f"{WIND_DOWN} OpenAI said: {said}", code="fine_tuning_unavailable")
    if status == 401:
        return AuthError(f"{what}: OpenAI rejected the API key in {KEY_ENV} ({status}{', ' + code if code else ''}); "
                         "check that it is current and belongs to the right organisation and project",
                         code="invalid_api_key")
    if status == 403:
        return AuthError(f"{what}: not permitted: {said}", code="permission_denied")
    if status == 429:
        if code in _QUOTA_CODES or "quota" in message.lower():
            return QuotaError(f"{what}: the OpenAI account is out of quota or credit: {said}; check billing at "
                              "https://platform.openai.com/settings/organization/billing", code="quota_exceeded")
        return RateLimited(f"{what}: rate limited by OpenAI: {said}", retry_after=retry_after_seconds(exc.response
                           .headers if exc.response is not None else None))
    if status == 404:
        return NotFound(f"{what}: not found at OpenAI: {said}")
    if status in (408, 409) or status >= 500:
        return ProviderUnavailable(f"{what}: OpenAI failed: {said}", code="provider_unavailable")
    if 400 <= status < 500:
        return InvalidRequest(f"{what}: OpenAI rejected the request: {said}")
    return BackendError(f"{what}: unexpected answer from OpenAI: {said}")
