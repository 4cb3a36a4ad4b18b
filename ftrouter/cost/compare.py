"""The comparison behind ``ftrouter compare``: training per backend, inference per option, break-even
against prompting, the dates of every price used, and the data for the cost-vs-volume chart."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from ftrouter.catalog import Catalog
from ftrouter.cost.inference import (
    InferenceOption,
    Workload,
    break_even,
    fine_tuned_option,
    prompting_option,
    rag_option,
    self_hosted_option,
    service_horizon,
)
from ftrouter.cost.shapes import resolve_shape
from ftrouter.cost.types import PriceDate, TrainingEstimate
from ftrouter.errors import PluginMissing
from ftrouter.profiles import plans_gpus, profile_for

CHART_POINTS_PER_DECADE = 8


class Chart(BaseModel):
    """Cumulative cost over the planned service months at each monthly request volume, per option."""

    months: float
    volumes: list[float]
    series: dict[str, list[float]]
    # Options that cannot serve the whole period (their model shuts down first), with why: the chart
    # marks them so a cheap-looking line is not read as a full-period plan.
    caveats: dict[str, str] = Field(default_factory=dict)


class Comparison(BaseModel):
    data: dict[str, Any]
    today: date
    training: list[TrainingEstimate]
    workload: Workload
    baseline: str
    options: list[InferenceOption]
    prices: list[PriceDate]
    notes: list[str] = Field(default_factory=list)
    chart: Chart
    quality: list[str] = Field(default_factory=list)  # from a stored eval run (`compare --eval RUN`)
    quality_title: str | None = None
    quality_rows: list[dict[str, Any]] = Field(default_factory=list)  # the same as values, for the CSV


def default_prompt_model(catalog: Catalog) -> str:
    """The base model "prompting today" is priced with when none is named: the first catalog row marked
    ``prompt_baseline`` (a backend plugin's catalog marks it: a strong base model prompted with few-shot
    examples). Without one, the user must name it."""
    entry = next((m for m in catalog.models.rows.values() if m.prompt_baseline), None)
    if entry is None:
        raise PluginMissing("no model to price prompting with: no installed backend plugin's catalog marks one "
                            "(`prompt_baseline: true`); pass --prompt-model MODEL (a catalog model with base "
                            "prices) or install a managed backend plugin")
    return entry.name


def _shutdown_caveats(options: list[InferenceOption], work: Workload, today: date) -> dict[str, str]:
    caveats = {}
    for option in options:
        horizon, capped = service_horizon(option, work, today)
        if capped:
            caveats[option.name] = (f"shuts down {option.shutdown_date}: serves only {horizon:.1f} of the "
                                    f"{work.service_months:g} months")
    return caveats


def _managed_options(estimates: list[TrainingEstimate], work: Workload, catalog: Catalog) -> list[InferenceOption]:
    out = []
    for est in estimates:
        if not profile_for(est.backend).managed or est.cost_usd is None:
            continue
        option = fine_tuned_option(catalog.get_model(est.model), est.cost_usd, work, catalog, est.backend)
        option.notes.extend(est.assumptions.get("problems", []))
        out.append(option)
    return out


def _self_hosted(est: TrainingEstimate, work: Workload, catalog: Catalog, notes: list[str]) -> InferenceOption | None:
    if not est.fits or est.cost_usd is None or est.gpu is None:
        notes.append(f"self-hosting {est.model}: not priced ({'; '.join(est.assumptions.get('problems', []))})")
        return None
    gpu = catalog.gpus.get(work.self_host_gpu or est.gpu)
    usd = est.assumptions.get("gpu_usd_per_hour") if gpu.name == est.gpu else None
    price = gpu.cheapest()
    as_of = est.prices_as_of
    if usd is None:
        if price is None:
            notes.append(f"self-hosting {est.model} on {gpu.name}: no $/hour in the catalog")
            return None
        usd, as_of = price.usd_per_hour, price.as_of
    return self_hosted_option(resolve_shape(est.model, catalog), gpu, float(usd), est.cost_usd, work, as_of)


def price_dates(models: list[str], estimates: list[TrainingEstimate], catalog: Catalog) -> list[PriceDate]:
    """The dated source of every price behind ``models`` (managed) and the local estimates' GPU prices."""
    seen: dict[str, PriceDate] = {}
    for name in [*models, *(e.model for e in estimates if not plans_gpus(e.backend))]:
        entry = catalog.models.find(name)
        if entry is not None:
            seen[entry.name] = PriceDate(item=entry.name, as_of=entry.as_of, source=entry.source,
                                         secondary=entry.secondary)
    for est in estimates:
        if not plans_gpus(est.backend) or not est.gpu or not est.prices_as_of:
            continue
        gpu = catalog.gpus.get(est.gpu)
        usd = est.assumptions.get("gpu_usd_per_hour")
        price = next((p for p in gpu.prices if p.as_of == est.prices_as_of and p.usd_per_hour == usd), None)
        if price is not None:
            item = f"{gpu.name} ({price.provider}, ${price.usd_per_hour}/h)"
            seen[item] = PriceDate(item=item, as_of=price.as_of, source=price.source, secondary=price.secondary)
    return sorted(seen.values(), key=lambda p: (p.as_of, p.item))


def chart_volumes(work: Workload, options: list[InferenceOption]) -> list[float]:
    """Log-spaced monthly volumes covering the stated volume and every break-even point, x/100 .. x100."""
    marks = [float(max(work.monthly_requests, 1))]
    marks += [o.break_even.monthly_requests for o in options if o.break_even and o.break_even.monthly_requests]
    low = math.floor(math.log10(max(min(marks) / 100, 1)))
    high = math.ceil(math.log10(max(marks) * 100))
    steps = (high - low) * CHART_POINTS_PER_DECADE
    return [10 ** (low + i / CHART_POINTS_PER_DECADE) for i in range(steps + 1)]


def build_comparison(
    estimates: list[TrainingEstimate], work: Workload, *, catalog: Catalog, today: date,
    prompt_model: str | None = None, data: dict[str, Any] | None = None,
    encoder: tuple[TrainingEstimate, dict[str, Any]] | None = None,
) -> Comparison:
    """Every option at ``work``'s volume. ``prompt_model``: the base model prompted today (None:
    ``default_prompt_model``); ``encoder`` (its training estimate and serving figures, from
    ``ftrouter.cost.encoder``) adds the encoder classifier beside them."""
    base = catalog.get_model(prompt_model or default_prompt_model(catalog))
    baseline = prompting_option(base, work, catalog)
    notes: list[str] = []
    options = [baseline, rag_option(base, work, catalog), *_managed_options(estimates, work, catalog)]
    for est in estimates:
        if plans_gpus(est.backend):
            hosted = _self_hosted(est, work, catalog, notes)
            if hosted is not None:
                options.append(hosted)
        elif est.cost_usd is None:  # a managed row without a published price (its catalog note says where)
            notes.append(f"fine-tuning {est.model} ({est.backend}): not priced offline "
                         f"({est.assumptions.get('price')}); {est.billed_tokens:,} billed tokens")
    training = list(estimates)
    if encoder is not None:
        from ftrouter.cost.encoder import encoder_option

        option = encoder_option(*encoder)
        training.append(encoder[0])
        if option is not None:
            options.append(option)
        else:
            notes.append(f"encoder classifier {encoder[0].model}: not priced (no GPU or price for it)")
    for option in options[1:]:
        if option.kind in ("fine-tuned", "self-hosted"):
            option.break_even = break_even(option, baseline, work, today)
    volumes = chart_volumes(work, options)
    chart = Chart(months=work.service_months, volumes=volumes,
                  series={o.name: [o.cost_over(v, work.service_months) for v in volumes] for o in options},
                  caveats=_shutdown_caveats(options, work, today))
    notes.append("RAG excludes the retrieval stack (embedding, vector store); self-hosting assumes dedicated, "
                 "always-on GPUs (730 h a month) and excludes engineering time.")
    return Comparison(data=data or {}, today=today, training=training, workload=work, baseline=baseline.name,
                      options=options, prices=price_dates([o.model for o in options], training, catalog),
                      notes=notes, chart=chart)
