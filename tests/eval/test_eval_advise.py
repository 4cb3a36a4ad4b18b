"""A stored eval run in other commands: ``advise TASK.yaml --eval RUN`` takes the measured prompting score,
``compare --data FILE --eval RUN`` shows measured quality next to the costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.errors import UsageError
from ftrouter.eval.measured import scores_from_run
from ftrouter.eval.store import save_run

TASK = Path(__file__).resolve().parents[2] / "configs" / "tasks" / "invoice-extraction.yaml"


def stored(models: dict[str, tuple[float, bool]], metrics: tuple[str, ...] = ("json_fields", "exact"),
           comparisons: list[dict[str, object]] | None = None) -> str:
    summary = {"data": "eval.jsonl", "examples": 120, "comparisons": comparisons or [], "models": [
        {"model": name, "metrics": {metrics[0]: value, metrics[1]: 0.1}, "ci95": {metrics[0]: [value - 0.1, value]},
         "errors": 0, "latency_ms": {"p50": 210.0, "p95": 480.0}, "cost_usd": 0.0123}
        for name, (value, _) in models.items()]}
    details = {"metrics": list(metrics), "per_class": {}, "settings": {},
               "tuned": {name: tuned for name, (_, tuned) in models.items()}}
    return save_run(summary, details, [])


def test_the_best_untuned_headline_score_is_the_prompting_score() -> None:
    run = stored({"openai:gpt-4.1-mini": (0.62, False), "openai:gpt-4.1": (0.7, False),
                  "ftr-abc123": (0.93, True)})
    scores = scores_from_run(run)
    assert scores.prompting == 0.7 and scores.eval_set_size == 120 and scores.target is None


def test_a_run_of_tuned_models_only_is_refused() -> None:
    with pytest.raises(UsageError, match="no prompting baseline"):
        scores_from_run(stored({"ftr-abc123": (0.93, True)}))


def test_advise_reads_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    run = stored({"openai:gpt-4.1-mini": (0.5, False)})
    code, out, err = run_cli(capsys, "advise", str(TASK), "--eval", run, "--json")
    assert code == 0, err
    assert "(0.5 vs 0.95)" in json.dumps(json.loads(out))  # the run's score replaced the profile's 0.71
    code, _, err = run_cli(capsys, "advise", str(TASK), "--eval", "ev-nosuch")
    assert code == 2 and "no eval run" in err


def test_compare_shows_measured_quality(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    chat = Path(__file__).resolve().parents[2] / "configs" / "examples" / "chat.jsonl"
    comparison = {"a": "openai:gpt-4.1-mini", "b": "ftr-abc123", "metric": "json_fields", "delta": 0.31,
                  "ci95": [0.2, 0.4], "p_value": 0.0004, "test": "paired_bootstrap"}
    run = stored({"openai:gpt-4.1-mini": (0.62, False), "ftr-abc123": (0.93, True)}, comparisons=[comparison])
    code, out, err = run_cli(capsys, "compare", "--data", str(chat), "--eval", run, "--json")
    assert code == 0, err
    quality = json.loads(out)["quality"]
    assert quality[0].startswith("openai:gpt-4.1-mini: json_fields 0.620 [0.520, 0.620], 0 errors, p50 210 ms")
    assert quality[2] == "ftr-abc123 vs openai:gpt-4.1-mini: +0.310 (p 0.0004, paired_bootstrap)"
    md = tmp_path / "report.md"
    code, _, _ = run_cli(capsys, "compare", "--data", str(chat), "--eval", run, "--format", "md", "-o", str(md))
    assert code == 0 and f"## Measured quality (eval {run}, 120 examples)" in md.read_text()
    code, _, err = run_cli(capsys, "compare", "--data", str(chat), "--eval", "ev-nosuch")
    assert code == 2 and "no eval run" in err


def test_compare_csv_carries_measured_quality(capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    chat = Path(__file__).resolve().parents[2] / "configs" / "examples" / "chat.jsonl"
    comparison = {"a": "openai:gpt-4.1-mini", "b": "ftr-abc123", "metric": "json_fields", "delta": 0.31,
                  "ci95": [0.2, 0.4], "p_value": 0.0004, "test": "paired_bootstrap"}
    other = {**comparison, "metric": "exact"}  # not the headline: left out, as in the other formats
    run = stored({"openai:gpt-4.1-mini": (0.62, False), "ftr-abc,123": (0.75, True)},
                 comparisons=[comparison, other])
    code, out, err = run_cli(capsys, "compare", "--data", str(chat), "--eval", run, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))  # one table, one header: every row has every column
    assert {r["section"] for r in rows} >= {"training", "inference", "price", "quality", "quality_comparison"}
    quality = [r for r in rows if r["section"].startswith("quality")]
    assert [(r["section"], r["name"], r["metric"], r["score"], r["ci95_low"], r["ci95_high"], r["errors"],
             r["latency_p50_ms"], r["eval_cost_usd"], r["eval_run"], r["examples"]) for r in quality[:2]] == [
        ("quality", "openai:gpt-4.1-mini", "json_fields", "0.62", "0.52", "0.62", "0", "210.0", "0.0123", run, "120"),
        ("quality", "ftr-abc,123", "json_fields", "0.75", "0.65", "0.75", "0", "210.0", "0.0123", run,
         "120")]
    assert [(r["name"], r["baseline"], r["metric"], r["delta"], r["ci95_low"], r["ci95_high"], r["p_value"],
             r["test"]) for r in quality[2:]] == [
        ("ftr-abc123", "openai:gpt-4.1-mini", "json_fields", "0.31", "0.2", "0.4", "0.0004", "paired_bootstrap")]
    training = next(r for r in rows if r["section"] == "training")
    assert training["score"] == "" and training["backend"]  # the cost rows keep their columns
    code, out, _ = run_cli(capsys, "compare", "--data", str(chat), "--format", "csv")
    assert code == 0 and "quality" not in {r["section"] for r in csv.DictReader(io.StringIO(out))}


def test_an_embedding_run_gives_the_retrievers_recall(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``advise --eval RUN`` on an encoder eval of (query, passage) pairs: the best untuned embedder's
    recall@10 is today's retriever; below 0.8 the advice names fine-tuning the embedder."""
    run = stored({"hf:/models/bge-small": (0.4, False), "ftr-emb123": (0.8, True)},
                 metrics=("recall@1", "recall@10"))
    scores = scores_from_run(run)
    # the helper gives every model 0.1 on the second metric: recall@10 here
    assert scores.retrieval_recall == 0.1 and scores.prompting is None and scores.eval_set_size is None
    task = tmp_path / "rag.yaml"
    task.write_text("task: answer questions from the manuals\ntask_type: chat\nknowledge_change: monthly\n")
    code, out, err = run_cli(capsys, "advise", str(task), "--eval", run, "--json")
    assert code == 0, err
    assert [a["rule"] for a in json.loads(out)["alternatives"]] == ["alternative.embedding_finetune"]
