"""``ftrouter eval --model hf:PATH[+ADAPTER_DIR]`` on the tiny offline model: batched greedy generation
gives what one-at-a-time generation gives, an adapter changes the answers (and the cache identity),
and the CLI runs base vs tuned end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.eval.answerer import GenerationSettings
from ftrouter.eval.specs import make_answerer, parse_spec

SETTINGS = GenerationSettings(max_tokens=12)
PROMPTS = [[{"role": "user", "content": "What is two plus three?"}],
           [{"role": "system", "content": "You are a careful calculator."},
            {"role": "user", "content": "What is one plus one?"}],
           [{"role": "user", "content": "What is nine plus nine? Answer in one short sentence please."}]]


@pytest.fixture(scope="module")
def adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) weights: enough to change what the model says."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(out)
    return out


def test_batched_generation_matches_one_at_a_time(tiny_model: Path) -> None:
    from ftrouter_local.answer import LocalAnswerer

    batched = LocalAnswerer(str(tiny_model), batch_size=3).answer(PROMPTS, SETTINGS)
    single = LocalAnswerer(str(tiny_model), batch_size=1)
    one_by_one = [single.answer([p], SETTINGS)[0] for p in PROMPTS]
    assert [a.text for a in batched] == [a.text for a in one_by_one]
    assert all(0 < (a.output_tokens or 0) <= 12 for a in batched)
    assert [a.input_tokens for a in batched] == [a.input_tokens for a in one_by_one]


def test_an_adapter_changes_answers_and_identity(tiny_model: Path, adapter: Path) -> None:
    base = make_answerer(parse_spec(f"hf:{tiny_model}"))
    tuned = make_answerer(parse_spec(f"hf:{tiny_model}+{adapter}"))
    assert base.identity != tuned.identity and str(adapter) in tuned.identity
    assert [a.text for a in base.answer(PROMPTS, SETTINGS)] != [a.text for a in tuned.answer(PROMPTS, SETTINGS)]


def test_a_missing_adapter_folder_is_a_usage_error(tiny_model: Path, tmp_path: Path) -> None:
    from ftrouter.errors import UsageError

    with pytest.raises(UsageError, match="not a folder"):
        make_answerer(parse_spec(f"hf:{tiny_model}+{tmp_path / 'nope'}"))


def test_cli_base_vs_tuned(tiny_model: Path, adapter: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    from ftrouter_local.tiny import synthetic_conversations, write_jsonl

    data = write_jsonl(synthetic_conversations(6, seed=3), tmp_path / "eval.jsonl")
    args = ("eval", "--data", str(data), "--model", f"hf:{tiny_model}", "--model", f"hf:{tiny_model}+{adapter}",
            "--metric", "rougeL", "--metric", "exact", "--json")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    doc = json.loads(out)
    assert [m["errors"] for m in doc["models"]] == [0, 0] and doc["models"][0]["tokens"]["output"] > 0
    assert {(c["metric"], c["test"]) for c in doc["comparisons"]} == {("rougeL", "paired_bootstrap"),
                                                                      ("exact", "mcnemar_exact")}
    code, out, _ = run_cli(capsys, *args)
    assert [m["cached"] for m in json.loads(out)["models"]] == [6, 6]
