"""The metrics: per-example statistics and an aggregate over any subset of examples (what the bootstrap
resamples). All values are on 0..1, higher is better (sacrebleu's BLEU and chrF are divided by 100).

scikit-learn (accuracy, macro F1, per-class precision/recall), rouge-score (ROUGE-L) and sacrebleu (BLEU,
chrF) do the arithmetic; they are imported lazily (the ``eval`` extra) with an install hint.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ftrouter.errors import UsageError

EXTRA_HINT = "pip install 'ftrouter[eval]'"
LABEL_SET_MAX = 20  # at most this many distinct short references, each seen twice on average: labels
LABEL_MAX_WORDS = 3


def _need(module: str) -> Any:
    from ftrouter.plugins import import_for

    return import_for(module, "this metric", EXTRA_HINT)


_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-folded, punctuation removed (every Unicode P* character), whitespace collapsed."""
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text.casefold())
    return _SPACE.sub(" ", kept).strip()


def _json(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def _field_share(reference: str, answer: str) -> float:
    ok_ref, ref = _json(reference)
    ok, got = _json(answer.strip())
    if not ok:
        return 0.0
    if not (ok_ref and isinstance(ref, dict)):
        return 1.0 if ok_ref and got == ref else 0.0
    if not ref:
        return 1.0 if isinstance(got, dict) else 0.0
    if not isinstance(got, dict):
        return 0.0
    return sum(1 for key, value in ref.items() if key in got and got[key] == value) / len(ref)


@dataclass
class Scored:
    """One metric on one model's answers: per-example statistics and how to aggregate any subset."""

    name: str
    binary: bool  # per-example 0/1 (paired comparisons use McNemar's exact test)
    stats: np.ndarray  # shape (n,) or (n, k)
    aggregate: Callable[[np.ndarray], float]
    marks: list[float]  # the per-example mark shown in reports
    detail: dict[str, Any] | None = None  # e.g. per-class precision/recall
    batch: Callable[[np.ndarray], np.ndarray] | None = None  # the aggregate of many resamples (B, n, ...) at once

    def value(self) -> float:
        return self.aggregate(self.stats)

    def resampled(self, idx: np.ndarray) -> np.ndarray:
        """The aggregate over each row of bootstrap indices ``idx`` (B, n)."""
        if self.stats.ndim == 1 and self.aggregate is _mean:
            return np.asarray(self.stats[idx].mean(axis=1))
        if self.batch is not None:
            return self.batch(self.stats[idx])
        return np.array([self.aggregate(self.stats[row]) for row in idx])

    def subset(self, keep: np.ndarray) -> Scored:
        return Scored(self.name, self.binary, self.stats[keep], self.aggregate,
                      [self.marks[i] for i in np.flatnonzero(keep)], self.detail, self.batch)


def _mean(stats: np.ndarray) -> float:
    return float(stats.mean()) if len(stats) else float("nan")


def per_example(name: str, binary: bool, values: np.ndarray, detail: dict[str, Any] | None = None) -> Scored:
    """A metric that is the mean of per-example values (0/1 when ``binary``)."""
    values = np.asarray(values, dtype=float)
    return Scored(name, binary, values, _mean, values.tolist(), detail)


def _per_example(name: str, binary: bool, fn: Callable[[str, str], float],
                 refs: list[str], answers: list[str]) -> Scored:
    values = np.array([fn(r, a) for r, a in zip(refs, answers, strict=True)], dtype=float)
    return Scored(name, binary, values, _mean, values.tolist())


def _rouge_l(refs: list[str], answers: list[str]) -> Scored:
    scorer = _need("rouge_score.rouge_scorer").RougeScorer(["rougeL"], use_stemmer=False)
    return _per_example("rougeL", False, lambda r, a: scorer.score(r, a)["rougeL"].fmeasure, refs, answers)


def _sacrebleu(name: str, refs: list[str], answers: list[str]) -> Scored:
    metrics = _need("sacrebleu.metrics")
    metric = metrics.BLEU(effective_order=True) if name == "bleu" else metrics.CHRF()
    # the per-sentence sufficient statistics (what sacrebleu's own paired bootstrap resamples): the corpus
    # score of any subset is computed from their sum, so resampling never re-tokenizes
    stats = np.array(metric._extract_corpus_statistics(answers, [refs]), dtype=float)

    def corpus(rows: np.ndarray) -> float:
        return float(metric._compute_score_from_stats(list(rows.sum(axis=0))).score) / 100

    return Scored(name, False, stats, corpus, [corpus(row[None, :]) for row in stats])


def _labels(name: str, refs: list[str], answers: list[str]) -> Scored:
    sk = _need("sklearn.metrics")
    classes = sorted({normalize(r) for r in refs})
    index = {label: i for i, label in enumerate(classes)}
    other = len(classes)  # any prediction that is not a reference label
    stats = np.array([[index[normalize(r)], index.get(normalize(a), other)] for r, a in zip(refs, answers,
                                                                                            strict=True)])

    def macro_f1(rows: np.ndarray) -> float:
        return float(sk.f1_score(rows[:, 0], rows[:, 1], labels=np.unique(rows[:, 0]), average="macro",
                                 zero_division=0))

    precision, recall, f1, support = sk.precision_recall_fscore_support(
        stats[:, 0], stats[:, 1], labels=list(range(len(classes))), zero_division=0)
    per_class = {label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                         "support": int(support[i])} for i, label in enumerate(classes)}
    correct = (stats[:, 0] == stats[:, 1]).astype(float)
    marks = correct.tolist()
    if name == "accuracy":  # the share of correct labels: sklearn's accuracy_score is exactly this mean
        return Scored(name, True, correct, _mean, marks, {"per_class": per_class})
    return Scored(name, False, stats, macro_f1, marks, {"per_class": per_class}, _macro_f1_batch)


def _macro_f1_batch(samples: np.ndarray) -> np.ndarray:
    return macro_f1_batch(samples)


def macro_f1_batch(samples: np.ndarray, *, union: bool = False) -> np.ndarray:
    """Macro F1 of every resample in ``samples`` (B, n, 2: reference id, prediction id) at once, from
    per-class counts, as ``f1_score(average="macro", labels=<classes in the resample's references>,
    zero_division=0)`` computes it — with ``union``, over the classes in its references or predictions,
    scikit-learn's default labels (tests check both agree). One ``sklearn`` call per resample would
    take seconds per model at a few thousand examples."""
    refs, preds = samples[..., 0], samples[..., 1]
    width = int(max(refs.max(), preds.max())) + 1
    offset = np.arange(len(samples))[:, None] * width  # one bincount over all resamples: (resample, class) cells

    def counts(cells: np.ndarray) -> np.ndarray:
        return np.bincount(cells.ravel(), minlength=len(samples) * width).reshape(len(samples), width).astype(float)

    tp = counts((offset + refs)[refs == preds])
    in_refs, in_preds = counts(offset + refs), counts(offset + preds)
    denominator = in_refs + in_preds  # 2 TP + FP + FN
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = (in_refs + in_preds > 0) if union else in_refs > 0
    return np.asarray((f1 * present).sum(axis=1) / present.sum(axis=1))


_PER_EXAMPLE: dict[str, tuple[bool, Callable[[str, str], float]]] = {
    "exact": (True, lambda r, a: float(r.strip() == a.strip())),
    "normalized": (True, lambda r, a: float(normalize(r) == normalize(a))),
    "contains": (True, lambda r, a: float(normalize(r) in normalize(a))),
    "json_valid": (True, lambda r, a: float(_json(a.strip())[0])),
    "json_fields": (False, _field_share),
}
METRICS = (*_PER_EXAMPLE, "accuracy", "macro_f1", "rougeL", "chrf", "bleu")
JUDGE = "judge"


def check_names(names: list[str]) -> None:
    for name in names:
        if name not in METRICS and name != JUDGE:
            raise UsageError(f"--metric: unknown metric {name!r} (known: {', '.join((*METRICS, JUDGE))})",
                             code="bad_metric")


def score(name: str, refs: list[str], answers: list[str]) -> Scored:
    """One metric over paired references and answers."""
    if name in _PER_EXAMPLE:
        binary, fn = _PER_EXAMPLE[name]
        return _per_example(name, binary, fn, refs, answers)
    if name in ("accuracy", "macro_f1"):
        return _labels(name, refs, answers)
    if name == "rougeL":
        return _rouge_l(refs, answers)
    if name in ("bleu", "chrf"):
        return _sacrebleu(name, refs, answers)
    raise UsageError(f"unknown metric {name!r}", code="bad_metric")


def default_metrics(refs: list[str], labelled: bool = False) -> list[str]:
    """The metrics a reference set calls for: JSON objects -> JSON metrics; a small label set -> accuracy
    and macro F1; anything else (free text) -> normalized match and ROUGE-L."""
    if labelled:
        return ["accuracy", "macro_f1"]
    if all(isinstance(_json(r.strip())[1], dict) for r in refs):
        return ["json_fields", "json_valid", "exact"]
    distinct = {normalize(r) for r in refs}
    short = all(len(r.split()) <= LABEL_MAX_WORDS for r in refs)
    if short and len(distinct) <= LABEL_SET_MAX and 2 * len(distinct) <= len(refs):
        return ["accuracy", "macro_f1"]
    return ["normalized", "rougeL"]
