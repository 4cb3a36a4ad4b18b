"""User-derived text (file names, dataset content, messages) is printed as it is: never read as rich
markup (``[bold]``) or emoji shortcodes (``:100:`` → 💯), so ``FILE:LINE:`` stays literal for editors and CI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter.cli.console import make_console

HOSTILE_NAME = "notes:100:[bold]x:smile:.jsonl"


def _chat(user: str, answer: str = "ok") -> str:
    return json.dumps({"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]})


@pytest.fixture
def hostile_file(tmp_path: Path) -> Path:
    path = tmp_path / HOSTILE_NAME
    lines = [_chat(f"question {i} [red]red[/red] :thumbs_up:") for i in range(1, 100)]
    lines.append('{"messages": [{"role": "wizard", "content": "x"}]}')  # line 100: an error
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_console_prints_markup_and_shortcodes_literally() -> None:
    out = io.StringIO()
    make_console(file=out).print("a.jsonl:100: [bold]error[/bold] :1234: :smile:")
    assert out.getvalue().strip() == "a.jsonl:100: [bold]error[/bold] :1234: :smile:"


def test_validate_keeps_file_line_literal(capsys: pytest.CaptureFixture[str], hostile_file: Path) -> None:
    code, out, err = run(capsys, "data", "validate", str(hostile_file), "--backend", "openai")
    assert code == 1
    assert f"{hostile_file}:100: error: unknown_role" in out
    assert "💯" not in out + err and "😄" not in out + err


def test_inspect_table_shows_name_and_problems_literally(capsys: pytest.CaptureFixture[str],
                                                         hostile_file: Path) -> None:
    code, out, _ = run(capsys, "data", "inspect", str(hostile_file))
    assert code == 1
    assert f"{hostile_file}:100: error:" in out
    assert "💯" not in out


def test_convert_reports_output_name_literally(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(_chat("hello") + "\n", encoding="utf-8")
    target = tmp_path / "out:1234:[b]x.jsonl"
    code, out, _ = run(capsys, "data", "convert", str(src), "--to", "gemini", "-o", str(target))
    assert code == 0
    assert str(target) in out and "🔢" not in out


def test_estimate_table_shows_path_literally(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "train:100:[bold]b.jsonl"
    path.write_text("\n".join(_chat(f"q{i}") for i in range(20)) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "estimate", "--data", str(path), "--backend", "openai")
    assert code == 0, out
    assert str(path) in out.replace("\n", "") and "💯" not in out
