"""The cost of an encoder classifier: a small bidirectional encoder (ModernBERT-base) with a
classification head, fine-tuned on the labelled examples and served on one GPU.

``advise`` puts it beside LLM fine-tuning for high-volume, low-latency classification. Training goes
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
from ftrouter.cost.training import estimate_training
from ftrouter.profiles import self_hosted_backend

ENCODER_MODEL = "answerdotai/ModernBERT-base"
ENCODER_EPOCHS = 3
ENCODER_SEQ_LEN = 512  # classification inputs are cut here (ModernBERT reads up to 8,192)
ASSUMED_INPUT_TOKENS = 128  # per example, when no data was given
HOURS_PER_MONTH = 730


def encoder_classifier_cost(example_tokens: Sequence[int], *, monthly_requests: int | None,
                            catalog: Catalog | None = None, today: Any = None) -> dict[str, Any]:
    """Training and serving cost of the encoder classifier for these examples (token counts)."""
    cat = catalog or default_catalog()
    entry = cat.open_models.get(ENCODER_MODEL)
    tokens = [min(t, ENCODER_SEQ_LEN) for t in example_tokens] or [ASSUMED_INPUT_TOKENS]
    assumptions: dict[str, Any] = {"seq_len": ENCODER_SEQ_LEN}
    if today is not None:
        assumptions["today"] = today
    [train] = estimate_training(self_hosted_backend(), example_tokens=tokens, model=entry.name, epochs=ENCODER_EPOCHS,
                                adapter="full", assumptions=assumptions, catalog=cat, measured=[])
    gpu = cat.gpus.get(train.gpu) if train.gpu else None
    price = train.assumptions.get("gpu_usd_per_hour")
    mean_tokens = sum(tokens) / len(tokens)
    out: dict[str, Any] = {
        "model": entry.name, "params_b": entry.params_b, "epochs": ENCODER_EPOCHS,
        "training_usd": None if train.cost_usd is None else round(train.cost_usd, 2),
        "training_hours": None if train.hours is None else round(train.hours, 3), "gpu": train.gpu,
        "mean_input_tokens": round(mean_tokens, 1), "mfu": DEFAULT_MFU,
    }
    if gpu is None:
        return out
    per_request_flops = 2 * entry.params_b * 1e9 * mean_tokens
    requests_per_s = gpu.peak_bf16_tflops * 1e12 * DEFAULT_MFU / per_request_flops
    out["requests_per_second_per_gpu"] = round(requests_per_s)
    if price is not None:
        out["always_on_gpu_usd_per_month"] = round(price * HOURS_PER_MONTH, 2)
        if monthly_requests:
            busy_hours = monthly_requests / requests_per_s / 3600
            out["compute_usd_per_month"] = round(busy_hours * price, 2)
    return out
