"""OpenAI SDK exceptions -> ftrouter's typed errors, with helpful messages and no secrets.

Which error a status becomes, and the Retry-After parsing, are ``ftrouter.http``'s (one policy for
every provider); this module adds OpenAI's words (the wind-down, quota codes, the key variable).
SDK error messages can quote part of the API key ("Incorrect API key provided: sk-ab***yz"), so every
provider message goes through ``ftrouter.redact`` before it reaches an error.
"""

from __future__ import annotations

import re
from typing import Any

from ftrouter.errors import (
    AuthError,
    BackendError,
    Conflict,
    FtrouterError,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
)
from ftrouter.http import error_for_status, error_type_for_status
from ftrouter.redact import redact

KEY_ENV = "OPENAI_API_KEY"

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


_PHRASES: dict[type[FtrouterError], str] = {
    NotFound: "not found at OpenAI", Conflict: "OpenAI refused it as a conflict with the job's state",
    RateLimited: "rate limited by OpenAI", ProviderUnavailable: "OpenAI failed",
    InvalidRequest: "OpenAI rejected the request", AuthError: "not permitted",
}


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
    quota = status == 429 and (code in _QUOTA_CODES or "quota" in message.lower())
    if quota:
        return QuotaError(f"{what}: the OpenAI account is out of quota or credit: {said}; check billing at "
                          "https://platform.openai.com/settings/organization/billing", code="quota_exceeded")
    kind = error_type_for_status(status)
    text = f"{what}: {_PHRASES.get(kind, 'unexpected answer from OpenAI')}: {said}"
    error = error_for_status(status, text, headers=exc.response.headers if exc.response is not None else None)
    if kind is AuthError:
        error.code = "permission_denied"
    return error
