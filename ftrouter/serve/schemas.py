"""Request bodies of the API. Responses are the CLI's own ``--json`` models (``Advice``,
``EstimateReport``, ``Comparison``, ``JobRecord``, ``PreparedJob``, ``JobEvent``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.jobs.models import JobSpec


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EstimateRequest(_Body):
    """``ftrouter estimate``'s flags; ``assumptions`` holds its ``--set`` pairs (and ``--seq-len`` etc.)."""

    data: str = Field(description="Training data: a path on the server (upload files with POST /v1/jobs).")
    backend: str = "all"
    model: str | None = None
    epochs: int | None = None
    method: str = "sft"
    adapter: str | None = None
    gpu: str | None = None
    assumptions: dict[str, Any] = Field(default_factory=dict)


class CompareRequest(_Body):
    """``ftrouter compare``'s flags; ``task`` is a task profile object (as ``--task`` reads from a file)."""

    data: str
    task: dict[str, Any] | None = None
    backend: str = "all"
    gpu: str | None = None
    prompt_model: str | None = None
    monthly_requests: int | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    months: float | None = None
    assumptions: dict[str, Any] = Field(default_factory=dict)


class SubmitRequest(JobSpec):
    """A ``JobSpec`` (what ``ftrouter submit`` builds from its flags) plus ``dry_run``."""

    dry_run: bool = False


class EvalRequest(_Body):
    """``ftrouter eval``'s options (``--data``, ``--model``..., ``--metric``..., ``--limit``, ``--concurrency``,
    ``--judge``); ``data`` may be left out of a multipart request that uploads it."""

    data: str = Field(description="Eval set (JSONL): a path on the server, or upload it (multipart field data).")
    models: list[str] = Field(min_length=1, description="Model specs, as --model: openai:MODEL[@BASE_URL], "
                                                        "vertex:MODEL, hf:PATH[+ADAPTER_DIR], or a job id ftr-...")
    metrics: list[str] | None = Field(None, description="As --metric; default: picked from the references.")
    limit: int | None = Field(None, ge=1, description="Evaluate only the first N examples.")
    concurrency: int | None = Field(None, ge=1, description="Requests in flight per model.")
    judge: str | None = Field(None, description="A model spec that grades answers (the judge metric).")


class EvalStarted(_Body):
    """The answer to ``POST /v1/evals`` (202) and to ``GET /v1/evals/{id}`` while the run is unfinished."""

    id: str
    state: Literal["queued", "running", "failed"]
    created_at: str
    data: str
    models: list[str]
    progress: dict[str, int] = Field(description="answers received (done) out of examples x models (total)")
    error: dict[str, str] | None = None


class Health(_Body):
    status: Literal["ok"] = "ok"
    version: str
    jobs: int
    poller: bool
