"""Talking to Together's REST API (https://api.together.ai/v1, or ``TOGETHER_BASE_URL``) with httpx, and
translating what goes wrong into ftrouter's typed errors.

The key comes from the caller or ``TOGETHER_API_KEY``; it travels only in the Authorization header and is
redacted from every provider message. Retries are ``ftrouter.http``'s (one layer): this module makes one
attempt per call. Which error a status becomes is ``ftrouter.http.error_for_status``'s policy.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ftrouter.errors import AuthError, BackendError, BadResponse, FtrouterError, ProviderUnavailable, QuotaError
from ftrouter.http import error_for_status
from ftrouter.redact import redact
from ftrouter_together.profile import BASE_URL_ENV, KEY_ENV

DEFAULT_BASE_URL = "https://api.together.ai/v1"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
UPLOAD_TIMEOUT = httpx.Timeout(600.0, connect=10.0)


def base_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")


def api_key(explicit: str | None = None) -> str:
    key = explicit or os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise AuthError(f"{KEY_ENV} is not set: export your Together AI API key (https://api.together.ai/settings/"
                        "api-keys) to submit or follow Together jobs; `submit --dry-run` works without one",
                        code="missing_api_key")
    return key


def make_client(key: str, *, url: str | None = None, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client for Together; ``transport`` lets tests inject a fake or a cassette player."""
    return httpx.Client(base_url=base_url(url) + "/", headers={"Authorization": f"Bearer {key}"},
                        timeout=TIMEOUT, transport=transport)


def json_of(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object a successful response carries; a status error or a body that is not one raises."""
    response.raise_for_status()
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadResponse(f"{what}: Together answered {response.status_code} without a JSON object")
    return body


_QUOTA_WORDS = ("quota", "credit", "billing", "balance", "insufficient funds")


def translate(exc: Exception, *, what: str, secrets: tuple[str, ...] = ()) -> FtrouterError:
    """The ftrouter error for an exception raised while doing ``what``."""
    if isinstance(exc, FtrouterError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return ProviderUnavailable(f"{what}: Together did not answer in time", code="timeout")
    if isinstance(exc, httpx.HTTPStatusError):
        return _from_status(exc.response, what=what, secrets=secrets)
    if isinstance(exc, httpx.TransportError):
        return ProviderUnavailable(f"{what}: cannot reach Together ({redact(str(exc), secrets)})",
                                   code="connection_error")
    return BackendError(f"{what}: {type(exc).__name__}: {redact(str(exc), secrets)}", code="together_error")


def _provider_message(response: httpx.Response, secrets: tuple[str, ...]) -> tuple[str | None, str]:
    """ErrorData (``{"error": {"message", "type", "code"}}``) when the body is one, else the text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return (str(code) if code else None), redact(str(error.get("message") or ""), secrets)
    return None, redact(response.text[:300], secrets)


def _from_status(response: httpx.Response, *, what: str, secrets: tuple[str, ...]) -> FtrouterError:
    status = response.status_code
    code, message = _provider_message(response, secrets)
    said = f"{message} ({status}{', ' + code if code else ''})"
    if status == 401:
        return AuthError(f"{what}: Together rejected the API key in {KEY_ENV} ({status}); check that it is "
                         "current", code="invalid_api_key")
    if status in (402, 429) and any(word in message.lower() for word in _QUOTA_WORDS):
        return QuotaError(f"{what}: the Together account is out of credit or over its limit: {said}",
                          code="quota_exceeded")
    # ftrouter's own codes (rate_limited, not_found...), not Together's: one vocabulary for every backend
    return error_for_status(status, f"{what}: Together answered: {said}", headers=response.headers)
