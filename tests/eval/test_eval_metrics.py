"""Metric values against hand-computed expectations on small fixed sets, the default metric choice,
intervals and paired tests."""

from __future__ import annotations

import numpy as np
import pytest

from ftrouter.eval.metrics import default_metrics, normalize, score
from ftrouter.eval.stats import BOOTSTRAP, MCNEMAR, ci95, compare, mcnemar_p


def test_string_metrics() -> None:
    refs = ["Paris", "The answer is 42.", "blue"]
    answers = ["  Paris\n", "the answer is 42", "It is Blue!"]
    assert score("exact", refs, answers).marks == [1.0, 0.0, 0.0]
    assert score("normalized", refs, answers).marks == [1.0, 1.0, 0.0]
    assert score("contains", refs, answers).marks == [1.0, 1.0, 1.0]
    assert score("normalized", refs, answers).value() == pytest.approx(2 / 3)
    assert normalize("  Ça,  VA?\t«bien»  ") == "ça va bien"


def test_json_metrics() -> None:
    refs = ['{"a": 1, "b": 2}'] * 4
    answers = ['{"a": 1, "b": 3}', "not json", '{"a": 1, "b": 2, "c": 0}', "[1, 2]"]
    assert score("json_valid", refs, answers).marks == [1.0, 0.0, 1.0, 1.0]
    fields = score("json_fields", refs, answers)
    assert fields.marks == [0.5, 0.0, 1.0, 0.0] and fields.value() == pytest.approx(1.5 / 4)


def test_accuracy_macro_f1_and_per_class() -> None:
    refs = ["a", "a", "b", "b", "c"]
    preds = ["a", "B", "b", "b", "x"]  # labels compare after normalisation: "B" is b
    assert score("accuracy", refs, preds).value() == pytest.approx(3 / 5)
    macro = score("macro_f1", refs, preds)
    # a: P 1, R 1/2, F 2/3; b: P 2/3, R 1, F 4/5; c: never predicted, F 0
    assert macro.value() == pytest.approx((2 / 3 + 4 / 5 + 0) / 3)
    per_class = macro.detail["per_class"]  # type: ignore[index]
    assert per_class["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": pytest.approx(0.8),
                              "support": 2}
    assert per_class["c"]["recall"] == 0.0


def test_rouge_l() -> None:
    # LCS("a b c d", "a c") = 2: P 2/2, R 2/4, F 2PR/(P+R) = 2/3
    assert score("rougeL", ["a b c d", "x y"], ["a c", "x y"]).marks == [pytest.approx(2 / 3), 1.0]


def test_bleu_is_the_corpus_score_from_summed_statistics() -> None:
    # precisions 5/6, 3/5, 2/4, 1/3, no brevity penalty: geometric mean = (1/12) ** (1/4)
    bleu = score("bleu", ["the cat sat on the mat"], ["the cat sat on a mat"])
    assert bleu.value() == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, abs=1e-6)
    import sacrebleu

    refs, hyps = ["the cat sat on the mat", "a quick brown fox jumps"], ["the cat sat on a mat", "a quick fox jumped"]
    assert score("bleu", refs, hyps).value() == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score / 100)
    assert score("chrf", refs, hyps).value() == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score / 100)
    assert score("chrf", ["abc"], ["abc"]).value() == pytest.approx(1.0)


@pytest.mark.parametrize(("refs", "labelled", "expected"), [
    (['{"x": 1}', '{"y": [2]}'], False, ["json_fields", "json_valid", "exact"]),
    (["yes", "no", "yes", "no", "Yes"], False, ["accuracy", "macro_f1"]),
    (["a long free answer here", "another one entirely", "third"], False, ["normalized", "rougeL"]),
    (["spam", "ham"], True, ["accuracy", "macro_f1"]),
])
def test_default_metrics_follow_the_references(refs: list[str], labelled: bool, expected: list[str]) -> None:
    assert default_metrics(refs, labelled) == expected


def test_mcnemar_exact_by_hand() -> None:
    # 1 example only a gets right, 9 only b: two-sided binomial p = 2 * (C(10,9) + C(10,10)) / 2**10
    a = np.array([1] * 20 + [1] + [0] * 9)
    b = np.array([1] * 20 + [0] + [1] * 9)
    assert mcnemar_p(a, b) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_p(a, a) == 1.0


def test_intervals_are_reproducible_and_cover_the_value() -> None:
    scored = score("exact", ["a"] * 50, ["a"] * 30 + ["b"] * 20)
    lo, hi = ci95(scored)
    assert (lo, hi) == ci95(scored) and lo < 0.6 < hi and hi - lo < 0.35


def test_comparisons_say_which_test() -> None:
    refs = ["x"] * 40
    worse = score("exact", refs, ["x"] * 10 + ["y"] * 30)
    better = score("exact", refs, ["x"] * 38 + ["y"] * 2)
    binary = compare("base", "tuned", worse, better)
    assert binary.test == MCNEMAR and binary.delta == pytest.approx(0.7) and binary.p_value < 1e-6
    assert binary.ci95[0] > 0.4 and binary.significant
    rouge = compare("tuned", "base", score("rougeL", refs, ["x"] * 40), score("rougeL", refs, ["x y"] * 40))
    assert rouge.test == BOOTSTRAP and rouge.delta == pytest.approx(2 / 3 - 1)
    assert rouge.p_value == pytest.approx(2 / 1001) and "regression" in rouge.verdict


def test_the_vectorised_macro_f1_of_resamples_is_sklearns() -> None:
    from ftrouter.eval.metrics import _macro_f1_batch

    rng = np.random.default_rng(3)
    refs = [str(x) for x in rng.choice(list("abcd"), size=60, p=[0.6, 0.2, 0.15, 0.05])]
    preds = [r if rng.random() < 0.6 else str(rng.choice(list("abcz"))) for r in refs]
    scored = score("macro_f1", refs, preds)
    idx = rng.integers(0, 60, size=(200, 60))  # many resamples miss class d, some predict z
    expected = [scored.aggregate(scored.stats[row]) for row in idx]  # sklearn's f1_score, one call each
    assert np.allclose(_macro_f1_batch(scored.stats[idx]), expected)
