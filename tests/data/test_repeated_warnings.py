"""Repeated identical warnings collapse into one line with a count (Vertex used to print one weight warning
per example), in ``data validate`` and in a job plan; distinct ones are all accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.data import validate_file
from ftrouter.jobs.view import distinct_warnings

WEIGHT_WARNING = "unsupported_feature: per-turn weights are not supported by Gemini tuning (dropped)"


@pytest.fixture
def weighted(write_jsonl) -> Path:
    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"},
                          {"role": "assistant", "content": f"Answer {i}.", "weight": 1}]} for i in range(40)]
    return write_jsonl(rows, name="weighted.jsonl")


def test_validate_prints_one_line_for_identical_warnings(weighted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "data", "validate", str(weighted), "--backend", "vertex")
    lines = [line for line in out.splitlines() if WEIGHT_WARNING in line]
    assert code == 0 and lines == [f"{weighted}:1: warning: {WEIGHT_WARNING} (40 times; also at line(s) "
                                   "2, 3, 4, 5, 6, ...)"], out
    data = json.loads(run_cli(capsys, "data", "validate", str(weighted), "--backend", "vertex", "--json")[1])
    assert data["warnings"] == 40 and len(data["problems"]) == 40  # --json keeps every one


def test_vertex_dry_run_shows_the_weight_warning_once(weighted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "submit", "--backend", "vertex", "--model", "gemini-2.5-flash", "--data",
                             str(weighted), "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    weight = [w for w in plan["warnings"] if "per-turn weights" in w]
    assert weight == [f"{weighted}:1: {WEIGHT_WARNING} (40 times; also at line(s) 2, 3, 4, 5, 6, ...)"]
    code, out, err = run_cli(capsys, "submit", "--backend", "vertex", "--model", "gemini-2.5-flash", "--data",
                             str(weighted), "--dry-run")
    assert code == 0 and (out + err).count("per-turn weights") == 1, out + err


def test_plan_lists_ten_distinct_warnings_then_says_how_many_more(write_jsonl) -> None:
    rows = [{"messages": [{"role": "user", "content": f"q{i}", f"extra{i}": 1},
                          {"role": "assistant", "content": "a"}]} for i in range(14)]
    report = validate_file(write_jsonl(rows, name="keys.jsonl"), backend="openai")
    lines = report.warning_lines()
    assert report.warnings == 14 and len(lines) == 11
    assert lines[-1].startswith("... and 4 more distinct warning(s): `ftrouter data validate ")


def test_distinct_warnings_counts_repeats_in_order() -> None:
    assert distinct_warnings(["b", "a", "b", "b"]) == ["b (3 times)", "a"]


def test_inspect_prints_one_line_for_identical_warnings(write_jsonl, capsys: pytest.CaptureFixture[str]) -> None:
    from .helpers import chat

    path = write_jsonl([chat(user=" ", answer=f"a{i}") for i in range(8)] + ['{"messages": ['])
    code, out, _ = run_cli(capsys, "data", "inspect", str(path))
    warnings = [line for line in out.splitlines() if "empty_content" in line]
    assert code == 1 and warnings == [f"{path}:1: warning: empty_content: message 1 (user) has empty content "
                                      "(8 times; also at line(s) 2, 3, 4, 5, 6, ...)"], out
    assert f"{path}:9: error: " in out
