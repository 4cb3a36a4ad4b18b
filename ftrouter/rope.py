"""RoPE scaling for training past a model's native context window: the recipe value, its checks, and the
window it gives. Pure (no torch, no transformers): the local trainer, the memory estimate and the CLI
share it, so they agree on what a scaling covers.

A scaling is written ``{type, factor[, original_max_position_embeddings]}`` in a recipe, or
``TYPE:FACTOR[:ORIGINAL]`` in ``--option rope_scaling=...`` and ``--set rope_scaling=...``:

* ``linear`` — position interpolation (Chen et al. 2023, arXiv:2306.15595): positions are divided by
  ``factor``, so ``factor`` x the native window fits in the positions the model was trained on. It needs
  a fine-tune at the longer length (the paper: about 1,000 steps) to recover quality.
* ``dynamic`` — dynamic NTK: the RoPE base grows with the sequence once it passes the native window;
  shorter inputs run exactly as before. Usable without training; a fine-tune helps.
* ``yarn`` — YaRN (Peng et al. 2023, arXiv:2309.00071): interpolates the low frequencies only and
  rescales attention; it needs the length the model was pre-trained at
  (``original_max_position_embeddings``, default: the model's native window).

transformers (5.x) holds these in ``config.rope_parameters`` as ``{"rope_type", "factor", "rope_theta"
[, "original_max_position_embeddings"]}``; ``max_position_embeddings`` stays the native window (dynamic
NTK computes its base from it), so the extended window is native x factor.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ftrouter.errors import UsageError

RopeType = Literal["linear", "dynamic", "yarn"]
ROPE_TYPES: tuple[str, ...] = ("linear", "dynamic", "yarn")


class RopeScaling(BaseModel):
    """One RoPE scaling as a recipe or an option gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: RopeType
    factor: float = Field(gt=1, description="the extended window is native x factor; must be above 1")
    original_max_position_embeddings: int | None = Field(
        default=None, ge=1, description="yarn only: the length the model was pre-trained at (default: its window)")

    @model_validator(mode="after")
    def _original_for_yarn_only(self) -> RopeScaling:
        if self.original_max_position_embeddings is not None and self.type != "yarn":
            raise ValueError(f"original_max_position_embeddings applies to yarn only, not {self.type}")
        return self

    def label(self) -> str:
        """``yarn x4 (from 32,768)``: how estimates and messages name it."""
        base = f" (from {self.original_max_position_embeddings:,})" if self.original_max_position_embeddings else ""
        return f"{self.type} x{self.factor:g}{base}"

    def base(self, native: int) -> int:
        """The window the factor multiplies: yarn's original length when given, else the native window."""
        return self.original_max_position_embeddings or native

    def window(self, native: int) -> int:
        """The context the scaling covers for a model whose native window is ``native``."""
        return int(self.base(native) * self.factor)

    def as_spec(self) -> str:
        tail = f":{self.original_max_position_embeddings}" if self.original_max_position_embeddings else ""
        return f"{self.type}:{self.factor:g}{tail}"


def _from_text(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{text!r} is not TYPE:FACTOR[:ORIGINAL_MAX_POSITION_EMBEDDINGS] "
                         "(e.g. linear:4, yarn:4:32768)")
    raw: dict[str, Any] = {"type": parts[0], "factor": parts[1]}
    if len(parts) == 3:
        raw["original_max_position_embeddings"] = parts[2]
    return raw


def _explain(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "literal_error":
        return f"unknown RoPE scaling type {first['input']!r} (known: {', '.join(ROPE_TYPES)})"
    if first["type"] == "greater_than" and where == "factor":
        return f"factor must be above 1 (got {first['input']}): a factor of 1 or less does not extend the window"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_rope_scaling(value: Any) -> RopeScaling | None:
    """A RopeScaling from a mapping, a ``TYPE:FACTOR[:ORIGINAL]`` string, or None/"none"/"" (no scaling).
    Raises ValueError with a one-line reason (callers add the file, line or option)."""
    if value is None or isinstance(value, RopeScaling):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("", "none", "off"):
            return None
        value = _from_text(value)
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping {{type, factor}} or TYPE:FACTOR, got {type(value).__name__}")
    if "rope_type" in value and "type" not in value:  # transformers' own key name
        value = {("type" if k == "rope_type" else k): v for k, v in value.items()}
    try:
        return RopeScaling.model_validate(value)
    except ValidationError as exc:
        raise ValueError(_explain(exc)) from None


def covered_window(native: int | None, rope_parameters: dict[str, Any] | None) -> int | None:
    """The context a model config covers: ``max_position_embeddings``, times the factor of a linear /
    dynamic / yarn scaling in its ``rope_parameters`` (yarn: from its original length)."""
    params = rope_parameters or {}
    if native is None or params.get("rope_type", params.get("type")) not in ROPE_TYPES:
        return native
    base = params.get("original_max_position_embeddings") or native
    return max(native, int(base * float(params.get("factor") or 1)))


def factor_needed(length: int, native: int) -> int:
    """The smallest whole factor whose window covers ``length``."""
    return max(2, math.ceil(length / native))


def check_training_length(max_length: int, native: int | None, scaling: RopeScaling | None, *,
                          model: str, length_was_set: bool = True) -> tuple[int, list[str]]:
    """The training length to use and warnings, for a model whose native window is ``native``.

    Without a scaling, a max_length past the native window is refused (positions the model never saw),
    unless nobody set it (the trainer's default): then it is lowered to the window. With a scaling whose
    window does not cover max_length, a warning: positions past it are extrapolated."""
    if native is None:
        return max_length, []
    if scaling is None:
        if max_length <= native:
            return max_length, []
        if not length_was_set:
            return native, [f"max_length lowered to {native:,}, {model}'s native context (max_position_embeddings)"]
        raise UsageError(f"max_length {max_length:,} is beyond {model}'s native context of {native:,} tokens "
                         f"(max_position_embeddings): add RoPE scaling (--option rope_scaling=linear:"
                         f"{factor_needed(max_length, native)}, or dynamic / yarn) or lower --max-length",
                         code="beyond_context")
    window = scaling.window(native)
    if max_length > window:
        needed = factor_needed(max_length, scaling.base(native))
        return max_length, [f"max_length {max_length:,} is beyond the {window:,} tokens that RoPE scaling "
                            f"{scaling.label()} covers on {model} (native {native:,}): positions past {window:,} "
                            f"are extrapolated; use a factor of {needed} or more"]
    return max_length, []
