"""Per-query inference cost of each way to serve the task, and when a fine-tune pays back.

Options (research notes local-training.md §6):
- prompting: a base model with today's prompt (few-shot examples included) + the query;
- rag: a base model with a short instruction + retrieved context + the query;
- fine-tuned: a managed fine-tuned model with a short instruction + the query;
- self-hosted: a local fine-tune served on dedicated GPUs at a stated sustainable throughput.

Break-even of a fine-tuned option against prompting: N* = C_train / (c_prompt - c_ft) queries, or for
self-hosting the monthly volume at which training + GPU-months match prompting. Either must happen
within the model's remaining service life: a model that shuts down in 8 weeks amortises over 8 weeks.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.catalog import Catalog, GpuEntry, ModelEntry
from ftrouter.cost.shapes import ModelShape
from ftrouter.errors import CatalogError

HOURS_PER_MONTH = 730  # a dedicated GPU bills every hour of the month
DAYS_PER_MONTH = 365.25 / 12
OptionKind = Literal["prompting", "rag", "fine-tuned", "self-hosted"]


class Workload(BaseModel):
    """The per-query shape of the task and the planning horizon (every field is an assumption)."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(default=3000, ge=0)  # today's prompt incl. few-shot examples (static part)
    query_tokens: int = Field(default=200, ge=0)  # the variable input of one request
    output_tokens: int = Field(default=150, ge=0)
    instruction_tokens: int = Field(default=100, ge=0)  # the short system prompt a fine-tune still needs
    rag_context_tokens: int = Field(default=2000, ge=0)  # retrieved passages per request
    cache_static_prompt: bool = False  # bill the static prompt at the cached-input price
    monthly_requests: int = Field(default=100_000, ge=0)
    service_months: float = Field(default=12, gt=0)  # how long the adapted model must stay in service
    serving_mfu: float = Field(default=0.10, gt=0, le=1)  # share of GPU peak a batched server sustains
    serving_tokens_per_second: float | None = Field(default=None, gt=0)  # overrides serving_mfu, per GPU
    self_host_gpu: str | None = None  # default: the GPU the model was trained on


class BreakEven(BaseModel):
    """When a fine-tuned option's upfront cost is repaid by its cheaper queries, against prompting."""

    monthly_requests: float | None  # the volume at which it pays back within the horizon; None = never
    total_requests: float | None  # queries needed over the horizon
    horizon_months: float  # min(service_months, remaining service life)
    capped_by_shutdown: bool
    note: str


class InferenceOption(BaseModel):
    name: str
    kind: OptionKind
    model: str
    per_query_usd: float  # marginal cost of one query (self-hosted: at full utilisation)
    training_usd: float = 0.0
    gpu: str | None = None
    gpus: int = 0  # self-hosted: GPUs per replica
    gpu_month_usd: float | None = None  # self-hosted: one replica for a month
    queries_per_month_per_replica: float | None = None
    shutdown_date: date | None = None
    prices_as_of: date | None = None
    break_even: BreakEven | None = None
    notes: list[str] = Field(default_factory=list)

    def cost_over(self, monthly_requests: float, months: float) -> float:
        """Cumulative cost (training + serving) of ``monthly_requests`` a month for ``months``."""
        if self.kind != "self-hosted":
            return self.training_usd + months * monthly_requests * self.per_query_usd
        capacity = self.queries_per_month_per_replica or 1.0
        replicas = max(1, math.ceil(monthly_requests / capacity))
        return self.training_usd + months * replicas * (self.gpu_month_usd or 0.0)


def _price(entry: ModelEntry, field: str, catalog: Catalog) -> float:
    value = getattr(entry, field)
    if value is None:
        raise CatalogError(f"row {entry.name!r}: {field} is missing; cannot price inference for {entry.name}",
                           path=catalog.models.where(entry.name))
    return float(value)


def _cached_or_input(entry: ModelEntry, cached_field: str, input_price: float) -> float:
    cached = getattr(entry, cached_field)
    return float(cached) if cached is not None else input_price


def prompting_option(entry: ModelEntry, work: Workload, catalog: Catalog) -> InferenceOption:
    p_in = _price(entry, "base_input_usd_per_1m", catalog)
    p_out = _price(entry, "base_output_usd_per_1m", catalog)
    p_static = _cached_or_input(entry, "base_cached_input_usd_per_1m", p_in) if work.cache_static_prompt else p_in
    usd = (work.prompt_tokens * p_static + work.query_tokens * p_in + work.output_tokens * p_out) / 1e6
    return InferenceOption(name=f"prompt {entry.name}", kind="prompting", model=entry.name, per_query_usd=usd,
                           prices_as_of=entry.as_of)


def rag_option(entry: ModelEntry, work: Workload, catalog: Catalog) -> InferenceOption:
    p_in = _price(entry, "base_input_usd_per_1m", catalog)
    p_out = _price(entry, "base_output_usd_per_1m", catalog)
    tokens_in = work.instruction_tokens + work.rag_context_tokens + work.query_tokens
    usd = (tokens_in * p_in + work.output_tokens * p_out) / 1e6
    return InferenceOption(name=f"RAG {entry.name}", kind="rag", model=entry.name, per_query_usd=usd,
                           prices_as_of=entry.as_of)


def fine_tuned_option(
    entry: ModelEntry, training_usd: float, work: Workload, catalog: Catalog, backend: str,
) -> InferenceOption:
    p_in = _price(entry, "ft_input_usd_per_1m", catalog)
    p_out = _price(entry, "ft_output_usd_per_1m", catalog)
    usd = ((work.instruction_tokens + work.query_tokens) * p_in + work.output_tokens * p_out) / 1e6
    return InferenceOption(name=f"fine-tuned {entry.name} ({backend})", kind="fine-tuned", model=entry.name,
                           per_query_usd=usd, training_usd=training_usd, shutdown_date=entry.shutdown_date,
                           prices_as_of=entry.as_of)


def serving_gpus(shape: ModelShape, gpu: GpuEntry) -> int:
    """GPUs one serving replica needs: bf16 weights plus 20% for the KV cache and activations."""
    return max(1, math.ceil(shape.params * 2 * 1.2 / 2**30 / gpu.memory_gb))


def self_hosted_option(
    shape: ModelShape, gpu: GpuEntry, usd_per_gpu_hour: float, training_usd: float, work: Workload,
    prices_as_of: date | None,
) -> InferenceOption:
    """A dedicated replica: queries/month from a sustained tokens/s (given, or peak x serving MFU over
    2·N FLOPs per processed token); cost per query at full utilisation."""
    gpus = serving_gpus(shape, gpu)
    tokens_per_query = work.instruction_tokens + work.query_tokens + work.output_tokens
    if work.serving_tokens_per_second is not None:
        tps = work.serving_tokens_per_second * gpus
    else:
        tps = gpu.peak_bf16_tflops * 1e12 * work.serving_mfu * gpus / (2 * shape.params)
    capacity = tps / max(tokens_per_query, 1) * 3600 * HOURS_PER_MONTH
    month_usd = gpus * usd_per_gpu_hour * HOURS_PER_MONTH
    return InferenceOption(
        name=f"self-host {shape.name} on {gpus} x {gpu.name}", kind="self-hosted", model=shape.name,
        per_query_usd=month_usd / capacity, training_usd=training_usd, gpu=gpu.name, gpus=gpus,
        gpu_month_usd=month_usd, queries_per_month_per_replica=capacity, prices_as_of=prices_as_of,
    )


def service_horizon(option: InferenceOption, work: Workload, today: date) -> tuple[float, bool]:
    """Months the option can earn its training back: the planned service, capped by its shutdown."""
    if option.shutdown_date is None:
        return work.service_months, False
    remaining = max(0.0, (option.shutdown_date - today).days / DAYS_PER_MONTH)
    if remaining < work.service_months:
        return remaining, True
    return work.service_months, False


def _per_token_break_even(option: InferenceOption, baseline: InferenceOption, horizon: float) -> tuple[
        float | None, float | None, str]:
    saving = baseline.per_query_usd - option.per_query_usd
    if saving <= 0:
        return None, None, f"never: a query costs more than prompting ({option.per_query_usd:.6f} USD)"
    total = option.training_usd / saving
    if horizon <= 0:
        return None, total, "never: no service life left"
    return total / horizon, total, f"pays back after {total:,.0f} queries"


def _self_hosted_break_even(option: InferenceOption, baseline: InferenceOption, horizon: float) -> tuple[
        float | None, float | None, str]:
    capacity = option.queries_per_month_per_replica or 0.0
    month = option.gpu_month_usd or 0.0
    if horizon <= 0:
        return None, None, "never: no service life left"
    if baseline.per_query_usd <= 0 or capacity <= 0 or month / capacity >= baseline.per_query_usd:
        return None, None, "never: even a fully used GPU costs more per query than prompting"
    replicas = 1
    while True:  # terminates: month / capacity < baseline price, so volume/replica shrinks below capacity
        volume = (option.training_usd / horizon + replicas * month) / baseline.per_query_usd
        if volume <= replicas * capacity:
            volume = max(volume, (replicas - 1) * capacity)
            return volume, volume * horizon, f"pays back from {volume:,.0f} queries a month on {replicas} replica(s)"
        replicas += 1


def break_even(option: InferenceOption, baseline: InferenceOption, work: Workload, today: date) -> BreakEven:
    """Monthly volume at which ``option`` is cheaper than ``baseline`` over its service horizon."""
    horizon, capped = service_horizon(option, work, today)
    if option.kind == "self-hosted":
        monthly, total, note = _self_hosted_break_even(option, baseline, horizon)
    else:
        monthly, total, note = _per_token_break_even(option, baseline, horizon)
    if capped:
        note += f"; only {horizon:.1f} months of service left (shuts down {option.shutdown_date})"
    return BreakEven(monthly_requests=monthly, total_requests=total, horizon_months=horizon,
                     capped_by_shutdown=capped, note=note)
