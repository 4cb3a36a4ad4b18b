"""The cost of an encoder classifier: a small bidirectional encoder (ModernBERT-base) with a
classification head, fine-tuned on the labelled examples and served on one GPU.

``advise`` puts it beside LLM fine-tuning for high-volume, low-latency classification; ``estimate
--task`` prices the fine-tune alone and ``compare`` adds it as an option beside prompting and LLM
fine-tunes (``ftrouter.cost.labelled`` reads the labelled data). Training goes
through the same local estimate as any open model (full fine-tuning, FLOPs / (peak x MFU), the
catalog's GPU prices); serving is a compute-bound figure — 2 x parameters FLOPs per input token at
the same MFU on that GPU kind — plus what keeping one GPU on all month costs, since a service needs
one whatever its load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ftrouter.catalog import Catalog, default_catalog
from ftrouter.cost.compute import DEFAULT_MFU
from ftrouter.cost.inference import InferenceOption
from ftrouter.cost.training import estimate_training
from ftrouter.cost.types import TrainingEstimate
from ftrouter.profiles import self_hosted_backend

ENCODER_MODEL = "answerdotai/ModernBERT-base"
ENCODER_EPOCHS = 3
ENCODER_SEQ_LEN = 512  # classification inputs are cut here (ModernBERT reads up to 8,192)
ASSUMED_INPUT_TOKENS = 128  # per example, when no data was given
HOURS_PER_MONTH = 730


def encoder_training(example_tokens: Sequence[int], *, catalog: Catalog | None = None, model: str | None = None,
                     epochs: int | None = None, adapter: str | None = None, gpu: str | None = None,
                     assumptions: dict[str, Any] | None = None,
                     measured: Sequence[Any] | None = None) -> TrainingEstimate:
    """Fine-tuning the encoder (``ENCODER_MODEL`` unless ``model`` names another open model) on these
    examples: the local planner's memory, time and GPU price, inputs cut at ``ENCODER_SEQ_LEN``, full
    fine-tuning and ``ENCODER_EPOCHS`` epochs unless told otherwise."""
    cat = catalog or default_catalog()
    tokens = [min(t, ENCODER_SEQ_LEN) for t in example_tokens] or [ASSUMED_INPUT_TOKENS]
    name = cat.open_models.get(model or ENCODER_MODEL).name
    [train] = estimate_training(self_hosted_backend(), example_tokens=tokens, model=name,
                                epochs=epochs or ENCODER_EPOCHS, adapter=adapter or "full", gpu=gpu,
                                assumptions={"seq_len": ENCODER_SEQ_LEN, **(assumptions or {})}, catalog=cat,
                                measured=measured or [])
    return train


def encoder_serving(train: TrainingEstimate, mean_tokens: float, *, monthly_requests: int | None,
                    catalog: Catalog | None = None) -> dict[str, Any]:
    """Serving the trained encoder on the GPU it trained on: requests/s at ``DEFAULT_MFU`` (2 x parameters
    FLOPs per input token, compute-bound), an always-on GPU a month, and the busy GPU-hours' cost of
    ``monthly_requests``."""
    cat = catalog or default_catalog()
    entry = cat.open_models.get(train.model)
    out: dict[str, Any] = {"mean_input_tokens": round(mean_tokens, 1), "mfu": DEFAULT_MFU, "gpu": train.gpu}
    gpu = cat.gpus.get(train.gpu) if train.gpu else None
    if gpu is None:
        return out
    requests_per_s = gpu.peak_bf16_tflops * 1e12 * DEFAULT_MFU / (2 * entry.params_b * 1e9 * max(mean_tokens, 1.0))
    out["requests_per_second_per_gpu"] = round(requests_per_s)
    price = train.assumptions.get("gpu_usd_per_hour")
    if price is not None:
        out["always_on_gpu_usd_per_month"] = round(price * HOURS_PER_MONTH, 2)
        if monthly_requests:
            out["compute_usd_per_month"] = round(monthly_requests / requests_per_s / 3600 * price, 2)
    return out


def encoder_classifier_cost(example_tokens: Sequence[int], *, monthly_requests: int | None,
                            catalog: Catalog | None = None, today: Any = None) -> dict[str, Any]:
    """Training and serving cost of the encoder classifier for these examples (token counts)."""
    cat = catalog or default_catalog()
    train = encoder_training(example_tokens, catalog=cat, assumptions={"today": today} if today is not None else None)
    tokens = [min(t, ENCODER_SEQ_LEN) for t in example_tokens] or [ASSUMED_INPUT_TOKENS]
    entry = cat.open_models.get(train.model)
    out: dict[str, Any] = {
        "model": entry.name, "params_b": entry.params_b, "epochs": train.epochs,
        "training_usd": None if train.cost_usd is None else round(train.cost_usd, 2),
        "training_hours": None if train.hours is None else round(train.hours, 3), "gpu": train.gpu,
    }
    serving = encoder_serving(train, sum(tokens) / len(tokens), monthly_requests=monthly_requests, catalog=cat)
    return {**out, **serving}


def encoder_option(train: TrainingEstimate, serving: dict[str, Any]) -> InferenceOption | None:
    """The encoder classifier as a ``compare`` option: one dedicated GPU per replica, its capacity the
    requests/s above (None when the GPU or its price is unknown)."""
    rps, month = serving.get("requests_per_second_per_gpu"), serving.get("always_on_gpu_usd_per_month")
    if not rps or month is None or train.cost_usd is None:
        return None
    capacity = float(rps) * 3600 * HOURS_PER_MONTH
    short = train.model.rsplit("/", 1)[-1]
    return InferenceOption(name=f"encoder classifier {short} on 1 x {train.gpu}", kind="self-hosted",
                           model=train.model, per_query_usd=month / capacity, training_usd=train.cost_usd,
                           gpu=train.gpu, gpus=1, gpu_month_usd=month, queries_per_month_per_replica=capacity,
                           prices_as_of=train.prices_as_of,
                           notes=[f"{serving['mean_input_tokens']:g} input tokens per request, "
                                  f"{rps:,} requests/s per GPU (2 x parameters FLOPs per token at MFU "
                                  f"{serving['mfu']}); always-on GPU"])
