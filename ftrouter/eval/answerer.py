"""The contract between the eval engine and the plugins that make models answer.

A plugin's ``make_answerer(spec)`` returns an ``Answerer``. The engine calls ``answer`` with a batch of
prompts (remote adapters take batches of one and get concurrency from the engine's threads; a local
model takes bigger batches and runs them one at a time). ``answer`` raises ``ftrouter.errors`` types only
(``RateLimited`` with its Retry-After, ``ProviderUnavailable``...): the engine retries through
``ftrouter.http``, the one retry layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class GenerationSettings:
    """What shapes an answer besides the prompt; part of the cache key."""

    temperature: float = 0.0  # greedy: evals should be reproducible
    max_tokens: int = 1024

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}


@dataclass
class Answer:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None  # the engine fills it in for batches of one when the adapter does not


# how ``hf:`` models generate (``--engine``): auto = vLLM when it is installed and a CUDA GPU is there
ENGINES = ("auto", "transformers", "vllm")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value. ``raw`` is what the user typed (the key in reports and ``--json``)."""

    raw: str
    provider: str  # the prefix: "openai", "vertex", "hf", or a plugin's
    model: str
    base_url: str | None = None
    adapter: str | None = None
    job: str | None = None  # the registry job id when ``raw`` was one
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def tuned(self) -> bool:
        """Whether this names a fine-tuned model (a job's result, an OpenAI ``ft:`` id, an adapter)."""
        return bool(self.job or self.adapter or self.model.startswith("ft:") or "/endpoints/" in self.model)


class Answerer(Protocol):
    identity: str  # what the cache keys on: the model and where it is served (never a secret)
    default_concurrency: int
    batch_size: int
    price_model: str | None  # a catalog model name for cost_usd, or None

    def answer(self, prompts: list[list[dict[str, str]]], settings: GenerationSettings) -> list[Answer]:
        """One answer per prompt, in order."""
        ...
