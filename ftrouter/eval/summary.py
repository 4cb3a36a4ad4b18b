"""An ``EvalResult`` as plain data: the ``--json`` summary and one row per example (what is stored and
what every report renders, so ``evals show RUN`` redraws any format without a model call).

JSON has no NaN: a value that cannot be computed (no answered example) is ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ftrouter.eval.engine import Outcome
from ftrouter.eval.run import EvalResult, ModelResult


def _num(value: float | None, digits: int = 6) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(float(value), digits)


def _latency(outcomes: list[Outcome]) -> dict[str, float | None]:
    values = [o.latency_ms for o in outcomes if o.ok and o.latency_ms is not None]
    if not values:
        return {"p50": None, "p95": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": _num(p50, 1), "p95": _num(p95, 1)}


def _tokens(outcomes: list[Outcome]) -> dict[str, int | None]:
    ins = [o.input_tokens for o in outcomes if o.ok]
    outs = [o.output_tokens for o in outcomes if o.ok]
    return {"input": sum(ins) if ins and None not in ins else None,  # type: ignore[arg-type]
            "output": sum(outs) if outs and None not in outs else None}  # type: ignore[arg-type]


def _cost(price_model: str | None, tokens: dict[str, int | None]) -> float | None:
    """List price of the answered examples' tokens (cached or not: what this eval costs to run), from the
    model catalog; None for self-hosted or unknown models and when a server reports no usage."""
    if price_model is None or tokens["input"] is None or tokens["output"] is None:
        return None
    from ftrouter.catalog import find_model

    entry = find_model(price_model)
    if entry is None:
        return None
    tuned = price_model.startswith("ft:")
    price_in = entry.ft_input_usd_per_1m if tuned else entry.base_input_usd_per_1m
    price_out = entry.ft_output_usd_per_1m if tuned else entry.base_output_usd_per_1m
    if price_in is None or price_out is None:
        return None
    return round((tokens["input"] * float(price_in) + tokens["output"] * float(price_out)) / 1e6, 6)


def model_summary(result: ModelResult) -> dict[str, Any]:
    tokens = _tokens(result.outcomes)
    return {
        "model": result.spec.raw,
        "metrics": {name: _num(s.value()) for name, s in result.scored.items()},
        "ci95": {name: [_num(lo), _num(hi)] for name, (lo, hi) in result.intervals.items()},
        "errors": sum(1 for o in result.outcomes if not o.ok),
        "cached": sum(1 for o in result.outcomes if o.ok and o.cached),
        "latency_ms": _latency(result.outcomes),
        "tokens": tokens,
        "cost_usd": _cost(result.answerer.price_model if result.answerer else None, tokens),
    }


def summary(result: EvalResult) -> dict[str, Any]:
    """The ``--json`` document, exactly the documented shape (comparisons also say which ``test``)."""
    return {
        "data": str(result.data),
        "examples": len(result.examples),
        "models": [model_summary(m) for m in result.models],
        "comparisons": [
            {"a": c.a, "b": c.b, "metric": c.metric, "delta": _num(c.delta), "ci95": [_num(c.ci95[0]),
             _num(c.ci95[1])], "p_value": _num(c.p_value, 6), "test": c.test}
            for c in result.comparisons
        ],
    }


def details(result: EvalResult) -> dict[str, Any]:
    """What the report shows beyond ``--json``: the metric list, per-class precision/recall, settings,
    and which models are tuned (``advise --eval RUN`` reads it)."""
    per_class = {}
    for m in result.models:
        for s in m.scored.values():
            if s.detail and "per_class" in s.detail:
                per_class[m.spec.raw] = s.detail["per_class"]
                break
    return {"metrics": result.metrics, "per_class": per_class, "settings": result.settings.as_dict(),
            "tuned": {m.spec.raw: m.spec.tuned for m in result.models}}


def example_rows(result: EvalResult) -> Iterator[dict[str, Any]]:
    """One row per example: prompt, reference, and every model's answer (or error) with its marks."""
    positions = []  # example index -> index among that model's answered examples
    for m in result.models:
        answered = m.answered
        positions.append(np.cumsum(answered) - 1)
    for i, ex in enumerate(result.examples):
        answers = {}
        for m, pos in zip(result.models, positions, strict=True):
            o = m.outcomes[i]
            marks = {name: _num(s.marks[int(pos[i])]) for name, s in m.scored.items()} if o.ok else {}
            answers[m.spec.raw] = {"text": o.text, "error": o.error, "cached": o.cached, "marks": marks}
        yield {"line": ex.line, "prompt": ex.messages(), "reference": ex.reference, "answers": answers}
