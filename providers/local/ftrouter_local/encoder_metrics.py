"""The metrics of the encoder tasks, one definition for training and for ``ftrouter eval``.

Training's validation scores (``status --json`` ``metrics``) and the eval's scores on a test file come
from the functions here, under the same names:

- classification, pair classification: ``accuracy``, ``macro_f1`` (scikit-learn; macro over the labels
  in the truth or the predictions, scikit-learn's default);
- multi-label (a label is predicted when its logit is > 0, sigmoid > 0.5): ``micro_f1``, ``macro_f1``
  (over every label of the model), ``exact_match``;
- token classification: entity-level ``f1``, ``precision``, ``recall`` (seqeval's CoNLL definition on
  BIO tags, micro-averaged) and token ``accuracy``;
- embedding: ``recall@1``, ``recall@10``, ``mrr`` (MRR@10) of each query's own positive among every
  positive (and negative) of the file, cosine similarity, ranked as sentence-transformers'
  ``InformationRetrievalEvaluator`` ranks them.

For the eval they are ``Scored`` objects: per-example statistics from which any bootstrap resample's
value is computed (counts summed, so resampling stays fast); the unit tests check those values equal
the functions above (and seqeval's own ``f1_score``). Light: numpy, scikit-learn, seqeval; no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ftrouter.eval.metrics import Scored, macro_f1_batch, per_example

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "macro_f1"),
    "pair-classification": ("accuracy", "macro_f1"),
    "multi-label": ("micro_f1", "macro_f1", "exact_match"),
    "token-classification": ("f1", "precision", "recall", "accuracy"),
    "embedding": ("recall@1", "recall@10", "mrr"),
}
MRR_AT = 10


# -- the definitions (training calls these on its validation predictions) ------------------------------


def classification_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0))}


def multi_label_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """``y_true``, ``y_pred``: (examples, labels) 0/1 indicator matrices."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "exact_match": float(accuracy_score(y_true, y_pred))}


def entity_scores(truth: list[list[str]], guess: list[list[str]]) -> dict[str, float]:
    """Entity-level scores of BIO tag sequences (seqeval) and the share of tags right."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    pairs = [(g, p) for t, q in zip(truth, guess, strict=True) for g, p in zip(t, q, strict=True)]
    return {"f1": float(f1_score(truth, guess, zero_division=0)),
            "precision": float(precision_score(truth, guess, zero_division=0)),
            "recall": float(recall_score(truth, guess, zero_division=0)),
            "accuracy": sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0}


# -- per-example statistics for the eval (intervals, paired comparisons) -------------------------------


def _ratio(name: str, stats: np.ndarray, num: Callable[[np.ndarray], np.ndarray],
           den: Callable[[np.ndarray], np.ndarray], marks: list[float]) -> Scored:
    """A ratio of sums of per-example counts: ``num(sums) / den(sums)``, 0 when the denominator is 0."""

    def batch(samples: np.ndarray) -> np.ndarray:
        sums = samples.sum(axis=-2)
        n, d = num(sums), den(sums)
        return np.asarray(np.divide(n, d, out=np.zeros_like(n, dtype=float), where=d > 0))

    return Scored(name, False, stats, lambda rows: float(batch(rows[None])[0]), marks, None, batch)


def score_labels(truth: Sequence[str], predicted: Sequence[str], names: Sequence[str]) -> dict[str, Scored]:
    """Classification: ``accuracy`` (0/1 per example) and ``macro_f1``, with per-class precision/recall."""
    from sklearn.metrics import precision_recall_fscore_support

    classes = list(names) + sorted(set(truth) - set(names))
    index = {label: i for i, label in enumerate(classes)}
    stats = np.array([[index[t], index[p]] for t, p in zip(truth, predicted, strict=True)])
    correct = (stats[:, 0] == stats[:, 1]).astype(float)
    present = sorted(set(stats[:, 0]))
    precision, recall, f1, support = precision_recall_fscore_support(stats[:, 0], stats[:, 1], labels=present,
                                                                     zero_division=0)
    per_class = {classes[c]: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                              "support": int(support[i])} for i, c in enumerate(present)}
    detail = {"per_class": per_class}

    def macro(rows: np.ndarray) -> float:
        return classification_scores(rows[:, 0], rows[:, 1])["macro_f1"]

    return {"accuracy": per_example("accuracy", True, correct, detail),
            "macro_f1": Scored("macro_f1", False, stats, macro, correct.tolist(), detail,
                               lambda samples: macro_f1_batch(samples, union=True))}


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    den = 2 * tp + fp + fn
    return np.asarray(np.divide(2 * tp, den, out=np.zeros_like(den, dtype=float), where=den > 0))


def score_multi_label(truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                      names: Sequence[str]) -> dict[str, Scored]:
    """Multi-label: ``micro_f1``, ``macro_f1`` (over every label of the model, and labels only the test
    file has) and ``exact_match``; stats are the (truth | prediction) indicator rows."""
    labels = list(names) + sorted({t for row in truth for t in row} - set(names))
    index = {label: i for i, label in enumerate(labels)}
    width = len(labels)
    stats = np.zeros((len(truth), 2 * width))
    for i, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        stats[i, [index[x] for x in t]] = 1
        stats[i, [width + index[x] for x in p]] = 1
    exact = (stats[:, :width] == stats[:, width:]).all(axis=1).astype(float)

    def counts(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, p = samples[..., :width], samples[..., width:]
        return (t * p).sum(axis=-2), ((1 - t) * p).sum(axis=-2), (t * (1 - p)).sum(axis=-2)

    def micro(samples: np.ndarray) -> np.ndarray:
        tp, fp, fn = counts(samples)
        return _f1(tp.sum(axis=-1), fp.sum(axis=-1), fn.sum(axis=-1))

    def macro(samples: np.ndarray) -> np.ndarray:
        return np.asarray(_f1(*counts(samples)).mean(axis=-1))

    marks = exact.tolist()
    return {"micro_f1": Scored("micro_f1", False, stats, lambda rows: float(micro(rows[None])[0]), marks, None, micro),
            "macro_f1": Scored("macro_f1", False, stats, lambda rows: float(macro(rows[None])[0]), marks, None, macro),
            "exact_match": per_example("exact_match", True, exact)}


def score_entities(truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Scored]:
    """Token classification: per sentence (entities right, predicted, true; tags right, tags) -> entity
    ``f1``, ``precision``, ``recall`` (seqeval's micro average) and token ``accuracy``."""
    from seqeval.metrics.sequence_labeling import get_entities

    rows = []
    for t, p in zip(truth, predicted, strict=True):
        true_set, pred_set = set(get_entities(list(t))), set(get_entities(list(p)))
        rows.append([len(true_set & pred_set), len(pred_set), len(true_set),
                     sum(a == b for a, b in zip(t, p, strict=True)), len(t)])
    stats = np.array(rows, dtype=float).reshape(-1, 5)
    marks = [float(r[0] == r[1] == r[2]) for r in rows]  # every entity of the sentence found, none extra
    return {"f1": _ratio("f1", stats, lambda s: 2 * s[..., 0], lambda s: s[..., 1] + s[..., 2], marks),
            "precision": _ratio("precision", stats, lambda s: s[..., 0], lambda s: s[..., 1], marks),
            "recall": _ratio("recall", stats, lambda s: s[..., 0], lambda s: s[..., 2], marks),
            "accuracy": _ratio("accuracy", stats, lambda s: s[..., 3], lambda s: s[..., 4], marks)}


def score_ranks(ranks: Sequence[int]) -> dict[str, Scored]:
    """Embedding: each query's 1-based rank of its own positive -> ``recall@1``, ``recall@10``, ``mrr``."""
    r = np.asarray(ranks, dtype=float)
    return {"recall@1": per_example("recall@1", True, (r <= 1).astype(float)),
            "recall@10": per_example("recall@10", True, (r <= 10).astype(float)),
            "mrr": per_example("mrr", False, np.where(r <= MRR_AT, 1.0 / r, 0.0))}
