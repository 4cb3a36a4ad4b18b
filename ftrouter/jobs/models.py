"""The models every backend speaks: what to run (JobSpec), what was prepared (PreparedJob), where it
runs (RemoteRef), and how it is doing (JobStatus, JobEvent).

These are pydantic models because they cross boundaries: they are written to the job registry as
JSON, printed with ``--json``, and built from user flags and recipe files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["sft", "dpo"]
Adapter = Literal["lora", "qlora", "full"]


class JobState(StrEnum):
    """One normalized state for all backends.

    Each adapter keeps an explicit table from its provider's states to these; anything it does not
    recognise maps to ``UNKNOWN`` with the raw value kept in ``JobStatus.raw_state``.
    ``SUBMITTING`` exists only in the local registry: the row is written before the remote create.
    """

    SUBMITTING = "submitting"
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hyperparameters(_Model):
    """Training knobs. ``None`` means "the backend's default" (OpenAI's ``auto``)."""

    epochs: int | None = Field(default=None, ge=1, le=50)
    learning_rate_multiplier: float | None = Field(default=None, gt=0)
    learning_rate: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, ge=1)
    beta: float | None = Field(default=None, gt=0, le=2)  # DPO only
    lora_r: int | None = Field(default=None, ge=1)
    lora_alpha: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=16)
    packing: bool | None = None
    max_steps: int | None = Field(default=None, ge=1)


class JobSpec(_Model):
    """What the user asked to run, backend-neutral. ``options`` holds backend-specific settings
    (Vertex project/region/bucket, local GPU count, recipe path...)."""

    backend: str
    model: str
    data: str
    val: str | None = None
    method: Method = "sft"
    adapter: Adapter | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    suffix: str | None = Field(default=None, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2_147_483_647)
    options: dict[str, Any] = Field(default_factory=dict)


class PlannedRequest(_Model):
    """A request a backend would send, shown by ``submit --dry-run`` (secrets never included)."""

    method: str
    url: str
    body: Any = None
    note: str | None = None


class PreparedJob(_Model):
    """The result of ``Backend.prepare``: everything checked and converted locally, nothing sent."""

    spec: JobSpec
    local_id: str
    files: dict[str, str] = Field(default_factory=dict)  # role ("train", "val") -> converted file path
    stats: dict[str, Any] = Field(default_factory=dict)  # data summary of the converted files
    estimate: dict[str, Any] = Field(default_factory=dict)  # the cost engine's estimate
    requests: list[PlannedRequest] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class RemoteRef(_Model):
    """Where a job lives at its backend."""

    backend: str
    remote_id: str
    local_id: str
    extra: dict[str, Any] = Field(default_factory=dict)  # e.g. Vertex project/location, local job dir


class Progress(_Model):
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.step is None or not self.total_steps:
            return None
        return min(1.0, self.step / self.total_steps)


class JobResult(_Model):
    model_id: str | None = None  # OpenAI fine_tuned_model, Vertex tuned model resource
    endpoint: str | None = None  # Vertex endpoint
    adapter_path: str | None = None  # local output folder
    checkpoint: str | None = None  # local: the newest training checkpoint (what `resume` continues from)


class JobError(_Model):
    code: str | None = None
    message: str


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(_Model):
    state: JobState
    raw_state: str | None = None
    progress: Progress = Field(default_factory=Progress)
    metrics: dict[str, float] = Field(default_factory=dict)  # loss, tokens_per_second, ...
    eta: datetime | None = None
    result: JobResult | None = None
    error: JobError | None = None
    trained_tokens: int | None = None  # billed/trained tokens when the provider reports them
    # Measured facts of the run, copied into the registry's "actual" record when the job ends, so
    # estimates can be compared with (and calibrated from) reality: wall_time_s, tokens_per_second,
    # gpu (name), gpus (count), peak_memory_gb, billable_tokens (Vertex), ...
    runtime: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime = Field(default_factory=utcnow)


class JobEvent(_Model):
    id: str
    created_at: datetime
    level: Literal["info", "warning", "error"] = "info"
    message: str
    type: str = "message"  # "message" | "metrics" | "state" | "checkpoint"
    data: dict[str, Any] = Field(default_factory=dict)
