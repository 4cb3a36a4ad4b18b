"""Encoder classifiers on the local backend, end to end on CPU with a tiny BERT built on the spot (no hub):
a real detached worker learns a keyword -> label task (and names -> entity tags) to high validation
scores, reported in ``status`` ``metrics``; label maps travel with the saved model; cancel and resume work
as for SFT; wrong data for the task is refused before anything starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ftrouter_local import LocalBackend
from ftrouter_local.tiny import write_jsonl
from ftrouter_local.tiny_encoder import build_tiny_encoder, synthetic_classification, synthetic_entities
from local_helpers import ended, wait_until

from ftrouter.errors import UsageError, ValidationFailed
from ftrouter.jobs.models import Hyperparameters, JobSpec, JobState

pytestmark = pytest.mark.slow

ENCODER_OPTIONS: dict[str, Any] = {"logging_steps": 10, "save_steps": 1000, "max_length": 32}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="module")
def keyword_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cls")
    return (write_jsonl(synthetic_classification(240, seed=1, imbalance=True), folder / "train.jsonl"),
            write_jsonl(synthetic_classification(60, seed=2), folder / "val.jsonl"))


def _spec(model: Path, data: Path, val: Path | None, task: str, max_steps: int, *, learning_rate: float = 5e-4,
          **options: Any) -> JobSpec:
    return JobSpec(backend="local", model=str(model), data=str(data), val=str(val) if val else None,
                   hyperparameters=Hyperparameters(max_steps=max_steps, learning_rate=learning_rate, batch_size=8),
                   options={"task": task, **ENCODER_OPTIONS, **options})


def test_keyword_classifier_learns_and_saves_its_labels(backend: LocalBackend, encoder: Path,
                                                        keyword_data: tuple[Path, Path]) -> None:
    train, val = keyword_data
    prepared = backend.prepare(_spec(encoder, train, val, "classification", 300, adapter="full", learning_rate=5e-4),
                               "ftr-cls001")
    # sports is 4x as frequent as the others: class weights switch on by themselves
    assert prepared.stats["class_weights"] is True and prepared.stats["train"]["imbalance_ratio"] > 3
    ref = backend.submit(prepared)
    final = wait_until(backend, ref, ended, timeout=240)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.metrics["accuracy"] >= 0.9 and final.metrics["macro_f1"] >= 0.9, final.metrics
    output = Path(final.result.adapter_path if final.result else "")
    config = json.loads((output / "config.json").read_text())
    assert config["id2label"] == {"0": "finance", "1": "sports", "2": "weather"}

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    with torch.no_grad():
        logits = model(**tokenizer(["the storm again today", "a stock report said"], return_tensors="pt",
                                   padding=True)).logits
    assert [model.config.id2label[int(i)] for i in logits.argmax(-1)] == ["weather", "finance"]


def test_token_classifier_reaches_high_entity_f1(backend: LocalBackend, encoder: Path, tmp_path: Path) -> None:
    train = write_jsonl(synthetic_entities(200, seed=1), tmp_path / "train.jsonl")
    val = write_jsonl(synthetic_entities(50, seed=2), tmp_path / "val.jsonl")
    ref = backend.submit(backend.prepare(_spec(encoder, train, val, "token-classification", 90, adapter="full",
                                               learning_rate=3e-3), "ftr-ner001"))
    final = wait_until(backend, ref, ended, timeout=240)

    assert final.state is JobState.SUCCEEDED, final.error
    assert final.metrics["f1"] >= 0.9, final.metrics
    labels = json.loads((Path(final.result.adapter_path if final.result else "") / "config.json").read_text())
    assert labels["id2label"]["0"] == "O" and set(labels["label2id"]) == {"O", "B-PER", "I-PER", "B-LOC"}


def test_cancel_then_resume_a_classifier(backend: LocalBackend, encoder: Path,
                                         keyword_data: tuple[Path, Path]) -> None:
    train, _ = keyword_data
    ref = backend.submit(backend.prepare(_spec(encoder, train, None, "classification", 400), "ftr-cls002"))
    wait_until(backend, ref, lambda s: (s.progress.step or 0) >= 3, timeout=120)
    cancelled = backend.cancel(ref)
    assert cancelled.state is JobState.CANCELLED, cancelled
    backend.resume(ref)
    final = wait_until(backend, ref, ended, timeout=240)
    assert final.state is JobState.SUCCEEDED, final.error
    assert final.progress.step == 400
    # LoRA: the adapter is merged, so the output folder loads as a plain classifier with its labels
    from transformers import AutoModelForSequenceClassification

    output = Path(final.result.adapter_path if final.result else "")
    assert (output / "adapter" / "adapter_config.json").is_file()
    assert AutoModelForSequenceClassification.from_pretrained(output).config.label2id == {
        "finance": 0, "sports": 1, "weather": 2}


def _multi_label(count: int, seed: int) -> list[dict[str, Any]]:
    import random

    from ftrouter_local.tiny_encoder import FILLER, KEYWORDS

    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        labels = rng.sample(list(KEYWORDS), rng.randint(0, 2))
        words = rng.sample(FILLER, 6 - len(labels)) + [rng.choice(KEYWORDS[label]) for label in labels]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "labels": labels})
    return rows


def test_multi_label_and_pairs_train_and_report_their_metrics(capsys: pytest.CaptureFixture[str],
                                                             backend: LocalBackend, encoder: Path,
                                                             tmp_path: Path) -> None:
    train = write_jsonl(_multi_label(200, 1), tmp_path / "ml.jsonl")
    val = write_jsonl(_multi_label(50, 2), tmp_path / "ml-val.jsonl")
    ref = backend.submit(backend.prepare(_spec(encoder, train, val, "multi-label", 400, adapter="full",
                                               learning_rate=1e-3, logging_steps=100), "ftr-mlc001"))
    final = wait_until(backend, ref, ended, timeout=240)
    assert final.state is JobState.SUCCEEDED, final.error
    assert final.metrics["micro_f1"] >= 0.9 and "macro_f1" in final.metrics, final.metrics
    _eval_matches_status(capsys, val, final, ["micro_f1", "macro_f1", "exact_match"])

    def pairs(count: int, seed: int, name: str) -> Path:
        rows = [{"text1": "what is this about", "text2": row["text"], "label": row["label"]}
                for row in synthetic_classification(count, seed=seed)]
        return write_jsonl(rows, tmp_path / name)

    pair_val = pairs(50, 4, "pv.jsonl")
    ref = backend.submit(backend.prepare(_spec(encoder, pairs(200, 3, "p.jsonl"), pair_val,
                                               "pair-classification", 300, adapter="full",
                                               learning_rate=5e-4), "ftr-pair01"))
    final = wait_until(backend, ref, ended, timeout=240)
    assert final.state is JobState.SUCCEEDED, final.error
    assert final.metrics["accuracy"] >= 0.9, final.metrics
    _eval_matches_status(capsys, pair_val, final, ["accuracy", "macro_f1"])


def _eval_matches_status(capsys: pytest.CaptureFixture[str], val: Path, final: Any, names: list[str]) -> None:
    """``ftrouter eval hf:OUTPUT`` on the job's validation file: its status metrics, same names and values."""
    from clirun import run_cli

    code, out, err = run_cli(capsys, "eval", "--data", str(val), "--model",
                             f"hf:{final.result.adapter_path if final.result else ''}", "--json")
    assert code == 0, err
    scored = json.loads(out)["models"][0]["metrics"]
    assert list(scored) == names
    for name, value in scored.items():
        assert value == pytest.approx(final.metrics[name], abs=1e-4), (name, scored, final.metrics)


def test_wrong_data_for_the_task_is_refused_with_the_line(backend: LocalBackend, encoder: Path,
                                                          tmp_path: Path) -> None:
    ner = write_jsonl(synthetic_entities(5), tmp_path / "ner.jsonl")
    with pytest.raises(UsageError, match="needs classification data; this file is token-classification"):
        backend.prepare(_spec(encoder, ner, None, "classification", 5), "ftr-bad001")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": "c", "label": []}\n')
    with pytest.raises(ValidationFailed) as info:
        backend.prepare(_spec(encoder, broken, None, "classification", 5), "ftr-bad002")
    assert info.value.line == 3 and info.value.code == "invalid_label"
    single = write_jsonl([{"text": "a", "label": "x"}, {"text": "b", "label": "x"}], tmp_path / "one.jsonl")
    with pytest.raises(Exception, match="at least 2"):
        backend.prepare(_spec(encoder, single, None, "classification", 5), "ftr-bad003")


def test_prepare_estimates_an_encoder_the_catalog_knows(backend: LocalBackend, encoder: Path,
                                                        keyword_data: tuple[Path, Path]) -> None:
    train, _ = keyword_data
    prepared = backend.prepare(_spec(Path("answerdotai/ModernBERT-base"), train, None, "classification", 5,
                                     adapter="full"), "ftr-est001")
    assert prepared.estimate.model == "answerdotai/ModernBERT-base" and prepared.estimate.cost_usd is not None
    assert not any(w.startswith("no cost estimate") for w in prepared.warnings)
    prepared = backend.prepare(_spec(encoder, train, None, "classification", 5), "ftr-est002")
    assert any(w.startswith("no cost estimate") for w in prepared.warnings)  # a folder the catalog does not know


def test_submit_task_through_the_cli_reports_metrics_in_status(capsys: pytest.CaptureFixture[str],
                                                               backend: LocalBackend, encoder: Path,
                                                               keyword_data: tuple[Path, Path]) -> None:
    from clirun import run_cli

    train, val = keyword_data
    code, out, err = run_cli(capsys, "submit", "--backend", "local", "--task", "classification", "--model",
                             str(encoder), "--data", str(train), "--val", str(val), "--adapter", "full",
                             "--max-steps", "300", "--learning-rate", "0.0005", "--batch-size", "8",
                             "--option", "save_steps=1000", "--wait", "--json")
    assert code == 0, err
    job = json.loads(out)
    code, out, err = run_cli(capsys, "status", job["id"], "--json")
    status = json.loads(out)
    assert status["state"] == "succeeded"
    assert status["metrics"]["accuracy"] >= 0.9 and status["metrics"]["macro_f1"] >= 0.9
    code, out, err = run_cli(capsys, "submit", "--backend", "local", "--task", "sentiment", "--model", str(encoder),
                             "--data", str(train), "--dry-run")
    assert code == 2 and "sentiment" in err and "\n" not in err.strip()

    # `ftrouter eval` on the job: on its own validation file, the very metrics status reports (same names,
    # same values); on a fresh test file, high scores with intervals; every report format renders
    code, out, err = run_cli(capsys, "eval", "--data", str(val), "--model", job["id"], "--json")
    assert code == 0, err
    scored = json.loads(out)["models"][0]
    assert list(scored["metrics"]) == ["accuracy", "macro_f1"]
    for name, value in scored["metrics"].items():
        assert value == pytest.approx(status["metrics"][name], abs=1e-4), (name, scored, status["metrics"])
    test = write_jsonl(synthetic_classification(90, seed=7), train.parent / "test.jsonl")
    code, out, err = run_cli(capsys, "eval", "--data", str(test), "--model", job["id"], "--json")
    assert code == 0, err
    scored = json.loads(out)["models"][0]
    assert scored["metrics"]["accuracy"] >= 0.9 and scored["metrics"]["macro_f1"] >= 0.9, scored
    assert scored["ci95"]["accuracy"][0] <= scored["metrics"]["accuracy"] <= scored["ci95"]["accuracy"][1]
    run_id = err.split("stored as ")[1].split()[0]
    for fmt in ("table", "md", "html", "csv"):
        code, out, _ = run_cli(capsys, "evals", "show", run_id, "--format", fmt)
        assert code == 0 and "accuracy" in out, fmt


def test_eval_scores_a_tagger_and_compares_embedders(capsys: pytest.CaptureFixture[str], backend: LocalBackend,
                                                     encoder: Path, tmp_path: Path) -> None:
    """``ftrouter eval hf:OUTPUT`` on a token classifier and on an embedder (against its untrained base):
    the metrics status reports, under the same names and values, and a paired comparison."""
    from clirun import run_cli
    from ftrouter_local.tiny_encoder import synthetic_retrieval

    train = write_jsonl(synthetic_entities(200, seed=1), tmp_path / "ner.jsonl")
    val = write_jsonl(synthetic_entities(50, seed=2), tmp_path / "ner-val.jsonl")
    tagger = wait_until(backend, backend.submit(backend.prepare(
        _spec(encoder, train, val, "token-classification", 90, adapter="full", learning_rate=3e-3), "ftr-ner002")),
        ended, timeout=240)
    assert tagger.state is JobState.SUCCEEDED, tagger.error
    code, out, err = run_cli(capsys, "eval", "--data", str(val), "--model",
                             f"hf:{tagger.result.adapter_path if tagger.result else ''}", "--json")
    assert code == 0, err
    scored = json.loads(out)["models"][0]["metrics"]
    assert list(scored) == ["f1", "precision", "recall", "accuracy"] and scored["f1"] >= 0.9
    for name, value in scored.items():
        assert value == pytest.approx(tagger.metrics[name], abs=1e-4), (name, scored, tagger.metrics)

    train = write_jsonl(synthetic_retrieval(240, 1), tmp_path / "emb.jsonl")
    val = write_jsonl(synthetic_retrieval(12, 2), tmp_path / "emb-val.jsonl")
    embedder = wait_until(backend, backend.submit(backend.prepare(
        _spec(encoder, train, val, "embedding", 200, adapter="full", learning_rate=1e-3), "ftr-emb004")),
        ended, timeout=240)
    assert embedder.state is JobState.SUCCEEDED, embedder.error
    tuned = f"hf:{embedder.result.adapter_path if embedder.result else ''}"
    code, out, err = run_cli(capsys, "eval", "--data", str(val), "--model", f"hf:{encoder}", "--model", tuned,
                             "--json")
    assert code == 0, err
    doc = json.loads(out)
    base, scored = (m["metrics"] for m in doc["models"])
    assert list(scored) == ["recall@1", "recall@10", "mrr"]
    for name, value in scored.items():
        assert value == pytest.approx(embedder.metrics[name], abs=1e-4), (name, scored, embedder.metrics)
    assert scored["recall@1"] >= base["recall@1"] + 0.3, (base, scored)
    tests = {c["metric"]: c["test"] for c in doc["comparisons"]}
    assert tests == {"recall@1": "mcnemar_exact", "recall@10": "mcnemar_exact", "mrr": "paired_bootstrap"}


@pytest.mark.parametrize("negatives", [False, True], ids=["pairs-mnrl", "triplets"])
def test_embedding_fine_tuning_improves_retrieval(backend: LocalBackend, encoder: Path, tmp_path: Path,
                                                  negatives: bool) -> None:
    from ftrouter_local.tiny_encoder import synthetic_retrieval

    train = write_jsonl(synthetic_retrieval(240, 1, negatives=negatives), tmp_path / "train.jsonl")
    val = write_jsonl(synthetic_retrieval(12, 2, negatives=negatives), tmp_path / "val.jsonl")
    ref = backend.submit(backend.prepare(_spec(encoder, train, val, "embedding", 400 if negatives else 200,
                                               adapter="full", learning_rate=1e-3), "ftr-emb001"))
    final = wait_until(backend, ref, ended, timeout=240)
    assert final.state is JobState.SUCCEEDED, final.error
    from ftrouter_local.embedding import retrieval_evaluator, retrieval_metrics
    from sentence_transformers import SentenceTransformer

    rows = [[r["anchor"], r["positive"], *([r["negative"]] if negatives else [])]
            for r in map(json.loads, val.read_text().splitlines())]
    base = retrieval_metrics(retrieval_evaluator(rows)(SentenceTransformer(str(encoder))))
    # the untrained encoder (mean pooling) ranks the positive first for about 4 queries of 12; in-batch
    # negatives learn the task fully, the triplet loss (one negative per example) less far
    gain = 0.15 if negatives else 0.3
    assert final.metrics["recall@1"] >= base["recall@1"] + gain, (final.metrics, base)
    assert final.metrics["recall@10"] >= base["recall@10"] and 0 < final.metrics["mrr"] <= 1

    model = SentenceTransformer(final.result.adapter_path if final.result else "")
    assert model.encode(["about rain"]).shape == (1, 64)


def test_embedding_refuses_mixed_negatives_and_adapters(backend: LocalBackend, encoder: Path, tmp_path: Path) -> None:
    mixed = write_jsonl([{"anchor": "a", "positive": "b"}, {"anchor": "c", "positive": "d", "negative": "e"}],
                        tmp_path / "mixed.jsonl")
    with pytest.raises(Exception, match="negative") as info:
        backend.prepare(_spec(encoder, mixed, None, "embedding", 5, adapter="full"), "ftr-emb002")
    assert getattr(info.value, "line", None) == 2
    with pytest.raises(UsageError, match="--adapter full"):
        backend.prepare(_spec(encoder, mixed, None, "embedding", 5), "ftr-emb003")
