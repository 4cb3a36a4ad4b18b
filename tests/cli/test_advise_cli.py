"""`ftrouter advise` end to end: JSON contract, terminal rendering, --data / --eval, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter.profiles import installed_profiles

TASKS = Path(__file__).resolve().parents[2] / "configs" / "tasks"
EXAMPLES = Path(__file__).resolve().parents[2] / "configs" / "examples"
TODAY = "--today=2026-11-21"




def test_json_has_the_issue_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "advise", str(TASKS / "clinic-notes-private.yaml"), "--json", TODAY)
    assert code == 0
    advice = json.loads(out)
    for key in ("recommendation", "ranking", "confidence", "factors", "counterfactuals", "next_steps",
                "method", "backends"):
        assert key in advice
    assert advice["recommendation"] == "finetune" and advice["method"] == "qlora" and advice["backends"] == ["local"]
    assert {"approach", "score"} <= set(advice["ranking"][0])
    assert {"name", "value", "effects", "reason", "rule"} <= set(advice["factors"][0])
    assert all(isinstance(cf["text"], str) and cf["changes"] for cf in advice["counterfactuals"])


def test_json_without_finetuning_has_no_method_or_backends(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "advise", str(TASKS / "pricing-faq-weekly.yaml"), "--json", TODAY)
    advice = json.loads(out)
    assert code == 0 and advice["recommendation"] == "rag"
    assert advice["method"] is None and advice["backends"] is None


def test_terminal_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "advise", str(TASKS / "invoice-extraction.yaml"), TODAY)
    assert code == 0
    for text in ("Recommendation: finetune", "Factors", "failure.behaviour", "Local training method", "Backends",
                 "What would change the advice", "Next steps", "winding down"):
        assert text in out


def test_eval_file_overrides_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scores = tmp_path / "scores.yaml"
    scores.write_text("prompting: 0.97\ntarget: 0.95\n")
    code, out, _ = run(capsys, "advise", str(TASKS / "invoice-extraction.yaml"), "--eval", str(scores), "--json",
                       TODAY)
    advice = json.loads(out)
    assert code == 0 and advice["recommendation"] == "prompting"
    assert "scores.prompting_meets_target" in [f["rule"] for f in advice["factors"]]


def test_data_adds_signals_and_costs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "advise", str(TASKS / "invoice-extraction.yaml"), "--data",
                       str(EXAMPLES / "chat.jsonl"), "--json", TODAY)
    advice = json.loads(out)
    assert code == 0
    assert advice["data"]["examples"] == advice["profile"]["examples"] > 0
    # every installed backend is priced (a plugin such as Together adds one)
    assert {c["backend"] for c in advice["costs"]} == {"local", "vertex", "openai"} | {
        p.name for p in installed_profiles()}


@pytest.mark.parametrize(("text", "needle"), [
    ("task: x\ntask_type: chat\nexmaples: 3\n", ":3: invalid_profile: unknown key 'exmaples'"),
    ("task: x\ntask_type: chat\nexamples: lots\n", ":3: invalid_profile: examples: expected a whole number"),
    ("task: x\ntask_type: chat\nexamples: -1\n", ":3: invalid_profile: examples: -1 is out of range"),
    ("task: x\ntask_type: chat\ndistribution_shift: huge\n", "allowed values: 'low', 'medium' or 'high'"),
    ("task: x\ntask_type: [chat\n", ":3: invalid_profile: not valid YAML"),
])
def test_invalid_profile_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                               needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, out, err = run(capsys, "advise", str(path))
    assert code == 2 and out == ""
    assert needle in err and str(path) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, out, err = run(capsys, "advise", str(path), "--json")  # the same error as one JSON object
    error = json.loads(err)["error"]
    assert code == error["exit_code"] == 2 and out == "" and error["path"] == str(path)
    assert needle in f":{error.get('line')}: {error['code']}: {error['message']}" or needle in error["message"]


def test_a_profile_with_several_mistakes_lists_all_of_them(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("task: x\ntask_type: chat\nexamples: -1\ngpus: lots\nexmaples: 3\ndistribution_shift: huge\n")
    code, out, err = run(capsys, "advise", str(path))
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 4, err
    assert [line.startswith(f"ftrouter: {path}:{n}: invalid_profile: ") for line, n in zip(lines, (3, 4, 5, 6),
                                                                                            strict=True)] == [True] * 4
    assert "more problem" not in err
    code, out, err = run(capsys, "advise", str(path), "--json")  # one JSON error on stderr, every problem in it
    error = json.loads(err)["error"]
    assert code == 2 and out == "" and error["code"] == "invalid_profile" and error["path"] == str(path)
    assert [p["line"] for p in error["problems"]] == [3, 4, 5, 6] and "exmaples" in error["problems"][2]["message"]


def test_missing_profile_and_bad_date_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "advise", str(tmp_path / "nope.yaml"))
    assert code == 2 and "not found" in err
    code, _, err = run(capsys, "advise", str(TASKS / "early-prototype.yaml"), "--today", "tomorrow")
    assert code == 2 and "--today" in err


def test_bad_data_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\x00\x01binary\n")
    code, _, err = run(capsys, "advise", str(TASKS / "early-prototype.yaml"), "--data", str(bad))
    assert code in (1, 2) and "Traceback" not in err and err.strip()


@pytest.mark.slow
def test_the_command_runs_as_a_process_without_heavy_imports() -> None:
    script = ("import sys; from ftrouter.cli.app import main\n"
              "try:\n    main(['advise', sys.argv[1], '--json'])\nexcept SystemExit: pass\n"
              "heavy = [m for m in ('torch', 'transformers', 'openai', 'google.genai', 'rich') if m in sys.modules]\n"
              "print('HEAVY', heavy, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script, str(TASKS / "early-prototype.yaml")],
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout)["recommendation"] == "prompting"
    assert "HEAVY []" in done.stderr


def test_catalog_override_changes_rules_and_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    override = tmp_path / "house.yaml"
    override.write_text("""decision_rules:
  - name: examples.too_few
    kind: approach
    factor: curated examples
    when: {examples: {lt: 10}}
    effects: {finetune: -4}
    reason: "house rule"
    source: "our experiments"
    as_of: 2026-11-01
  - name: eval.missing
    kind: approach
    factor: eval set
    when: {eval_set_size: {lt: 0}}
    effects: {finetune: -3}
    reason: "off"
    source: "our experiments"
    as_of: 2026-11-01
""")
    base = json.loads(run(capsys, "advise", str(TASKS / "early-prototype.yaml"), "--json", TODAY)[1])
    code, out, _ = run(capsys, "advise", str(TASKS / "early-prototype.yaml"), "--catalog", str(override), "--json",
                       TODAY)
    assert code == 0 and base["recommendation"] == "prompting" and json.loads(out)["recommendation"] == "finetune"
    override.write_text("decision_rules:\n  - {name: bad, kind: approach, factor: x, reason: y, source: z, "
                        "as_of: 2026-11-01, effects: {finetune: 1}, when: {nope: {eq: 1}}}\n")
    code, _, err = run(capsys, "advise", str(TASKS / "early-prototype.yaml"), "--catalog", str(override))
    assert code == 2 and "unknown fact 'nope'" in err
