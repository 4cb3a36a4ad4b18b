"""Hostile YAML in every file a user hands to ftrouter (profile, eval scores, recipe, catalog override):
an alias bomb, an integer Python refuses to read, a non-finite number. Each is exit 2 with the file,
line and key, fast — never a hang, never exit 70 (issue 17, items 3, 5 and 13)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter import safeyaml
from ftrouter.advise import load_eval_scores, load_profile
from ftrouter.catalog import load
from ftrouter.errors import CatalogError, ProfileError, UsageError

PROFILE = "task: route tickets\ntask_type: classification\n"


def alias_bomb(key: str = "payload") -> str:
    """Billion laughs: 10 levels of 9 aliases each, ~500 bytes, expands to ~4e9 values."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return f"{key}:\n" + "".join(f"  {line}\n" for line in lines)


BIG_INT = "1" + "0" * 5000


def test_the_bomb_is_refused_in_well_under_a_second() -> None:
    started = time.perf_counter()
    with pytest.raises(safeyaml.YamlProblem, match="alias bomb"):
        safeyaml.load(alias_bomb())
    assert time.perf_counter() - started < 1.0


def test_ordinary_aliases_still_work() -> None:
    doc = safeyaml.load("base: &b {lr: 0.1, r: 8}\nrun: {<<: *b, r: 16}\n").data
    assert doc["run"] == {"lr": 0.1, "r": 16}


@pytest.mark.parametrize(("text", "needle", "line"), [
    (f"x: 1\ny: {BIG_INT}\n", "y: a number of 5001 digits is too large", 2),
    ("price: .inf\n", "price: '.inf' is not a finite number", 1),
    ("p: [1.0, -.Inf]\n", "'-.Inf' is not a finite number", 1),
    ("p: .NaN\n", "'.NaN' is not a finite number", 1),
    ("p: 1.0e+400\n", "not a finite number", 1),
    ("a: &a [*a]\n", "recursive alias", 1),
])
def test_numbers_python_cannot_hold_name_key_and_line(text: str, needle: str, line: int) -> None:
    with pytest.raises(safeyaml.YamlProblem) as info:
        safeyaml.load(text)
    assert needle in info.value.message and info.value.line == line


def test_profile_with_an_alias_bomb_is_exit_2_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(PROFILE + alias_bomb("notes"))
    started = time.perf_counter()
    code, _, err = run(capsys, "advise", str(path))
    assert code == 2 and "alias bomb" in err and str(path) in err
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize(("body", "needle"), [
    (f"examples: {BIG_INT}\n", "examples: a number of 5001 digits"),
    ("latency_budget_ms: .inf\n", "latency_budget_ms: '.inf' is not a finite number"),
])
def test_profile_numbers_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str,
                                          needle: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PROFILE + body)
    with pytest.raises(ProfileError, match=re.escape(needle)) as info:
        load_profile(path)
    assert info.value.line == 3
    code, _, err = run(capsys, "advise", str(path))
    assert code == 2 and needle in err


@pytest.mark.parametrize("body", [
    '{"task": "t", "task_type": "classification", "examples": ' + BIG_INT + "}",
    '{"task": "t", "task_type": "classification", "latency_budget_ms": Infinity}',
    '{"task": "t", "task_type": "classification", "scores": {"rag": 1e400}}',
])
def test_json_profiles_refuse_the_same_numbers(tmp_path: Path, body: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(body)
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_profile(path)


@pytest.mark.parametrize(("name", "body"), [
    ("deep.yaml", PROFILE + "x: " + "[" * 3000 + "]" * 3000 + "\n"),
    ("deep2.yaml", PROFILE + "x: " + "[" * 900 + "]" * 900 + "\n"),
    ("deep.json", '{"task": "t", "task_type": "chat", "x": ' + "[" * 3000 + "]" * 3000 + "}"),
])
def test_deeply_nested_profiles_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
                                                 body: str) -> None:
    path = tmp_path / name
    path.write_text(body)
    code, _, err = run(capsys, "advise", str(path))
    assert code == 2 and "nest" in err


def test_eval_scores_file_with_an_alias_bomb(tmp_path: Path) -> None:
    path = tmp_path / "scores.yaml"
    path.write_text("prompting: 0.5\n" + alias_bomb("extra"))
    with pytest.raises(ProfileError, match="alias bomb"):
        load_eval_scores(path)


@pytest.mark.parametrize(("body", "needle"), [
    ("adapter: lora\n" + alias_bomb("notes"), "alias bomb"),
    (f"epochs: 1\nbatch_size: {BIG_INT}\n", "batch_size: a number of 5001 digits"),
    ("learning_rate: .inf\n", "learning_rate: '.inf' is not a finite number"),
])
def test_recipes_are_read_safely(tmp_path: Path, body: str, needle: str) -> None:
    pytest.importorskip("ftrouter_local")
    from ftrouter_local.config import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(body)
    with pytest.raises(UsageError, match=re.escape(needle)) as info:
        load_recipe(str(path))
    assert info.value.exit_code == 2 and info.value.path == str(path)


GPU_ROW = ("gpus:\n  - name: Z\n    memory_gb: 24\n    peak_bf16_tflops: 100\n    source: s\n    as_of: 2026-01-01\n"
           "    prices:\n      - {{provider: mine, usd_per_hour: {price}, source: s, as_of: 2026-01-01}}\n")


@pytest.mark.parametrize(("body", "needle", "line"), [
    (GPU_ROW.format(price=".inf"), "usd_per_hour: '.inf' is not a finite number", 8),
    (GPU_ROW.format(price=BIG_INT), "usd_per_hour: a number of 5001 digits is too large", 8),
    ("gpuz:\n  - name: H100-SXM-80GB\n", "unknown top-level key 'gpuz' (did you mean 'gpus'?)", 1),
    ("models: []\nprices: {}\n", "unknown top-level key 'prices'", 2),
    (alias_bomb("gpus"), "alias bomb", 1),
])
def test_catalog_overrides_refuse_what_would_be_ignored_or_crash(tmp_path: Path, body: str, needle: str,
                                                                 line: int) -> None:
    path = tmp_path / "override.yaml"
    path.write_text(body)
    with pytest.raises(CatalogError, match=re.escape(needle)) as info:
        load([path])
    assert info.value.exit_code == 2 and info.value.path == str(path) and info.value.line == line


def test_cost_cli_with_an_infinite_gpu_price_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "override.yaml"
    path.write_text(GPU_ROW.format(price=".inf"))
    data = Path(__file__).resolve().parents[1] / "configs" / "examples" / "chat.jsonl"
    code, out, err = run(capsys, "estimate", "--data", str(data), "--backend", "local", "--model", "llama-3.1-8b",
                         "--gpu", "Z", "--catalog", str(path))
    assert code == 2 and "usd_per_hour" in err and "$inf" not in out


def test_set_values_are_read_safely(capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(__file__).resolve().parents[1] / "configs" / "examples" / "chat.jsonl"
    code, _, err = run(capsys, "estimate", "--data", str(data), "--backend", "local", "--model", "llama-3.1-8b",
                       "--set", f"micro_batch={BIG_INT}")
    assert code == 2 and "micro_batch: a number of 5001 digits" in err
