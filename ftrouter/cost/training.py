"""Training estimates per backend, as pure functions over per-example token counts.

- OpenAI: billed tokens = sum over examples of min(limit, tokens) x epochs, with OpenAI's default-epoch
  rule when epochs are ``auto`` (cookbook "Data preparation and analysis for chat model fine-tuning").
- Vertex: the same shape over Gemini token estimates, with the estimate's error band as a cost range.
- Local: memory per method (``ftrouter.cost.memory``), the GPU and count that fit, time from FLOPs and
  MFU (or measured tokens/s from finished jobs), cost = GPU-hours x $/hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ftrouter.catalog import Catalog, ModelEntry, default_catalog
from ftrouter.cost.local import plan_local
from ftrouter.cost.types import Assumptions, TrainingEstimate, parse_assumptions
from ftrouter.errors import CatalogError, DataError, UnknownName, UsageError
from ftrouter.profiles import profile_for

# OpenAI's auto rule (cookbook constants)
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25
# Gemini has no public offline tokenizer; the data engine's estimate states its own band (used when given).
DEFAULT_GEMINI_ERROR_BAND = 0.25


def openai_default_epochs(n_examples: int) -> int:
    """OpenAI's ``auto`` epochs: target 3, clamped so examples x epochs lies in 100..25,000 and epochs in
    1..25. 5 examples -> 20 epochs; 10,000 -> 2."""
    if n_examples < 1:
        raise ValueError("n_examples must be at least 1")
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def billed_tokens(example_tokens: Sequence[int], epochs: int, limit: int | None) -> int:
    """Sum over examples of min(limit, tokens), times epochs (over-long examples are truncated)."""
    per_epoch = sum(min(t, limit) if limit else t for t in example_tokens)
    return per_epoch * epochs


def _price(entry: ModelEntry, field: str, catalog: Catalog) -> float:
    value = getattr(entry, field)
    if value is None:
        raise CatalogError(f"row {entry.name!r}: {field} is missing; cannot price {entry.name} "
                           f"(add it in a --catalog override)", path=catalog.models.where(entry.name))
    return float(value)


def managed_models(backend: str, model: str | None, catalog: Catalog) -> list[ModelEntry]:
    """The model asked for (checked to belong to ``backend``), or the backend's catalog defaults."""
    if model is not None:
        entry = catalog.get_model(model)
        if entry.backend != backend:
            names = [m.name for m in catalog.models.rows.values() if m.backend == backend]
            raise UnknownName(f"{backend} model", model, names)
        return [entry]
    defaults = [m for m in catalog.models.rows.values() if m.backend == backend and m.default_for_backend]
    return defaults or [m for m in catalog.models.rows.values() if m.backend == backend][:1]


def _availability_problems(entry: ModelEntry, method: str, n: int, today: date) -> list[str]:
    problems = []
    if n < entry.min_examples:
        problems.append(f"{n} examples; {entry.name} needs at least {entry.min_examples}")
    if method not in entry.methods:
        problems.append(f"{entry.name} does not support {method} (supports {', '.join(entry.methods)})")
    if entry.training_available_until and today > entry.training_available_until:
        problems.append(f"no new fine-tuning jobs after {entry.training_available_until}")
    if entry.shutdown_date and today >= entry.shutdown_date:
        problems.append(f"{entry.name} shut down on {entry.shutdown_date}")
    return problems


def _managed_estimate(
    backend: str, entry: ModelEntry, example_tokens: Sequence[int], epochs: int, method: str,
    catalog: Catalog, opts: Assumptions, extra: dict[str, Any],
) -> TrainingEstimate:
    price = _price(entry, "training_usd_per_1m", catalog)
    billed = billed_tokens(example_tokens, epochs, entry.training_token_limit)
    limit = entry.training_token_limit
    problems = _availability_problems(entry, method, len(example_tokens), opts.today or date.today())
    assumptions = {
        "examples": len(example_tokens),
        "training_usd_per_1m": price,
        "training_token_limit": limit,
        "examples_over_limit": sum(1 for t in example_tokens if limit and t > limit),
        "price_source": entry.source,
        "price_secondary": entry.secondary,
        **extra,
    }
    if entry.training_available_until:
        assumptions["training_available_until"] = entry.training_available_until.isoformat()
    if problems:
        assumptions["problems"] = problems
    return TrainingEstimate(
        backend=backend, model=entry.name, method=method, epochs=epochs, billed_tokens=billed,
        cost_usd=billed / 1e6 * price, hours=None, gpu=None, fits=not problems, assumptions=assumptions,
        prices_as_of=entry.as_of,
    )


def _openai(backend: str, example_tokens: Sequence[int], model: str | None, epochs: int | None, method: str,
            catalog: Catalog, opts: Assumptions) -> list[TrainingEstimate]:
    n_epochs = epochs or openai_default_epochs(len(example_tokens))
    extra = {"epochs_rule": "given" if epochs else "openai auto (target 3; examples x epochs in 100..25,000)"}
    return [_managed_estimate(backend, entry, example_tokens, n_epochs, method, catalog, opts, extra)
            for entry in managed_models(backend, model, catalog)]


def _vertex(backend: str, example_tokens: Sequence[int], model: str | None, epochs: int | None, method: str,
            catalog: Catalog, opts: Assumptions) -> list[TrainingEstimate]:
    band = opts.token_error_band if opts.token_error_band is not None else DEFAULT_GEMINI_ERROR_BAND
    n_epochs = epochs or opts.vertex_epochs
    out = []
    for entry in managed_models(backend, model, catalog):
        extra = {"epochs_rule": "given" if epochs else f"assumed {n_epochs} (Vertex picks its own default)",
                 "token_estimate": "Gemini token estimate (no public offline tokenizer)",
                 "token_error_band": band}
        est = _managed_estimate(backend, entry, example_tokens, n_epochs, method, catalog, opts, extra)
        if est.cost_usd is not None:
            est.assumptions["cost_range_usd"] = [round(est.cost_usd * (1 - band), 4),
                                                 round(est.cost_usd * (1 + band), 4)]
        out.append(est)
    return out


def estimate_training(
    backend: str,
    *,
    example_tokens: Sequence[int],
    model: str | None = None,
    epochs: int | None = None,
    method: str = "sft",
    adapter: str | None = None,
    gpu: str | None = None,
    assumptions: dict[str, Any] | None = None,
    catalog: Catalog | None = None,
    measured: Sequence[Any] | None = None,
) -> list[TrainingEstimate]:
    """Training estimates for one backend: one per model (the catalog defaults when ``model`` is None).

    ``example_tokens`` are per-example token counts (for Vertex: Gemini estimates). ``adapter`` and
    ``gpu`` apply to the local backend (``adapter`` None = LoRA, or QLoRA when LoRA does not fit).
    ``measured``: finished local runs (``MeasuredRun``) whose tokens/s replaces the MFU prior
    (the caller reads them, e.g. ``ftrouter.cost.calibration.registry_runs()``; None: the prior alone).
    """
    if not example_tokens:
        raise DataError("no examples to estimate", code="no_examples")
    if any(t < 0 for t in example_tokens):
        raise ValueError("token counts must be non-negative")
    if epochs is not None and not 1 <= epochs <= 50:
        raise UsageError(f"epochs must be between 1 and 50, got {epochs}")
    if method not in ("sft", "dpo"):
        raise UsageError(f"unknown method {method!r} (sft or dpo)")
    cat = catalog or default_catalog()
    opts = parse_assumptions(assumptions)
    profile = profile_for(backend)  # UnknownName for a backend no installed plugin registers
    if not profile.managed:
        return plan_local(example_tokens, backend=backend, model=model, epochs=epochs or opts.local_epochs,
                          method=method, adapter=adapter, gpu=gpu, opts=opts, catalog=cat, measured=measured)
    if profile.auto_epochs == "target-3":
        return _openai(backend, example_tokens, model, epochs, method, cat, opts)
    if profile.token_counter == "gemini":  # Gemini token estimates: the cost is a range
        return _vertex(backend, example_tokens, model, epochs, method, cat, opts)
    return _managed(backend, example_tokens, model, epochs or profile.default_epochs or 1, method, cat, opts,
                    {"epochs_rule": "given" if epochs else (profile.epochs_rule or "assumed")})


def _managed(backend: str, example_tokens: Sequence[int], model: str | None, epochs: int, method: str,
             catalog: Catalog, opts: Assumptions, extra: dict[str, Any]) -> list[TrainingEstimate]:
    """A managed backend priced from its plugin's catalog rows. A row without a published training price
    still gives the billed tokens (its ``note`` says where the price comes from: often the provider's
    own estimate endpoint, which ``submit --dry-run`` asks when credentials are present)."""
    out = []
    for entry in managed_models(backend, model, catalog):
        if entry.training_usd_per_1m is not None:
            out.append(_managed_estimate(backend, entry, example_tokens, epochs, method, catalog, opts, extra))
            continue
        limit = entry.training_token_limit
        problems = _availability_problems(entry, method, len(example_tokens), opts.today or date.today())
        out.append(TrainingEstimate(
            backend=backend, model=entry.name, method=method, epochs=epochs,
            billed_tokens=billed_tokens(example_tokens, epochs, limit), cost_usd=None, hours=None, gpu=None,
            fits=not problems, prices_as_of=entry.as_of,
            assumptions={"examples": len(example_tokens), "training_token_limit": limit,
                         "price": entry.note or "no published training price", "price_source": entry.source,
                         **extra, **({"problems": problems} if problems else {})}))
    return out

