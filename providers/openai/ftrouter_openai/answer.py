"""``ftrouter eval --model openai:MODEL[@BASE_URL]``: answers from OpenAI chat completions.

One adapter for OpenAI itself (base models and ``ft:`` ids) and for any OpenAI-compatible server
(vLLM, Ollama, llama.cpp, TGI) named with ``@BASE_URL`` or ``OPENAI_BASE_URL``. It lives in this plugin,
not in the core, because the SDK, the error translation (Retry-After, key redaction) and the key
handling are OpenAI facts that the backend already owns; the engine retries (``ftrouter.http``).

The key comes from ``OPENAI_API_KEY``; with a base URL other than OpenAI's a server that needs none
gets a placeholder (the SDK insists on some key), so a local vLLM works without one.
"""

from __future__ import annotations

import os
import time
from typing import Any

from ftrouter.errors import AuthError
from ftrouter.eval.answerer import Answer, GenerationSettings, ModelSpec
from ftrouter_openai.client import make_client
from ftrouter_openai.errors import KEY_ENV, translate

OPENAI_URL = "https://api.openai.com/v1"
BASE_URL_ENV = "OPENAI_BASE_URL"
NO_KEY = "not-needed"  # sent to servers that need no key (the SDK refuses to start without one)
DEFAULT_CONCURRENCY = 8  # within the default rate limits of small OpenAI tiers; --concurrency raises it


class OpenAIAnswerer:
    batch_size = 1  # one request per prompt; the engine's threads give concurrency

    def __init__(self, model: str, *, base_url: str | None = None, key: str | None = None,
                 http_client: Any = None) -> None:
        self.model = model
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV, "").strip() or OPENAI_URL).rstrip("/")
        self.own_server = self.base_url != OPENAI_URL
        if key is None:
            key = os.environ.get(KEY_ENV, "").strip() or (NO_KEY if self.own_server else _missing_key(model))
        self._key = key
        self._client = make_client(key, http_client=http_client, base_url=self.base_url)
        self.identity = f"openai:{model}@{self.base_url}"
        self.default_concurrency = DEFAULT_CONCURRENCY
        self.price_model: str | None = None if self.own_server else model

    def _body(self, messages: list[dict[str, str]], settings: GenerationSettings) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": settings.temperature}
        # OpenAI deprecated max_tokens for max_completion_tokens; compatible servers all know max_tokens
        body["max_tokens" if self.own_server else "max_completion_tokens"] = settings.max_tokens
        return body

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        return [self._one(messages, settings) for messages in prompts]

    def _one(self, messages: list[dict[str, str]], settings: GenerationSettings) -> Answer:
        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(**self._body(messages, settings))
        except Exception as exc:
            raise translate(exc, what=f"chat completion with {self.model}", secrets=(self._key,)) from None
        latency_ms = (time.perf_counter() - started) * 1000
        message = response.choices[0].message if response.choices else None
        text = (message.content or message.refusal or "") if message is not None else ""
        usage = response.usage
        return Answer(text=text, latency_ms=latency_ms,
                      input_tokens=usage.prompt_tokens if usage else None,
                      output_tokens=usage.completion_tokens if usage else None)


def _missing_key(model: str) -> str:
    raise AuthError(f"{KEY_ENV} is not set: export your OpenAI API key to evaluate openai:{model} "
                    "(a server of your own needs none: openai:MODEL@BASE_URL)", code="missing_api_key")


def make_answerer(spec: ModelSpec, **kwargs: Any) -> OpenAIAnswerer:
    return OpenAIAnswerer(spec.model, base_url=spec.base_url, **kwargs)
