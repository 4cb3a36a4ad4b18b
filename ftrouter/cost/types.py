"""The cost engine's result type and its overridable assumptions."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ftrouter.cost.compute import DEFAULT_MFU
from ftrouter.errors import UsageError
from ftrouter.rope import RopeScaling, parse_rope_scaling

# Vertex chooses its own epoch count when none is given and does not publish the rule: assume this.
VERTEX_ASSUMED_EPOCHS = 3
# TRL's default num_train_epochs
LOCAL_DEFAULT_EPOCHS = 3


class TrainingEstimate(BaseModel):
    """One backend x model training estimate: the ``backends`` items of ``estimate --json``."""

    backend: str
    model: str
    method: str  # sft | dpo for managed backends; full | lora | qlora for local
    epochs: int
    billed_tokens: int  # tokens the provider bills (managed) or the trainer processes (local)
    cost_usd: float | None  # None only when no price is known or nothing fits — said in assumptions
    hours: float | None  # None for managed backends (the provider does not publish a rate)
    gpu: str | None
    fits: bool  # feasible: enough examples, model still trainable, memory fits
    assumptions: dict[str, Any]
    prices_as_of: date | None


class PriceDate(BaseModel):
    """One price a report used, with its date and source (reports always print these)."""

    item: str
    as_of: date
    source: str
    secondary: bool = False


class Assumptions(BaseModel):
    """Every overridable assumption (``--set key=value`` on the CLI). Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    today: date | None = None  # for availability checks; default: the system date
    # vertex
    token_error_band: float | None = Field(default=None, ge=0, lt=1)
    vertex_epochs: int = Field(default=VERTEX_ASSUMED_EPOCHS, ge=1, le=50)
    # local
    local_epochs: int = Field(default=LOCAL_DEFAULT_EPOCHS, ge=1, le=50)
    # the training length (max_length) examples are cut at; default: the local trainer's (1024). Memory is
    # estimated at the longest example rounded up to 256, capped at it (ftrouter.training.memory_seq_len)
    seq_len: int | None = Field(default=None, ge=16)
    micro_batch: int = Field(default=1, ge=1)
    mfu: float = Field(default=DEFAULT_MFU, gt=0, le=1)
    activation_checkpointing: bool = True
    lora_rank: int = Field(default=16, ge=1)
    optimizer: Literal["adamw", "adamw_8bit"] = "adamw"
    # None: what the local trainer does (ftrouter.training.resolve_precision): "mixed" for full fine-tuning
    full_precision: Literal["bf16", "mixed"] | None = None
    activation_offloading: bool = False
    logits: Literal["full", "chunked", "fused"] = "full"  # how the loss holds the logits
    # "sdpa": a fused attention kernel (activations linear in seq_len); "eager" keeps seq x seq scores
    attention: Literal["sdpa", "eager"] = "sdpa"
    # RoPE scaling (TYPE:FACTOR, e.g. yarn:4) that lets seq_len go past the model's native context: without
    # it the memory is estimated at most at the catalog's context_length (ftrouter.rope)
    rope_scaling: RopeScaling | None = None
    max_gpus: int = Field(default=8, ge=1)
    gpu_provider: str | None = None  # price from this provider; default: the cheapest listed
    gpu_usd_per_hour: float | None = Field(default=None, ge=0)  # overrides the catalog price

    @field_validator("rope_scaling", mode="before")
    @classmethod
    def _rope_scaling(cls, value: Any) -> RopeScaling | None:
        return parse_rope_scaling(value)


def parse_assumptions(raw: dict[str, Any] | None) -> Assumptions:
    """Validate overrides; a typo names the key and lists the known ones (exit 2)."""
    try:
        return Assumptions.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        known = ", ".join(Assumptions.model_fields)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(f"assumption {key!r}: {message} (known: {known})", code="bad_assumption") from exc
