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


class Health(_Body):
    status: Literal["ok"] = "ok"
    version: str
    jobs: int
    poller: bool
