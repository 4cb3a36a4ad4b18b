"""``ftrouter eval --model vertex:MODEL``: answers from Gemini's ``generateContent`` on Vertex AI through
google-genai. MODEL is a model name (``gemini-2.5-flash``) or a tuned model's endpoint resource name
(``projects/P/locations/L/endpoints/E``, what a Vertex tuning job's result names).

Project, region and credentials are found as for tuning jobs (``ftrouter_vertex.settings``:
``GOOGLE_CLOUD_PROJECT``, ``GOOGLE_CLOUD_LOCATION``, ``$FTROUTER_HOME/vertex.yaml``, application default
credentials); they are checked when the answerer is made, so missing credentials stop the run before any
request (exit 4). Each call's Google errors are translated at once; the engine retries (``ftrouter.http``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ftrouter.catalog import find_model
from ftrouter.eval.answerer import Answer, GenerationSettings, ModelSpec
from ftrouter_vertex.client import VertexClient
from ftrouter_vertex.errors import translate_vertex
from ftrouter_vertex.settings import resolve_settings

DEFAULT_CONCURRENCY = 4  # Gemini's per-project default quotas are modest; --concurrency raises it
_ROLES = {"assistant": "model", "user": "user"}


def contents_of(messages: list[dict[str, str]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Chat messages as Gemini's ``systemInstruction`` text and ``contents`` (roles user / model)."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer")) or None
    contents = [{"role": _ROLES.get(m["role"], "user"), "parts": [{"text": m["content"]}]}
                for m in messages if m["role"] not in ("system", "developer")]
    return system, contents


class VertexAnswerer:
    batch_size = 1
    default_concurrency = DEFAULT_CONCURRENCY

    def __init__(self, model: str, *, credentials: Any = None, httpx_client: Any = None,
                 env: dict[str, str] | None = None, config_file: Path | None = None) -> None:
        settings = resolve_settings({}, env=env, config_file=config_file)
        self._client = VertexClient(project=settings.project, region=settings.region, credentials=credentials,
                                    credentials_file=settings.credentials_file, httpx_client=httpx_client)
        project = self._client.project  # resolves credentials and project now: exit 4 / 2 before any call
        self.model = model
        self.region = settings.region
        self.identity = f"vertex:{model}@{project}/{settings.region}"
        self.price_model: str | None = model if find_model(model) is not None else None

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        return [self._one(messages, settings) for messages in prompts]

    def _one(self, messages: list[dict[str, str]], settings: GenerationSettings) -> Answer:
        from google.genai import types

        system, contents = contents_of(messages)
        config = types.GenerateContentConfig(system_instruction=system, temperature=settings.temperature,
                                             max_output_tokens=settings.max_tokens)
        started = time.perf_counter()
        try:
            response = self._client.genai().models.generate_content(model=self.model, contents=contents,
                                                                     config=config)
        except Exception as exc:
            raise translate_vertex(exc, action=f"generateContent with {self.model}", region=self.region) from None
        latency_ms = (time.perf_counter() - started) * 1000
        usage = response.usage_metadata
        return Answer(text=response.text or "", latency_ms=latency_ms,
                      input_tokens=usage.prompt_token_count if usage else None,
                      output_tokens=usage.candidates_token_count if usage else None)


def make_answerer(spec: ModelSpec, **kwargs: Any) -> VertexAnswerer:
    return VertexAnswerer(spec.model, **kwargs)
