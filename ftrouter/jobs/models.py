"""The models every backend speaks: what to run (JobSpec), what was prepared (PreparedJob), where it
runs (RemoteRef), and how it is doing (JobStatus, JobEvent).

These are pydantic models because they cross boundaries: they are written to the job registry as
JSON, printed with ``--json``, and built from user flags and recipe files.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

if TYPE_CHECKING:
    from ftrouter.cost.types import TrainingEstimate

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


class JobEstimate(BaseModel):
    """The cost engine's estimate as it travels with a job (``PreparedJob`` -> registry -> ``status --json``).

    The fields are those of ``ftrouter.cost.TrainingEstimate`` (what every built-in backend's ``prepare``
    puts here, via ``from_training``), all optional: a backend that could not estimate leaves it empty.
    It serializes to exactly the keys it was given, so the JSON is what it was as a plain dict: ``{}``
    when empty, ``"cost_usd": null`` kept when the engine said so.

    Keys it does not know are kept (``extra="allow"``): the registry stores whatever a backend's
    ``prepare`` returned, so rejecting them would make such rows unreadable, and dropping them would
    silently lose what a third-party plugin (or a newer ftrouter) recorded. They print with the rest.
    """

    model_config = ConfigDict(extra="allow")

    backend: str | None = None
    model: str | None = None
    method: str | None = None
    epochs: int | None = None
    billed_tokens: int | None = None
    cost_usd: float | None = None
    hours: float | None = None
    gpu: str | None = None
    fits: bool | None = None
    assumptions: dict[str, Any] = Field(default_factory=dict)
    prices_as_of: date | None = None

    @classmethod
    def from_training(cls, estimate: TrainingEstimate) -> JobEstimate:
        return cls.model_validate(estimate.model_dump())

    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        given = self.model_fields_set | set(self.model_extra or {})
        return {key: value for key, value in handler(self).items() if key in given}

    def as_dict(self) -> dict[str, Any]:
        """The estimate as plain JSON types (``{}`` when there is none)."""
        return self.model_dump(mode="json")


class PreparedJob(_Model):
    """The result of ``Backend.prepare``: everything checked and converted locally, nothing sent."""

    spec: JobSpec
    local_id: str
    files: dict[str, str] = Field(default_factory=dict)  # role ("train", "val") -> converted file path
    stats: dict[str, Any] = Field(default_factory=dict)  # data summary of the converted files
    estimate: JobEstimate = Field(default_factory=JobEstimate)  # the cost engine's estimate
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

    def describe(self) -> str:
        """``step 40/80 · epoch 1.5 · 50%`` (the parts that are known; empty when none is)."""
        bits = []
        if self.step is not None:
            bits.append(f"step {self.step:,}" + (f"/{self.total_steps:,}" if self.total_steps else ""))
        if self.epoch is not None:
            bits.append(f"epoch {self.epoch:g}")
        if self.fraction is not None:
            bits.append(f"{self.fraction:.0%}")
        return " · ".join(bits)


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


class StatusFields(_Model):
    """How a job is doing, as its backend reports it: one definition shared by ``JobStatus`` (one
    observation) and ``JobRecord`` (the last one the registry kept, flat in ``status --json``)."""

    state: JobState
    raw_state: str | None = None
    progress: Progress = Field(default_factory=Progress)
    metrics: dict[str, float] = Field(default_factory=dict)  # loss, tokens_per_second, ...
    eta: datetime | None = None
    result: JobResult | None = None
    error: JobError | None = None
    trained_tokens: int | None = None  # billed/trained tokens when the provider reports them


class JobStatus(StatusFields):
    """One observation of a job, as ``Backend.status`` (or ``refresh``, ``cancel``...) returns it."""

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


class Refresh(_Model):
    """What ``Backend.refresh`` answers: the job's status and its events after the last known one."""

    status: JobStatus
    events: list[JobEvent] = Field(default_factory=list)  # oldest first
