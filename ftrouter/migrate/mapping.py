"""OpenAI fine-tuning hyperparameters -> another backend's, each with the reason for the mapping.

Sources: research/migration.md §5. What is known: ``n_epochs`` means the same everywhere; OpenAI's
``batch_size`` is examples per optimizer step; DPO ``beta`` has the same meaning in TRL and OpenAI.
What is not: OpenAI never published the base learning rate that ``learning_rate_multiplier``
multiplies, so no absolute learning rate can be derived from it — the target's own documented
default is used and the multiplier is only reported. The target's facts (how it takes a batch, its
documented rates) come from its profile (``ftrouter.profiles.MigrationTarget``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ftrouter.profiles import MigrationTarget, profile_for

DEFAULT_BETA = 0.1  # TRL's DPOConfig default; OpenAI's "auto" value is not published
DEFAULT_EPOCHS = 3  # TRL's default, and what OpenAI's "auto" picks for most mid-sized datasets


@dataclass
class Mapping:
    """The target's settings (JobSpec hyperparameters and options) and one row per decision."""

    hyperparameters: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    target: dict[str, Any] = field(default_factory=dict)  # what --json prints as target.{epochs,...}

    def row(self, param: str, source: Any, target: Any, why: str) -> None:
        self.rows.append({"param": param, "from": source, "to": target, "why": why})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def map_hyperparameters(source: dict[str, Any], *, method: str, backend: str, adapter: str = "lora") -> Mapping:
    """The mapping of OpenAI's resolved hyperparameters (``n_epochs``, ``batch_size``,
    ``learning_rate_multiplier``, ``beta``; numbers or ``"auto"``) onto ``backend``."""
    mapping = Mapping()
    target = profile_for(backend).migration
    _epochs(mapping, source.get("n_epochs"))
    _batch(mapping, source.get("batch_size"), target)
    _learning_rate(mapping, source.get("learning_rate_multiplier"), backend, target, method, adapter)
    if method == "dpo":
        _beta(mapping, source.get("beta"))
    return mapping


def _epochs(mapping: Mapping, value: Any) -> None:
    epochs = _number(value)
    if epochs is not None and epochs >= 1:
        chosen = int(epochs)
        why = "carried: an epoch is one pass over the training data on every backend"
    else:
        chosen = DEFAULT_EPOCHS
        why = (f"OpenAI's job says {value!r} (not resolved); {DEFAULT_EPOCHS} is TRL's default and what OpenAI's "
               "'auto' picks for most mid-sized datasets")
    mapping.hyperparameters["epochs"] = chosen
    mapping.target["epochs"] = chosen
    mapping.row("n_epochs", value, chosen, why)


def _batch(mapping: Mapping, value: Any, target: MigrationTarget) -> None:
    batch = _number(value)
    if target.batch is None:
        mapping.target["batch_size"] = None
        mapping.row("batch_size", value, None, target.batch_note or "the target has no batch-size setting")
        return
    if batch is None or batch < 1:
        mapping.target["batch_size"] = None
        mapping.row("batch_size", value, None, f"OpenAI's job says {value!r} (not resolved); the target's default "
                    "batch is kept")
        return
    effective = int(batch)
    if target.batch == "examples":
        mapping.hyperparameters["batch_size"] = effective
        mapping.target["batch_size"] = effective
        mapping.row("batch_size", value, effective, "carried: examples per optimizer step")
        return
    per_device = min(effective, target.per_device_batch)
    accumulate = math.ceil(effective / per_device)
    mapping.hyperparameters["batch_size"] = per_device
    if accumulate > 1:
        mapping.options["gradient_accumulation_steps"] = accumulate
    mapping.target["batch_size"] = per_device * accumulate
    mapping.row("batch_size", value, {"per_device": per_device, "gradient_accumulation_steps": accumulate},
                f"OpenAI's batch_size is examples per optimizer step; {per_device} per device x {accumulate} "
                f"accumulation step(s) = {per_device * accumulate} per step on one GPU, so the number of optimizer "
                "steps matches (more GPUs multiply it: lower the accumulation then)")


def _learning_rate(mapping: Mapping, value: Any, backend: str, target: MigrationTarget, method: str,
                   adapter: str) -> None:
    multiplier = _number(value)
    said = f"OpenAI's learning_rate_multiplier {value!r}" if value is not None else "OpenAI's multiplier"
    table = target.learning_rates.get(method)
    if table:
        rate = table.get(adapter, table["lora"])
        mapping.hyperparameters["learning_rate"] = rate
        mapping.target["learning_rate"] = rate
        source_of = target.learning_rate_sources.get(method, f"the {backend} backend's documented default")
        mapping.row("learning_rate_multiplier", value, rate,
                    f"{said} scales a base rate OpenAI never published, so no absolute rate follows from it; "
                    f"chose {rate:g}, the documented default for {adapter} {method} ({source_of}). Tune it with "
                    "the eval command if the new model falls short")
        return
    if target.learning_rate_note:
        mapping.target["learning_rate"] = None
        mapping.row("learning_rate_multiplier", value, None, f"{said} {target.learning_rate_note}")
        return
    mapping.target["learning_rate"] = None
    mapping.row("learning_rate_multiplier", value, None,
                f"{said} has no published absolute value; the {backend} backend's default learning rate is kept"
                + (f" (the multiplier {multiplier:g} is not comparable)" if multiplier is not None else ""))


def _beta(mapping: Mapping, value: Any) -> None:
    beta = _number(value)
    if beta is not None and 0 < beta <= 2:
        chosen = beta
        why = "carried: DPO beta weighs the penalty for leaving the reference model in both OpenAI and TRL"
    else:
        chosen, why = DEFAULT_BETA, (f"OpenAI's job says {value!r} (not resolved); {DEFAULT_BETA} is TRL's default "
                                     "(OpenAI does not publish what 'auto' picks)")
    mapping.hyperparameters["beta"] = chosen
    mapping.target["beta"] = chosen
    mapping.row("beta", value, chosen, why)
