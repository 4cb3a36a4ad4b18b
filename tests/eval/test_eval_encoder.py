"""``ftrouter eval`` on encoder models, with a fake scorer in place of the local plugin's: which runs go the
encoder way, the metrics under the scorer's names with intervals, paired comparisons (McNemar on 0/1
metrics, the bootstrap otherwise), every report format, and refusals of bad input with FILE:LINE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clirun import run_cli

from ftrouter.data.labelled import LabelledExample
from ftrouter.eval import encoder
from ftrouter.eval.answerer import ModelSpec
from ftrouter.eval.metrics import Scored, per_example


class FakeScorer:
    """Predicts the label, except on the examples whose text is in ``wrong`` (it says "other")."""

    metrics = ("accuracy", "macro_f1")

    def __init__(self, spec: ModelSpec, task: str, wrong: set[str]) -> None:
        self.identity, self.task, self.wrong = spec.raw, task, wrong

    def score(self, examples: list[LabelledExample]) -> encoder.EncoderScores:
        predicted = ["other" if ex.texts[0] in self.wrong else ex.labels[0] for ex in examples]
        correct = np.array([p == ex.labels[0] for p, ex in zip(predicted, examples, strict=True)], dtype=float)
        share = Scored("macro_f1", False, correct, lambda s: float(s.mean()), correct.tolist())
        return encoder.EncoderScores({"accuracy": per_example("accuracy", True, correct), "macro_f1": share},
                                     predicted, latency_ms=2.0)


def _folder(tmp_path: Path, name: str, task: str = "classification") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"task": task}))
    return folder


def _data(tmp_path: Path, rows: list[Any], name: str = "test.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def fake_scorers(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """``make_scorer`` replaced: the folder name -> the texts that model gets wrong."""
    wrong: dict[str, set[str]] = {}
    monkeypatch.setattr(encoder, "make_scorer",
                        lambda spec, task: FakeScorer(spec, task, wrong.get(Path(spec.model).name, set())))
    return wrong


ROWS = [{"text": f"text {i} <b>[red]x[/]</b>", "label": "spam" if i % 2 else "ham"} for i in range(20)]


def test_two_encoder_models_scored_compared_and_stored(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       fake_scorers: dict[str, set[str]]) -> None:
    a, b = _folder(tmp_path, "base"), _folder(tmp_path, "tuned")
    fake_scorers["base"] = {r["text"] for r in ROWS[:12]}  # 8 of 20 right
    data = _data(tmp_path, ROWS)
    code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", f"hf:{a}", "--model", f"hf:{b}",
                             "--json")
    assert code == 0, err
    doc = json.loads(out)
    base, tuned = doc["models"]
    assert base["metrics"]["accuracy"] == pytest.approx(0.4) and tuned["metrics"]["accuracy"] == 1.0
    lo, hi = base["ci95"]["accuracy"]
    assert lo < 0.4 < hi and base["latency_ms"]["p50"] == 2.0 and base["cost_usd"] is None
    tests = {c["metric"]: c for c in doc["comparisons"]}
    # 12 discordant pairs, all in the tuned model's favour: McNemar's exact p = 2 / 2**12
    assert tests["accuracy"]["test"] == "mcnemar_exact"
    assert tests["accuracy"]["p_value"] == pytest.approx(2 / 2**12, abs=1e-6)
    assert tests["macro_f1"]["test"] == "paired_bootstrap" and tests["macro_f1"]["delta"] == pytest.approx(0.6)
    run_id = err.split("stored as ")[1].split()[0]
    for fmt in ("table", "md", "html", "csv"):
        code, out, _ = run_cli(capsys, "evals", "show", run_id, "--format", fmt)
        assert code == 0 and "accuracy" in out
        assert "<b>[red]" not in out or fmt in ("table", "csv")  # untrusted text escaped in md and html
    code, out, _ = run_cli(capsys, "evals", "show", run_id, "--format", "html")
    assert "&lt;b&gt;[red]x[/]&lt;/b&gt;" in out and "other" in out


def test_metric_choice_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    fake_scorers: dict[str, set[str]]) -> None:
    model = f"hf:{_folder(tmp_path, 'clf')}"
    data = _data(tmp_path, ROWS)
    code, out, err = run_cli(capsys, "eval", "--data", str(data), "--model", model, "--metric", "macro_f1", "--json")
    assert code == 0, err
    assert list(json.loads(out)["models"][0]["metrics"]) == ["macro_f1"]
    code, _, err = run_cli(capsys, "eval", "--data", str(data), "--model", model, "--metric", "rougeL")
    assert code == 2 and "rougeL" in err and "accuracy, macro_f1" in err
    code, _, err = run_cli(capsys, "eval", "--data", str(data), "--model", model, "--model", "openai:gpt-4.1-mini")
    assert code == 2 and "separate run" in err
    tagger = f"hf:{_folder(tmp_path, 'ner', 'token-classification')}"
    code, _, err = run_cli(capsys, "eval", "--data", str(data), "--model", tagger)
    assert code == 2 and "trained for token-classification, but --data is classification data" in err
    chat = _data(tmp_path, [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}],
                 "chat.jsonl")
    code, _, err = run_cli(capsys, "eval", "--data", str(chat), "--model", model)
    assert code == 2 and "no labelled data" in err
    broken = _data(tmp_path, [*ROWS[:3], {"text": "x", "label": ["a"]}], "broken.jsonl")
    code, _, err = run_cli(capsys, "eval", "--data", str(broken), "--model", model)
    assert code == 1 and f"{broken}:4" in err and "invalid_label" in err and "Traceback" not in err


def test_routing_by_data_and_models(tmp_path: Path) -> None:
    classification = _data(tmp_path, ROWS)
    pairs = _data(tmp_path, [{"text1": "a", "text2": "b", "label": "yes"}], "pairs.jsonl")
    embedding = _data(tmp_path, [{"anchor": "a", "positive": "b"}], "emb.jsonl")
    llm = ModelSpec(raw="openai:m", provider="openai", model="m")
    base = ModelSpec(raw="hf:/nowhere", provider="hf", model="/nowhere")
    tuned = ModelSpec(raw="ftr-x", provider="hf", model="/nowhere", job="ftr-x", options={"task": "classification"})
    assert encoder.encoder_task(classification, [llm]) is None  # an LLM on text/label rows: the generative eval
    assert encoder.encoder_task(classification, [tuned]) == "classification"
    assert encoder.encoder_task(pairs, [tuned]) == "pair-classification"  # a head read from config is loose
    assert encoder.encoder_task(embedding, [base]) == "embedding"  # a base encoder is scored as an embedder


def test_folder_task_from_summary_head_or_sentence_transformers(tmp_path: Path) -> None:
    assert encoder.folder_task(str(_folder(tmp_path, "job", "multi-label"))) == "multi-label"
    head = tmp_path / "head"
    head.mkdir()
    (head / "config.json").write_text(json.dumps({"architectures": ["BertForTokenClassification"]}))
    assert encoder.folder_task(str(head)) == "token-classification"
    st = tmp_path / "st"
    st.mkdir()
    (st / "modules.json").write_text("[]")
    assert encoder.folder_task(str(st)) == "embedding"
    lm = tmp_path / "lm"
    lm.mkdir()
    (lm / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    assert encoder.folder_task(str(lm)) is None and encoder.folder_task(str(tmp_path / "missing")) is None
