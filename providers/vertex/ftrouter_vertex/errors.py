"""Vertex- and Cloud-Storage-specific failures as ftrouter error types, and the functions that
translate Google's exceptions into them. No Google exception leaves this package.

Each attempt is translated at once, so ftrouter's retry layer (``ftrouter.http``) sees only its own
types: 429 -> ``RateLimited`` (with the response's Retry-After), 408/5xx/timeouts/dropped connections
-> ``ProviderUnavailable`` (both retried); 400/401/403/404 and an exhausted quota are not retried.

The classes subclass ftrouter's own, so the CLI maps them to the usual exit codes:
bucket missing -> 2 (configuration), bucket not writable -> 4 (permission), model not tunable -> 1
(the request must change), quota -> 3.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ftrouter.errors import (
    AuthError,
    BackendError,
    FtrouterError,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
    UsageError,
)
from ftrouter_vertex.auth import HOW_TO_AUTHENTICATE


class MissingProject(UsageError):
    code = "no_project"


class MissingBucket(UsageError):
    code = "no_bucket"


class BucketNotFound(UsageError):
    code = "bucket_not_found"


class BucketNotWritable(AuthError):
    code = "bucket_not_writable"


class ModelNotTunable(InvalidRequest):
    code = "model_not_tunable"


# -- reading Google's exceptions without importing their modules at import time -------------------


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a google-genai ``APIError`` or a google-api-core ``GoogleAPICallError``."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and 100 <= code <= 599:
        return code
    return None


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message.splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def retry_after_seconds(exc: BaseException) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) from the failed response, if the server sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_transport_error(exc: BaseException) -> bool:
    """Connection refused / reset, DNS failure, timeouts - from httpx (Vertex) or requests (Storage)."""
    import httpx
    import requests

    return isinstance(exc, httpx.TransportError | requests.ConnectionError | requests.Timeout)


def _is_google_error(exc: BaseException) -> bool:
    from google.api_core import exceptions as core_exceptions
    from google.genai import errors as genai_errors

    return isinstance(exc, genai_errors.APIError | core_exceptions.GoogleAPICallError)


# -- translation -----------------------------------------------------------------------------------

_NOT_TUNABLE = re.compile(
    r"not (supported|available|enabled|allowed)|unsupported|does not support|cannot be tuned|not tunable|"
    r"is not found|was not found|not found",
    re.IGNORECASE,
)


def _looks_like_model_problem(message: str, base_model: str | None) -> bool:
    mentions_model = bool(base_model) and base_model in message  # type: ignore[operator]
    mentions_tuning = any(w in message.lower() for w in ("base model", "basemodel", "base_model", "tuning"))
    return (mentions_model or mentions_tuning) and bool(_NOT_TUNABLE.search(message))


def translate_vertex(exc: BaseException, *, action: str, region: str, base_model: str | None = None) -> FtrouterError:
    """A google-genai or transport exception from a Vertex call -> the matching ftrouter error."""
    if isinstance(exc, FtrouterError):
        return exc
    status = http_status(exc) if _is_google_error(exc) else None
    message = _message(exc)
    if status is None:
        return _translate_other(exc, action=action, service="Vertex AI")
    if status == 400 and "adapter size" in message.lower():
        # e.g. "The adapter size is not supported for this base model." (googleapis/python-genai#908)
        return InvalidRequest(f"Vertex AI refused the adapter size for {base_model or 'this model'}: {message} "
                              "(try a smaller --option adapter_size, e.g. 4, or leave it out)")
    if status in (400, 404) and base_model and _looks_like_model_problem(message, base_model):
        return ModelNotTunable(
            f"{base_model} cannot be tuned in region {region}: {message} "
            "(check the model name and the regions that offer tuning; try --option region=us-central1)"
        )
    return _by_status(status, message, action=action, service="Vertex AI", exc=exc)


def translate_storage(exc: BaseException, *, action: str, bucket: str) -> FtrouterError:
    """A google-cloud-storage or transport exception from an upload -> the matching ftrouter error."""
    if isinstance(exc, FtrouterError):
        return exc
    status = http_status(exc) if _is_google_error(exc) else None
    message = _message(exc)
    if status is None:
        return _translate_other(exc, action=action, service="Cloud Storage")
    if status == 404:
        return BucketNotFound(
            f"staging bucket gs://{bucket} does not exist or is not visible to these credentials "
            "(create it in the job's region, or pass --option bucket=gs://ANOTHER-BUCKET)"
        )
    if status == 403:
        return BucketNotWritable(
            f"these credentials cannot write to gs://{bucket} (needs storage.objects.create, e.g. the "
            f"Storage Object Creator role): {_strip_url(message)}"
        )
    return _by_status(status, _strip_url(message), action=action, service="Cloud Storage", exc=exc)


def _strip_url(message: str) -> str:
    """google-api-core prefixes the method and URL; keep the server's sentence."""
    match = re.search(r'"message":\s*"([^"]+)"', message)
    return match.group(1) if match else message


def _by_status(status: int, message: str, *, action: str, service: str, exc: BaseException) -> FtrouterError:
    text = f"{service} refused to {action} ({status}): {message}"
    if status == 401:
        return AuthError(f"{service} rejected the credentials ({status}): {message}; {HOW_TO_AUTHENTICATE}")
    if status == 403:
        return AuthError(f"{service}: permission denied while trying to {action}: {message}")
    if status == 404:
        return NotFound(text)
    if status == 429:
        # Google answers RESOURCE_EXHAUSTED for both; only a quota names itself as one.
        if "quota" in message.lower():
            return QuotaError(f"{service} quota exceeded while trying to {action}: {message} "
                              "(request more quota in the Cloud console, or wait for running jobs to finish)")
        return RateLimited(text, retry_after=retry_after_seconds(exc))
    if status >= 500 or status == 408:
        return ProviderUnavailable(f"{service} is unavailable; could not {action} after retries ({status}): {message}")
    if 400 <= status < 500:
        return InvalidRequest(text)
    return BackendError(text)


def _translate_other(exc: BaseException, *, action: str, service: str) -> FtrouterError:
    from google.auth import exceptions as auth_exceptions

    if isinstance(exc, auth_exceptions.RefreshError):
        return AuthError(f"could not refresh the Google credentials ({_message(exc)}); {HOW_TO_AUTHENTICATE}")
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return AuthError(f"no Google Cloud credentials found; {HOW_TO_AUTHENTICATE}")
    if is_transport_error(exc) or isinstance(exc, auth_exceptions.TransportError):
        return ProviderUnavailable(f"could not reach {service} to {action} after retries: {type(exc).__name__}: "
                                   f"{_message(exc)}")
    return BackendError(f"{service}: unexpected failure while trying to {action}: "
                        f"{type(exc).__name__}: {_message(exc)}")

