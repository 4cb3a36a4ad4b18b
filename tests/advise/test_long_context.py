"""Inputs longer than the model's window (issue 15, long context): the advisor names chunking/RAG when the
answer lives in a few passages and context extension when the task needs the whole document, with the
trade-off, and sizes the training memory at the whole input for an extension."""

from __future__ import annotations

import json
from pathlib import Path

from ftrouter.advise import read_signals
from ftrouter.advise.hardware import MemoryOracle
from ftrouter.cost.memory import estimate_memory

from .helpers import profile, run

LONG = {"task_type": "extraction", "examples": 500, "eval_set_size": 50, "failures": ["format"],
        "input_tokens": 60_000, "context_window": 32_768, "gpu_memory_gb": 80, "model_size_b": 7}


def _rules(advice: object, part: str) -> list[str]:
    return [item["rule"] for item in getattr(advice, part)]


def test_passages_point_to_chunking_and_retrieval() -> None:
    advice = run(profile(**LONG, answer_span="passages"))
    assert "long_context.chunk" in _rules(advice, "factors")
    assert advice.recommendation == "rag+finetune"  # the format failure still wants a fine-tune on top
    chunk = next(f for f in advice.factors if f["rule"] == "long_context.chunk")
    assert "inputs of 60,000 tokens do not fit the 32,768-token window" in chunk["reason"]
    assert "lose what sits in the middle" in chunk["reason"] and "arXiv:2310.03025" in chunk["source"]
    assert "knowledge.no_need" not in _rules(advice, "factors")  # retrieval over the input is not outside knowledge


def test_the_whole_document_points_to_context_extension_with_its_cost() -> None:
    advice = run(profile(**LONG, answer_span="whole_document"))
    assert advice.recommendation == "finetune"
    extend = next(f for f in advice.factors if f["rule"] == "long_context.extend")
    assert "RoPE scaling (about x2" in extend["reason"] and "LongLoRA" in extend["reason"]
    assert "quadratically with eager attention" in extend["reason"] and "arXiv:2306.15595" in extend["source"]
    step = next(s for s in advice.next_steps if s["rule"] == "step.long_context_extension")
    assert "--option rope_scaling=yarn:2" in step["text"] and "60,000 tokens" in step["text"]
    # the memory of the candidate methods is the one of a 60,000-token run, not of the default 1,024
    lora = next(m for m in advice.methods or [] if m["method"] == "lora")
    assert lora["memory_gb"] == round(estimate_memory(7.0, "lora", seq_len=60_000).total_gb, 1)
    assert lora["memory_gb"] > 2 * MemoryOracle().fit("lora", 7.0, 80, 1).memory_gb
    assert any("seq_len 60000 (the whole input" in line for line in advice.assumptions)


def test_unknown_answer_span_warns_with_both_options() -> None:
    advice = run(profile(**LONG))
    assert not {"long_context.chunk", "long_context.extend"} & set(_rules(advice, "factors"))
    warning = next(w for w in advice.warnings if w["rule"] == "warning.long_inputs")
    assert "chunking and retrieval is cheap" in warning["text"] and "extend the context" in warning["text"]


def test_inputs_within_the_window_change_nothing() -> None:
    fits = run(profile(**{**LONG, "input_tokens": 20_000}, answer_span="whole_document"))
    unsaid = run(profile(**{k: v for k, v in LONG.items() if k not in ("input_tokens", "context_window")}))
    for advice in (fits, unsaid):
        assert not any(r.startswith("long_context.") for r in _rules(advice, "factors"))
        assert "warning.long_inputs" not in _rules(advice, "warnings")


def test_the_datas_lengths_stand_in_for_input_tokens(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"clause {i} " + "term " * 300},
                          {"role": "assistant", "content": "{}"}]} for i in range(30)]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    fields = {k: v for k, v in LONG.items() if k != "input_tokens"}
    advice = run(profile(**{**fields, "context_window": 256}, answer_span="passages"), signals=read_signals(path))
    chunk = next(f for f in advice.factors if f["rule"] == "long_context.chunk")
    assert "do not fit the 256-token window" in chunk["reason"]


def test_a_managed_top_backend_gets_a_model_whose_window_covers_the_input_instead() -> None:
    """Managed fine-tuning APIs have no RoPE settings: when a provider heads the shortlist, the step names
    a base model whose context covers the inputs, not a local RoPE-scaled run (which stays for local)."""
    managed = {k: v for k, v in LONG.items() if k != "gpu_memory_gb"}  # no GPU of your own: a provider trains
    advice = run(profile(**managed, answer_span="whole_document"))
    assert advice.recommendation == "finetune" and advice.backends and advice.backends[0] != "local"
    steps = _rules(advice, "next_steps")
    assert "step.long_context_managed" in steps and "step.long_context_extension" not in steps
    step = next(s for s in advice.next_steps if s["rule"] == "step.long_context_managed")
    assert f"on {advice.backends[0]} whose context already covers the 60,000-token inputs" in step["text"]
    local = run(profile(**LONG, answer_span="whole_document"))
    assert local.backends and local.backends[0] == "local"
    assert "step.long_context_managed" not in _rules(local, "next_steps")
