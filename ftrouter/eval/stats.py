"""Confidence intervals and paired comparisons.

- ``ci95``: percentile bootstrap over examples (``RESAMPLES`` resamples, fixed seed: reruns print the same
  interval). Corpus metrics (BLEU, chrF, macro F1) are recomputed on every resample, not averaged.
- Comparisons of two models are paired (the same examples, each answered by both): the interval of the
  difference is a paired bootstrap; the p-value is McNemar's exact test for per-example 0/1 metrics
  (exact, normalized, contains, json_valid, accuracy) and the paired bootstrap's two-sided p for the rest.
  With ``RESAMPLES`` = 1000 the smallest bootstrap p-value is 2/1001 (about 0.002).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ftrouter.eval.metrics import Scored

RESAMPLES = 1000
SEED = 0
ALPHA = 0.05
MCNEMAR = "mcnemar_exact"
BOOTSTRAP = "paired_bootstrap"


CHUNK = 50  # resamples drawn at a time: memory stays flat in the number of examples


def _resample(n: int, *scored: Scored) -> list[np.ndarray]:
    """Each ``scored``'s aggregate over the same ``RESAMPLES`` bootstrap resamples of n examples (fixed
    seed), drawn ``CHUNK`` at a time instead of one (RESAMPLES x n) index matrix."""
    rng = np.random.default_rng(SEED)
    parts: list[list[np.ndarray]] = [[] for _ in scored]
    for start in range(0, RESAMPLES, CHUNK):
        idx = rng.integers(0, n, size=(min(CHUNK, RESAMPLES - start), n), dtype=np.int32)
        for part, s in zip(parts, scored, strict=True):
            part.append(s.resampled(idx))
    return [np.concatenate(part) for part in parts]


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def ci95(scored: Scored) -> tuple[float, float]:
    n = len(scored.stats)
    if n == 0:
        return float("nan"), float("nan")
    return _interval(_resample(n, scored)[0])


@dataclass
class Comparison:
    a: str
    b: str
    metric: str
    delta: float  # b minus a: positive when b scores higher
    ci95: tuple[float, float]
    p_value: float
    test: str
    examples: int  # the examples both models answered

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "no significant difference"
        return f"{self.b} better" if self.delta > 0 else f"{self.b} worse (significant regression)"


def mcnemar_p(a: np.ndarray, b: np.ndarray) -> float:
    """McNemar's exact test: a two-sided binomial test on the discordant pairs (scipy)."""
    from scipy.stats import binomtest

    only_a = int(np.sum((a == 1) & (b == 0)))
    only_b = int(np.sum((a == 0) & (b == 1)))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_b, only_a + only_b, 0.5).pvalue)


def compare(a_name: str, b_name: str, a: Scored, b: Scored) -> Comparison:
    """Compare two models' scores on the same examples (already restricted to those both answered)."""
    n = len(a.stats)
    if n == 0:
        nan = float("nan")
        return Comparison(a_name, b_name, a.name, nan, (nan, nan), nan, BOOTSTRAP, 0)
    on_a, on_b = _resample(n, a, b)
    deltas = on_b - on_a
    delta = b.value() - a.value()
    if a.binary:
        p_value = mcnemar_p(np.array(a.marks), np.array(b.marks))
        return Comparison(a_name, b_name, a.name, delta, _interval(deltas), p_value, MCNEMAR, n)
    deltas = deltas[~np.isnan(deltas)]
    p = float("nan")
    if len(deltas):  # (k + 1) / (B + 1): a bootstrap p-value is never exactly 0
        tail = min(int(np.sum(deltas <= 0)), int(np.sum(deltas >= 0)))
        p = min(1.0, 2 * (tail + 1) / (len(deltas) + 1))
    return Comparison(a_name, b_name, a.name, delta, _interval(deltas), p, BOOTSTRAP, n)
