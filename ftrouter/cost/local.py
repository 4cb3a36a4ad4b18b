"""The local backend's training estimate: which method and GPU(s) fit, how long, and what it costs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ftrouter.catalog import Catalog, GpuEntry, GpuPrice, OpenModelEntry
from ftrouter.cost.calibration import MeasuredRun, measured_tokens_per_second
from ftrouter.cost.compute import throughput
from ftrouter.cost.memory import GpuFit, TrainMethod, estimate_memory, fit_on_gpu, smallest_fitting_gpu
from ftrouter.cost.shapes import ModelShape, shape_from_entry
from ftrouter.cost.types import Assumptions, TrainingEstimate
from ftrouter.errors import UsageError
from ftrouter.rope import factor_needed
from ftrouter.training import SeqLenChoice, memory_seq_len

ADAPTERS: tuple[TrainMethod, ...] = ("full", "lora", "qlora")
AUTO_ADAPTERS: tuple[TrainMethod, ...] = ("lora", "qlora")  # what "the method that fits" tries, in order


def default_local_models(catalog: Catalog) -> list[OpenModelEntry]:
    """The catalog's small, medium and large open models, in that order."""
    order = {"small": 0, "medium": 1, "large": 2}
    rows = [m for m in catalog.open_models.rows.values() if m.default_size]
    return sorted(rows, key=lambda m: order[m.default_size or "small"])


def model_context(entry: OpenModelEntry, opts: Assumptions) -> int:
    """The longest sequence a run of ``entry`` trains at: its native context, or what the RoPE scaling
    (``rope_scaling``) extends it to."""
    scaling = opts.rope_scaling
    return scaling.window(entry.context_length) if scaling else entry.context_length


def choose_seq_len(example_tokens: Sequence[int], entry: OpenModelEntry, opts: Assumptions) -> SeqLenChoice:
    """The sequence length memory is estimated at: the training length (``seq_len``, default the local
    trainer's max_length) capped at the model's context (extended by ``rope_scaling``), or the longest
    example rounded up when shorter — see ``SeqLenChoice``."""
    return memory_seq_len(example_tokens, opts.seq_len, model_context(entry, opts))


def context_assumptions(entry: OpenModelEntry, opts: Assumptions) -> dict[str, Any]:
    """What the estimate says about the context: the native window, the scaling and what it covers, and
    a note when the asked training length was cut to the window."""
    scaling = opts.rope_scaling
    out: dict[str, Any] = {"native_context": entry.context_length, "rope_scaling": scaling.label() if scaling else None,
                           "context": model_context(entry, opts), "attention": opts.attention}
    if opts.seq_len and opts.seq_len > out["context"]:
        needed = factor_needed(opts.seq_len, out["context"])
        fix = "a larger factor" if scaling else f"--set rope_scaling=linear:{needed}"
        out["context_note"] = (f"seq_len {opts.seq_len:,} is past {entry.name}'s context of {out['context']:,}: "
                               f"memory is estimated at {out['context']:,}; {fix} to estimate the longer run")
    return out


def _gpu_counts(max_gpus: int) -> list[int]:
    counts = [c for c in (1, 2, 4, 8, 16) if c <= max_gpus]
    return counts or [1]


def _memory_options(opts: Assumptions, catalog: Catalog) -> dict[str, Any]:
    return {"lora_rank": opts.lora_rank, "activation_checkpointing": opts.activation_checkpointing,
            "optimizer": opts.optimizer, "full_precision": opts.full_precision, "logits": opts.logits,
            "activation_offloading": opts.activation_offloading, "attention": opts.attention,
            "rope_scaling": opts.rope_scaling.as_spec() if opts.rope_scaling else None,
            "catalog": catalog}


def choose_fit(
    shape: ModelShape, adapters: Sequence[TrainMethod], gpu: GpuEntry | None, *, seq_len: int, opts: Assumptions,
    catalog: Catalog,
) -> GpuFit | None:
    """On a stated GPU: the fewest GPUs, then the first adapter in order, that fits. Without one: the
    first adapter that fits anywhere, on the smallest fitting catalog GPU."""
    options = _memory_options(opts, catalog)
    counts = _gpu_counts(opts.max_gpus)
    if gpu is not None:
        for count in counts:
            for adapter in adapters:
                fit = fit_on_gpu(shape, adapter, gpu, seq_len=seq_len, micro_batch=opts.micro_batch,
                                 counts=[count], **options)
                if fit is not None:
                    return fit
        return None
    for adapter in adapters:
        fit = smallest_fitting_gpu(shape, adapter, seq_len=seq_len, micro_batch=opts.micro_batch, counts=counts,
                                   **options)
        if fit is not None:
            return fit
    return None


def choose_price(gpu: GpuEntry, opts: Assumptions) -> tuple[float | None, GpuPrice | None, str]:
    """$/GPU-hour: the user's figure, the named provider's, or the cheapest listed; None when unknown."""
    if opts.gpu_usd_per_hour is not None:
        return opts.gpu_usd_per_hour, None, "given (gpu_usd_per_hour)"
    if opts.gpu_provider:
        price = gpu.price_from(opts.gpu_provider)
        if price is None:
            known = ", ".join(p.provider for p in gpu.prices) or "none"
            raise UsageError(f"no {opts.gpu_provider!r} price for {gpu.name} in the catalog (providers: {known})",
                             code="unknown_name")
        return price.usd_per_hour, price, f"{price.provider}: {price.source}"
    price = gpu.cheapest()
    if price is None:
        return None, None, "no price in the catalog (set gpu_usd_per_hour)"
    return price.usd_per_hour, price, f"cheapest listed, {price.provider}: {price.source}"


def _adapters(adapter: str | None) -> tuple[TrainMethod, ...]:
    if adapter is None:
        return AUTO_ADAPTERS
    for known in ADAPTERS:
        if adapter == known:
            return (known,)
    raise UsageError(f"unknown adapter {adapter!r} (full, lora or qlora)", code="unknown_name")


def _local_one(
    entry: OpenModelEntry, example_tokens: Sequence[int], *, backend: str, epochs: int, method: str,
    adapter: str | None, gpu: GpuEntry | None, opts: Assumptions, catalog: Catalog, runs: Sequence[MeasuredRun],
) -> TrainingEstimate:
    shape = shape_from_entry(entry)
    choice = choose_seq_len(example_tokens, entry, opts)
    seq_len = choice.seq_len
    capped = [min(t, seq_len) for t in example_tokens]
    trained = sum(capped) * epochs
    adapters = _adapters(adapter)
    fit = choose_fit(shape, adapters, gpu, seq_len=seq_len, opts=opts, catalog=catalog)
    assumptions: dict[str, Any] = {
        "examples": len(example_tokens), "seq_len": seq_len, "training_length": choice.training_length,
        "micro_batch": opts.micro_batch, "examples_truncated": choice.over_training_length,
        "longest_example": {"example": choice.longest_example, "tokens": choice.longest}, "p95_tokens": choice.p95,
        "training_method": method,
        "token_counts": "from the dataset's own counts; an open model's tokenizer may differ by 10-20%",
        "licence": entry.licence,
        **context_assumptions(entry, opts),
    }
    if choice.note():
        assumptions["memory_note"] = choice.note()
    if fit is None:
        biggest = estimate_memory(shape, adapters[-1], seq_len=seq_len, micro_batch=opts.micro_batch,
                                  gpus=_gpu_counts(opts.max_gpus)[-1], **_memory_options(opts, catalog))
        where = f"{opts.max_gpus} x {gpu.name}" if gpu else f"up to {opts.max_gpus} of any catalog GPU"
        assumptions["problems"] = [f"does not fit {where} (needs {biggest.total_gb:.1f} GB per GPU "
                                   f"with {adapters[-1]})"]
        return TrainingEstimate(backend=backend, model=entry.name, method=adapters[0], epochs=epochs,
                                billed_tokens=trained, cost_usd=None, hours=None, gpu=gpu.name if gpu else None,
                                fits=False, assumptions=assumptions, prices_as_of=None)
    gpu_entry = catalog.gpus.get(fit.gpu)
    measured = measured_tokens_per_second(runs, model=entry.name, gpu=gpu_entry.name, method=fit.memory.method,
                                          catalog=catalog)
    speed = throughput(shape, fit.memory.method, peak_tflops=gpu_entry.peak_bf16_tflops, gpus=fit.count,
                       mean_seq_len=statistics.fmean(capped), mfu=opts.mfu,
                       activation_checkpointing=opts.activation_checkpointing, dpo=method == "dpo",
                       measured_per_gpu=measured)
    hours = trained / speed.tokens_per_second / 3600
    usd_per_hour, price, price_note = choose_price(gpu_entry, opts)
    assumptions.update({
        "gpus": fit.count, "memory_gb_per_gpu": round(fit.memory.total_gb, 2),
        "full_precision": fit.memory.assumptions.get("full_precision"),
        "memory_components_gb": {k: round(v, 2) for k, v in fit.memory.components().items()},
        "gpu_memory_gb": gpu_entry.memory_gb, "peak_bf16_tflops": gpu_entry.peak_bf16_tflops,
        "throughput_source": speed.source, "mfu": speed.mfu, "tokens_per_second": round(speed.tokens_per_second),
        "activation_checkpointing": opts.activation_checkpointing, "lora_rank": opts.lora_rank,
        "gpu_usd_per_hour": usd_per_hour, "price_source": price_note,
    })
    if usd_per_hour is None:
        assumptions["problems"] = [f"no $/hour for {gpu_entry.name}: cost unknown (set gpu_usd_per_hour)"]
    return TrainingEstimate(
        backend=backend, model=entry.name, method=fit.memory.method, epochs=epochs, billed_tokens=trained,
        cost_usd=hours * fit.count * usd_per_hour if usd_per_hour is not None else None, hours=hours,
        gpu=gpu_entry.name, fits=True, assumptions=assumptions, prices_as_of=price.as_of if price else None,
    )


def plan_local(
    example_tokens: Sequence[int], *, backend: str, model: str | None, epochs: int, method: str,
    adapter: str | None, gpu: str | None, opts: Assumptions, catalog: Catalog,
    measured: Sequence[MeasuredRun] | None,
) -> list[TrainingEstimate]:
    """Local estimates for ``model`` or the catalog's small/medium/large defaults."""
    entries = [catalog.open_models.get(model)] if model else default_local_models(catalog)
    gpu_entry = catalog.gpus.get(gpu) if gpu else None
    runs = list(measured or [])  # the caller reads them (calibration.registry_runs): estimating stays pure
    return [_local_one(e, example_tokens, backend=backend, epochs=epochs, method=method, adapter=adapter,
                       gpu=gpu_entry, opts=opts, catalog=catalog, runs=runs) for e in entries]
