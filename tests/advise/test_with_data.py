"""With --data: the dataset's distinct examples replace the profile's claim, its quality feeds the rules,
and training is priced per backend by the cost engine."""

from __future__ import annotations

import json
from pathlib import Path

from ftrouter.advise import read_signals

from .helpers import profile, run


def write_chat(path: Path, n: int, *, duplicates: int = 0) -> Path:
    rows = []
    for i in range(n):
        rows.append({"messages": [
            {"role": "system", "content": "Extract the invoice fields as JSON."},
            {"role": "user", "content": f"Invoice {i}: ACME Corp, 2026-03-{i % 28 + 1:02d}, total {100 + i} EUR"},
            {"role": "assistant", "content": json.dumps({"supplier": "ACME Corp", "total": 100 + i})},
        ]})
    rows += rows[:duplicates]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


FORMAT_TASK = {"task_type": "extraction", "failures": ["format"], "eval_set_size": 50, "gpu_memory_gb": 24}


def test_the_datasets_distinct_examples_replace_the_profile_claim(tmp_path: Path) -> None:
    signals = read_signals(write_chat(tmp_path / "train.jsonl", 15))
    assert signals.examples == 15 and signals.errors == 0 and signals.total_tokens > 0
    advice = run(profile(examples=5000, **FORMAT_TASK), signals=signals)
    assert advice.profile["examples"] == 15
    assert advice.recommendation == "prompting"
    assert "examples.too_few" in [f["rule"] for f in advice.factors]
    assert advice.data is not None and advice.data["examples"] == 15


def test_duplicates_count_once_and_lower_the_case_for_training(tmp_path: Path) -> None:
    signals = read_signals(write_chat(tmp_path / "train.jsonl", 120, duplicates=20))
    assert signals.duplicates == 20 and signals.distinct_examples == 120
    advice = run(profile(**FORMAT_TASK), signals=signals)
    assert advice.profile["examples"] == 120
    dup = next(f for f in advice.factors if f["rule"] == "data.duplicates")
    assert dup["effects"]["finetune"] < 0 and "0.14" in dup["reason"]


def test_training_is_priced_per_backend(tmp_path: Path) -> None:
    signals = read_signals(write_chat(tmp_path / "train.jsonl", 400))
    advice = run(profile(**FORMAT_TASK), signals=signals)
    assert advice.recommendation == "finetune"
    costs = {c["backend"]: c for c in advice.costs or []}
    assert set(costs) == {"local", "vertex", "openai"}
    for cost in costs.values():
        assert cost["cost_usd"] is not None and cost["cost_usd"] > 0
    assert costs["local"]["method"] == advice.methods[0]["method"]  # type: ignore[index]
    local = next(b for b in advice.backend_details or [] if b["backend"] == "local")
    assert local["cost_usd"] == costs["local"]["cost_usd"]


def test_a_budget_below_the_estimate_demotes_that_backend(tmp_path: Path) -> None:
    signals = read_signals(write_chat(tmp_path / "train.jsonl", 400))
    free = run(profile(**FORMAT_TASK), signals=signals)
    cheapest = min(c["cost_usd"] for c in free.costs or [])
    tight = run(profile(training_budget_usd=cheapest / 2, **FORMAT_TASK), signals=signals)
    over = [b for b in tight.backend_details or []
            if any(r["rule"] == "backend.over_budget" for r in b["reasons"])]
    assert over, tight.backend_details


def test_dataset_errors_are_a_factor(tmp_path: Path) -> None:
    path = write_chat(tmp_path / "train.jsonl", 150)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"messages": [{"role": "user", "content": "no answer"}]}\n')
    signals = read_signals(path)
    assert signals.errors >= 1
    advice = run(profile(**FORMAT_TASK), signals=signals)
    assert "data.errors" in [f["rule"] for f in advice.factors]
