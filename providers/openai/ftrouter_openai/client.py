"""Building the OpenAI SDK client: the key comes from the caller or ``OPENAI_API_KEY`` (organisation
and project from ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``, the endpoint from ``OPENAI_BASE_URL``,
all read by the SDK). The SDK's own retries are off: ``ftrouter.http`` retries, so that backoff,
Retry-After and the duplicate-job check before re-sending a create live in one place."""

from __future__ import annotations

import os
from typing import Any

from ftrouter.errors import AuthError
from ftrouter_openai.errors import KEY_ENV

DEFAULT_TIMEOUT_S = 60.0
UPLOAD_TIMEOUT_S = 600.0
CONNECT_TIMEOUT_S = 10.0


def api_key(explicit: str | None = None) -> str:
    key = explicit or os.environ.get(KEY_ENV, "").strip()
    if not key:
        raise AuthError(f"{KEY_ENV} is not set: export your OpenAI API key (https://platform.openai.com/api-keys) "
                        "to submit or follow OpenAI jobs; `submit --dry-run` works without one",
                        code="missing_api_key")
    return key


def make_client(key: str, *, http_client: Any = None, base_url: str | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """An ``openai.OpenAI`` client; ``http_client`` (an ``httpx2.Client``) lets tests inject a transport,
    ``base_url`` overrides ``OPENAI_BASE_URL`` (a proxy or a local mock server)."""
    import httpx2
    import openai

    kwargs: dict[str, Any] = {"api_key": key, "max_retries": 0,
                              "timeout": httpx2.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S)}
    if http_client is not None:
        kwargs["http_client"] = http_client
    if base_url:
        kwargs["base_url"] = base_url
    return openai.OpenAI(**kwargs)
