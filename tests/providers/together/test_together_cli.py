"""The Together backend through the CLI: dry-run offline without a key, the missing key (exit 4),
validation with Together's rules, and estimate / compare listing Together rows."""

from __future__ import annotations

import json

import pytest
from clirun import run_cli
from together_shared import DATA

MODEL = "openai/gpt-oss-20b"


def test_dry_run_needs_no_key_and_shows_the_requests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "submit", "--backend", "together", "--model", MODEL, "--data",
                             str(DATA / "chat_train.jsonl"), "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    urls = [(r["method"], r["url"]) for r in plan["requests"]]
    assert urls == [("GET", f"https://api.together.ai/v1/fine-tunes/models/limits?model_name={MODEL}"),
                    ("POST", "https://api.together.ai/v1/files/upload"),
                    ("POST", "https://api.together.ai/v1/fine-tunes/estimate-price"),
                    ("POST", "https://api.together.ai/v1/fine-tunes")]
    assert plan["estimate"]["billed_tokens"] > 0 and plan["estimate"]["cost_usd"] is None
    assert "estimate-price" in plan["estimate"]["assumptions"]["estimate_source"]


def test_submit_without_a_key_exits_4_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "submit", "--backend", "together", "--model", MODEL, "--data",
                           str(DATA / "chat_train.jsonl"))
    assert code == 4 and "TOGETHER_API_KEY" in err and "Traceback" not in err


def test_an_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "submit", "--backend", "together", "--model", MODEL, "--data",
                           str(DATA / "chat_train.jsonl"), "--dry-run", "--option", "lora=false")
    assert code == 2 and "--option lora" in err


def test_validate_accepts_preference_data_for_together(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "data", "validate", str(DATA / "dpo_train.jsonl"), "--backend", "together",
                           "--model", MODEL)
    assert code == 0, out


def test_estimate_for_all_backends_includes_together(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "estimate", "--data", str(DATA / "chat_train.jsonl"), "--json")
    assert code == 0, err
    rows = json.loads(out)["backends"]
    together = [r for r in rows if r["backend"] == "together"]
    assert together and together[0]["model"] == "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    assert together[0]["billed_tokens"] > 0


def test_compare_says_together_is_not_priced_offline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "compare", "--data", str(DATA / "chat_train.jsonl"), "--json")
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert any("(together): not priced offline" in note and "estimate-price" in note for note in notes), notes
