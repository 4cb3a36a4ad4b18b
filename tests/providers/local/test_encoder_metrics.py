"""The encoder tasks' metrics as the eval scores them (per-example statistics, fast bootstrap) agree with
the definitions training reports (scikit-learn, seqeval) — on the whole file and on every resample — and
the local scorer turns a predictor's output into them (a fake predictor here: no model)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest
from ftrouter_local.encoder_eval import LocalEncoderScorer, Predictions
from ftrouter_local.encoder_metrics import (
    TASK_METRICS,
    classification_scores,
    entity_scores,
    multi_label_scores,
    score_entities,
    score_labels,
    score_multi_label,
    score_ranks,
)

from ftrouter.data.labelled import LabelledExample

pytest.importorskip("seqeval")


def _bio(rng: random.Random, n: int) -> list[str]:
    tags, previous = [], "O"
    for _ in range(n):
        kind = rng.choice(["PER", "LOC"])
        options = ["O", f"B-{kind}"] + ([f"I-{previous[2:]}"] if previous != "O" else [])
        previous = rng.choice(options)
        tags.append(previous)
    return tags


def _noisy(rng: random.Random, tags: list[str]) -> list[str]:
    out = list(tags)
    for i in range(len(out)):
        if rng.random() < 0.2:
            out[i] = rng.choice(["O", "B-PER", "I-PER", "B-LOC"])  # may break BIO: seqeval copes, so must we
    return out


def test_entity_scores_equal_seqeval_on_the_file_and_on_resamples() -> None:
    rng = random.Random(3)
    truth = [_bio(rng, rng.randint(1, 9)) for _ in range(60)]
    guess = [_noisy(rng, t) for t in truth]
    scored = score_entities(truth, guess)
    expected = entity_scores(truth, guess)
    for name in TASK_METRICS["token-classification"]:
        assert scored[name].value() == pytest.approx(expected[name], abs=1e-12), name
    idx = np.random.default_rng(0).integers(0, len(truth), size=(5, len(truth)))
    for row, value in zip(idx, scored["f1"].resampled(idx), strict=True):
        assert value == pytest.approx(entity_scores([truth[i] for i in row], [guess[i] for i in row])["f1"])


def test_classification_macro_f1_is_sklearn_over_truth_and_predictions() -> None:
    rng = random.Random(1)
    names = ["a", "b", "c", "d"]
    truth = [rng.choice(names[:3]) for _ in range(50)]  # "d" is only ever predicted
    predicted = [t if rng.random() < 0.6 else rng.choice(names) for t in truth]
    scored = score_labels(truth, predicted, names)
    expected = classification_scores(truth, predicted)
    assert scored["accuracy"].value() == pytest.approx(expected["accuracy"])
    assert scored["macro_f1"].value() == pytest.approx(expected["macro_f1"])
    idx = np.random.default_rng(0).integers(0, len(truth), size=(5, len(truth)))
    for row, value in zip(idx, scored["macro_f1"].resampled(idx), strict=True):
        assert value == pytest.approx(classification_scores([truth[i] for i in row],
                                                            [predicted[i] for i in row])["macro_f1"])
    assert set(scored["accuracy"].detail["per_class"]) == {"a", "b", "c"}  # type: ignore[index]


def test_multi_label_scores_equal_sklearn() -> None:
    rng = random.Random(2)
    names = ["x", "y", "z", "w"]  # "w": a label of the model the file never uses
    truth = [tuple(rng.sample(names[:3], rng.randint(0, 2))) for _ in range(40)]
    predicted = [tuple(t) if rng.random() < 0.5 else tuple(rng.sample(names, rng.randint(0, 2))) for t in truth]
    scored = score_multi_label(truth, predicted, names)

    def matrix(rows: Sequence[Sequence[str]]) -> np.ndarray:
        return np.array([[int(n in r) for n in names] for r in rows])

    expected = multi_label_scores(matrix(truth), matrix(predicted))
    for name in TASK_METRICS["multi-label"]:
        assert scored[name].value() == pytest.approx(expected[name], abs=1e-12), name


def test_ranks_to_retrieval_metrics() -> None:
    scored = score_ranks([1, 2, 11, 1])
    assert scored["recall@1"].value() == 0.5 and scored["recall@1"].binary
    assert scored["recall@10"].value() == 0.75
    assert scored["mrr"].value() == pytest.approx((1 + 0.5 + 0 + 1) / 4) and not scored["mrr"].binary


class FakePredictor:
    """Tags every example right except the first, where it finds nothing."""

    def __init__(self) -> None:
        self.identity, self.label_names, self.loads = "fake", ["O", "B-PER", "I-PER"], 0

    def load(self) -> None:
        self.loads += 1

    def predict(self, examples: Sequence[LabelledExample]) -> Predictions:
        tags = [tuple("O" for _ in ex.labels) if i == 0 else ex.labels for i, ex in enumerate(examples)]
        return Predictions([" ".join(t) for t in tags], labels=tags)


def test_scorer_with_a_fake_predictor() -> None:
    examples = [LabelledExample(i + 1, ("Ada", "Lovelace", "wrote"), ("B-PER", "I-PER", "O")) for i in range(4)]
    predictor = FakePredictor()
    scores = LocalEncoderScorer("token-classification", predictor).score(examples)
    assert predictor.loads == 1  # loaded before the timed prediction
    assert scores.scored["recall"].value() == pytest.approx(0.75) and scores.scored["precision"].value() == 1.0
    assert scores.scored["f1"].value() == pytest.approx(2 * 0.75 / 1.75)
    assert scores.answers[0] == "O O O" and scores.latency_ms is not None and scores.latency_ms >= 0
    assert scores.scored["f1"].marks == [0.0, 1.0, 1.0, 1.0]
