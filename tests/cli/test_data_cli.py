"""`ftrouter data ...`: exit codes (0 ok, 1 invalid data, 2 usage), JSON output, one line per problem."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import run_cli as run


def test_inspect_json(capsys: pytest.CaptureFixture[str], examples_dir: Path) -> None:
    code, out, _ = run(capsys, "data", "inspect", str(examples_dir / "chat.jsonl"), "--model",
                       "gpt-4.1-mini-2025-04-14", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"format", "examples", "tokens", "assistant_tokens", "over_limit", "duplicates", "problems"} <= set(data)
    assert data["examples"] == 12 and data["tokens"]["total"] > 0


def test_inspect_table(capsys: pytest.CaptureFixture[str], examples_dir: Path) -> None:
    code, out, _ = run(capsys, "data", "inspect", str(examples_dir / "gemini.jsonl"))
    assert code == 0
    assert "gemini" in out and "total tokens" in out and "p95" in out


def test_inspect_broken_file_lists_problems_and_exits_1(capsys: pytest.CaptureFixture[str],
                                                        examples_dir: Path) -> None:
    path = examples_dir / "broken.jsonl"
    code, out, err = run(capsys, "data", "inspect", str(path))
    assert code == 1
    assert f"{path}:2: error: invalid_json: " in out
    assert f"{path}:3: error: unknown_role: " in out
    assert "validation_failed" in err and "Traceback" not in err


def test_inspect_broken_json_still_prints_json_and_exits_1(capsys: pytest.CaptureFixture[str],
                                                           examples_dir: Path) -> None:
    code, out, _ = run(capsys, "data", "inspect", str(examples_dir / "broken_truncated.jsonl"), "--json")
    assert code == 1
    assert json.loads(out)["problems"][0]["code"] == "truncated_line"


@pytest.mark.parametrize("argv", [
    ("data", "inspect", "/no/such/file.jsonl"),
    ("data", "inspect", "."),
    ("data", "inspect", "configs/examples/chat.jsonl", "--format", "xml"),
    ("data", "inspect", "configs/examples/chat.jsonl", "--model", "no-such-model"),
    ("data", "validate", "configs/examples/chat.jsonl"),
    ("data", "validate", "configs/examples/chat.jsonl", "--backend", "azure"),
    ("data", "convert", "configs/examples/chat.jsonl", "--to", "csv", "-o", "/tmp/x.jsonl"),
    ("data", "split", "configs/examples/chat.jsonl", "--val", "2", "-o", "/tmp/x"),
    ("data", "inspect", "configs/examples/chat.jsonl", "--no-such-flag"),
])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err


def test_empty_and_binary_files_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "bin.jsonl").write_bytes(b"\x00\x01\x02")
    for name, code_name in (("empty.jsonl", "empty_file"), ("bin.jsonl", "binary_file")):
        code, out, _ = run(capsys, "data", "inspect", str(tmp_path / name))
        assert code == 1 and f"error: {code_name}" in out


def test_validate_exit_codes_and_json(capsys: pytest.CaptureFixture[str], examples_dir: Path) -> None:
    code, out, _ = run(capsys, "data", "validate", str(examples_dir / "chat.jsonl"), "--backend", "openai", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run(capsys, "data", "validate", str(examples_dir / "chat.jsonl"), "--backend", "vertex")
    assert code == 1 and "too_few_examples" in out and "FAILED" in out


def test_convert_writes_and_reports(capsys: pytest.CaptureFixture[str], examples_dir: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "a.jsonl"
    code, out, _ = run(capsys, "data", "convert", str(examples_dir / "chat.jsonl"), "--to", "alpaca", "-o",
                       str(out_file), "--json")
    data = json.loads(out)
    assert code == 0 and data["examples"] == 11 and data["skipped"] == 1
    assert any("weights" in d for d in data["dropped"])
    assert len(out_file.read_text().splitlines()) == 11


def test_convert_invalid_source_exits_1_without_output(capsys: pytest.CaptureFixture[str], examples_dir: Path,
                                                       tmp_path: Path) -> None:
    code, _, err = run(capsys, "data", "convert", str(examples_dir / "broken.jsonl"), "--to", "gemini", "-o",
                       str(tmp_path / "g.jsonl"))
    assert code == 1 and "broken.jsonl:2: invalid_json" in err
    assert list(tmp_path.iterdir()) == []


def test_split_json(capsys: pytest.CaptureFixture[str], examples_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "data", "split", str(examples_dir / "chat.jsonl"), "--val", "0.25", "--seed", "7",
                       "--stratify", "topic", "-o", str(tmp_path), "--json")
    data = json.loads(out)
    assert code == 0 and data["counts"] == {"train": 9, "val": 3}
    assert set(data["strata"]) == {"orders", "repairs", "fitting"}


def test_help_and_small_inspect_start_fast_without_heavy_imports(examples_dir: Path) -> None:
    code = ("import sys, time; t = time.perf_counter(); "
            "from ftrouter.cli.app import main\n"
            "try:\n    main(['data', 'inspect', sys.argv[1], '--json'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'openai', 'transformers', 'google.genai', 'rich') if m in sys.modules]\n"
            "print(heavy, file=sys.stderr)")
    subprocess.run([sys.executable, "-c", code, str(examples_dir / "chat.jsonl")], check=True, capture_output=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(examples_dir / "chat.jsonl")], capture_output=True,
                          text=True)
    elapsed = time.perf_counter() - start
    assert proc.stderr.strip().endswith("[]"), proc.stderr
    assert json.loads(proc.stdout)["examples"] == 12
    print(f"data inspect on a small file: {elapsed:.2f} s")  # measured, not asserted (shared CI machines)
