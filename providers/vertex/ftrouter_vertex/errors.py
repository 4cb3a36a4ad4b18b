"""Vertex- and Cloud-Storage-specific failures as ftrouter error types, and the functions that
translate Google's exceptions into them. No Google exception leaves this package.

Each attempt is translated at once, so ftrouter's retry layer (``ftrouter.http``) sees only its own
types; which type a status becomes is that layer's one policy (``error_type_for_status``: 429 ->
``RateLimited`` with the response's Retry-After, 408/5xx -> ``ProviderUnavailable``, 409 -> ``Conflict``,
none but the first two retried); this module adds Google's words and the bucket and model cases.

The classes subclass ftrouter's own, so the CLI maps them to the usual exit codes:
bucket missing -> 2 (configuration), bucket not writable -> 4 (permission), model not tunable -> 1
(the request must change), quota -> 3.
"""

from __future__ import annotations

import re
from typing import Any

from ftrouter.errors import (
    AuthError,
    BackendError,
    FtrouterError,
    InvalidRequest,
    ProviderUnavailable,
    QuotaError,
    UsageError,
)
from ftrouter.http import error_for_status, error_type_for_status
from ftrouter.redact import redact
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
    """The first line of Google's message, redacted (it can echo a token)."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return redact(message.splitlines()[0])
    return redact(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__


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


def _headers(exc: BaseException) -> Any:
    return getattr(getattr(exc, "response", None), "headers", None)


def _by_status(status: int, message: str, *, action: str, service: str, exc: BaseException) -> FtrouterError:
    """Google's words on top of the shared status policy (``ftrouter.http.error_type_for_status``)."""
    # Google answers RESOURCE_EXHAUSTED for both a rate limit and a quota; only a quota names itself.
    quota = status == 429 and "quota" in message.lower()
    kind = error_type_for_status(status, quota=quota)
    if status == 401:
        return AuthError(f"{service} rejected the credentials ({status}): {message}; {HOW_TO_AUTHENTICATE}")
    if kind is AuthError:
        return AuthError(f"{service}: permission denied while trying to {action}: {message}")
    if kind is QuotaError:
        return QuotaError(f"{service} quota exceeded while trying to {action}: {message} "
                          "(request more quota in the Cloud console, or wait for running jobs to finish)")
    if kind is ProviderUnavailable:
        return ProviderUnavailable(f"{service} is unavailable; could not {action} after retries ({status}): {message}")
    return error_for_status(status, f"{service} refused to {action} ({status}): {message}", headers=_headers(exc))


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

