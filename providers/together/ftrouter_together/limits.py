"""Together's published limits for a model (``GET /fine-tunes/models/limits``), checked against the job
before anything is uploaded: epochs, evaluations, learning rate, batch size and LoRA rank. Offline
(``--dry-run`` without a key) the catalog row's limits are all that is checked."""

from __future__ import annotations

from typing import Any

from ftrouter.errors import UsageError
from ftrouter.jobs.models import JobSpec
from ftrouter_together.requests import options


def _batch_bounds(limits: dict[str, Any], spec: JobSpec) -> tuple[int | None, int | None]:
    kind = limits.get("full_training" if spec.adapter == "full" else "lora_training") or {}
    top = kind.get("max_batch_size_dpo" if spec.method == "dpo" else "max_batch_size")
    return kind.get("min_batch_size"), top


def limit_problems(limits: dict[str, Any], spec: JobSpec) -> list[str]:
    """What in ``spec`` Together's limits for the model refuse (empty when everything is within them)."""
    hyper, opts, model = spec.hyperparameters, options(spec), spec.model
    problems = []
    if hyper.epochs is not None and isinstance(limits.get("max_num_epochs"), int) and hyper.epochs > limits[
            "max_num_epochs"]:
        problems.append(f"--epochs {hyper.epochs}: Together trains {model} for at most {limits['max_num_epochs']}")
    evals = opts.get("n_evals")
    if evals is not None and isinstance(limits.get("max_num_evals"), int) and evals > limits["max_num_evals"]:
        problems.append(f"--option n_evals={evals}: at most {limits['max_num_evals']} for {model}")
    low, high = limits.get("min_learning_rate"), limits.get("max_learning_rate")
    if hyper.learning_rate is not None and isinstance(low, int | float) and isinstance(high, int | float) and not (
            low <= hyper.learning_rate <= high):
        problems.append(f"--learning-rate {hyper.learning_rate:g}: Together accepts {low:g} to {high:g} for {model}")
    smallest, largest = _batch_bounds(limits, spec)
    if hyper.batch_size is not None and isinstance(smallest, int) and isinstance(largest, int) and not (
            smallest <= hyper.batch_size <= largest):
        problems.append(f"--batch-size {hyper.batch_size}: Together accepts {smallest} to {largest} for {model} "
                        f"({spec.adapter or 'lora'}, {spec.method})")
    rank = (limits.get("lora_training") or {}).get("max_rank")
    if hyper.lora_r is not None and isinstance(rank, int) and hyper.lora_r > rank:
        problems.append(f"--lora-r {hyper.lora_r}: the largest LoRA rank for {model} is {rank}")
    if spec.adapter == "full" and not limits.get("full_training"):
        problems.append(f"--adapter full: Together offers only LoRA training for {model}")
    return problems


def check_limits(limits: dict[str, Any], spec: JobSpec) -> None:
    problems = limit_problems(limits, spec)
    if problems:
        raise UsageError("; ".join(problems) + " (GET /fine-tunes/models/limits)", code="over_limit")
