"""One evaluation run: every model answers every example (engine), every metric is scored with its
interval, and every pair of models is compared on the examples both answered.

A model's metrics are computed over the examples it answered; ``errors`` says how many it did not. A
model that answered nothing is reported with its errors and no metrics; only when no model answered
anything does the run fail (exit 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from ftrouter.errors import BackendError
from ftrouter.eval.answerer import Answerer, GenerationSettings, ModelSpec
from ftrouter.eval.cache import AnswerCache
from ftrouter.eval.dataset import EvalExample
from ftrouter.eval.engine import ModelRun, Outcome, Tick, answer_all
from ftrouter.eval.metrics import JUDGE, Scored, default_metrics, score
from ftrouter.eval.stats import Comparison, ci95, compare
from ftrouter.http import RetryPolicy

JudgeFn = Callable[[list[EvalExample], list[Outcome], np.ndarray], Scored]
PreferenceFn = Callable[[list[EvalExample], str, list[Outcome], str, list[Outcome]], Comparison]


@dataclass
class ModelResult:
    spec: ModelSpec
    answerer: Answerer | None  # None for an encoder model (``ftrouter.eval.encoder``): it predicts, not answers
    outcomes: list[Outcome]
    scored: dict[str, Scored] = field(default_factory=dict)  # over the answered examples
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def answered(self) -> np.ndarray:
        return np.array([o.ok for o in self.outcomes], dtype=bool)


@dataclass
class EvalResult:
    data: Path
    examples: list[EvalExample]
    metrics: list[str]
    models: list[ModelResult]
    comparisons: list[Comparison]
    settings: GenerationSettings


def choose_metrics(examples: list[EvalExample], asked: list[str] | None) -> list[str]:
    if asked:
        return list(dict.fromkeys(asked))
    return default_metrics([ex.reference for ex in examples], labelled=any(ex.is_label for ex in examples))


def _score_model(result: ModelResult, examples: list[EvalExample], metrics: list[str], judge: JudgeFn | None) -> None:
    keep = result.answered
    refs = [ex.reference for ex, k in zip(examples, keep, strict=True) if k]
    answers = [o.text or "" for o in result.outcomes if o.ok]
    for name in metrics:
        if not refs:
            continue
        if name == JUDGE:
            if judge is None:
                continue
            result.scored[name] = judge(examples, result.outcomes, keep)
        else:
            result.scored[name] = score(name, refs, answers)
        result.intervals[name] = ci95(result.scored[name])


def pairwise(models: list[ModelResult], metrics: list[str], examples: list[EvalExample],
              preference: PreferenceFn | None) -> list[Comparison]:
    comparisons = []
    for a, b in combinations(models, 2):
        both = a.answered & b.answered
        for name in metrics:
            if name not in a.scored or name not in b.scored:
                continue
            sa = a.scored[name].subset(both[a.answered])
            sb = b.scored[name].subset(both[b.answered])
            comparisons.append(compare(a.spec.raw, b.spec.raw, sa, sb))
        if preference is not None and JUDGE in metrics:
            comparisons.append(preference(examples, a.spec.raw, a.outcomes, b.spec.raw, b.outcomes))
    return comparisons


def evaluate(data: Path, examples: list[EvalExample], models: list[tuple[ModelSpec, Answerer]], *,
             metrics: list[str], concurrency: int | None = None, settings: GenerationSettings | None = None,
             cache: AnswerCache | None = None, retry: RetryPolicy | None = None, judge: JudgeFn | None = None,
             preference: PreferenceFn | None = None, tick: Tick | None = None) -> EvalResult:
    """Answer, score and compare. Raises when every request of a model failed (see ``engine``)."""
    settings = settings or GenerationSettings()
    cache = cache or AnswerCache()
    results = []
    for spec, answerer in models:
        run = ModelRun(answerer, spec.raw, concurrency or answerer.default_concurrency, settings,
                       retry or RetryPolicy())
        results.append(ModelResult(spec, answerer, answer_all(examples, run, cache, tick, strict=False)))
    if not any(o.ok for r in results for o in r.outcomes):
        first = next(o.error for r in results for o in r.outcomes if o.error)
        raise BackendError(f"every request failed; the first error: {first}", code="all_requests_failed")
    for result in results:
        _score_model(result, examples, metrics, judge)
    return EvalResult(data, examples, metrics, results, pairwise(results, metrics, examples, preference), settings)
