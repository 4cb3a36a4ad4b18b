"""Every problem code the reader reports, with its line and severity (backend rules: test_validate.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.data import inspect_file
from ftrouter.data.problems import CODES

from .helpers import chat

GOOD = chat()


def codes(path: Path, **kw: object) -> dict[str, tuple[int | None, str]]:
    report = inspect_file(path, **kw)  # type: ignore[arg-type]
    return {p.code: (p.line, p.severity) for p in report.problems}


CASES: list[tuple[str, list[object], int | None, str]] = [
    ("invalid_json", [GOOD, '{"messages": [}'], 2, "error"),
    ("not_object", [GOOD, "[1, 2]"], 2, "error"),
    ("unknown_format", [{"text": "free text"}], 1, "error"),
    ("mixed_formats", [GOOD, {"prompt": "p", "completion": "c"}], 2, "error"),
    ("missing_messages", [GOOD, {"messages": "hello"}], 2, "error"),
    ("unknown_key", [{"messages": [{"role": "user", "content": "x", "mood": "happy"},
                                   {"role": "assistant", "content": "y"}]}], 1, "warning"),
    ("unknown_role", [{"messages": [{"role": "customer", "content": "x"}, {"role": "assistant", "content": "y"}]}],
     1, "error"),
    ("missing_content", [{"messages": [{"role": "user"}, {"role": "assistant", "content": "y"}]}], 1, "error"),
    ("non_string_content", [{"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "y"}]}],
     1, "error"),
    ("empty_content", [chat(user="   ")], 1, "warning"),
    ("no_assistant", [{"messages": [{"role": "user", "content": "x"}]}], 1, "error"),
    ("last_not_assistant", [{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"},
                                          {"role": "user", "content": "z"}]}], 1, "warning"),
    ("malformed_tool_call", [{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}]}], 1, "error"),
    ("missing_tool_call_id", [{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "r"}, {"role": "assistant", "content": "y"}]}], 1, "error"),
    ("unknown_tool_call_id", [{"messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c",
                                                                                "content": "r"},
                                            {"role": "assistant", "content": "y"}]}], 1, "error"),
    ("unanswered_tool_call", [{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "user", "content": "z"}, {"role": "assistant", "content": "y"}]}], 1, "error"),
    ("invalid_weight", [{"messages": [{"role": "user", "content": "x", "weight": 1},
                                      {"role": "assistant", "content": "y"}]}], 1, "error"),
    ("invalid_preference", [{"input": {"messages": [{"role": "user", "content": "x"}]},
                             "preferred_output": [{"role": "assistant", "content": "a"}],
                             "non_preferred_output": []}], 1, "error"),
    ("duplicate", [GOOD, chat(user="other"), GOOD], 3, "warning"),
    ("blank_line", [GOOD, "", GOOD], 2, "warning"),
]


@pytest.mark.parametrize(("code", "rows", "line", "severity"), CASES, ids=[c[0] for c in CASES])
def test_reader_reports_code_with_line(code: str, rows: list[object], line: int, severity: str, write_jsonl) -> None:
    found = codes(write_jsonl(rows))
    assert found.get(code) == (line, severity), found


def test_every_code_is_documented_with_a_default_severity() -> None:
    for code, (severity, description) in CODES.items():
        assert severity in ("error", "warning") and description, code


def test_too_long_uses_the_models_limit(write_jsonl, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.data import tokens

    path = write_jsonl([chat(answer="word " * 50), GOOD])
    counter = tokens.counter_for_model("gpt-4.1-mini-2025-04-14")
    counter.limit = 40
    report = inspect_file(path, counter=counter)
    assert report.over_limit == 1
    assert [(p.code, p.line) for p in report.problems] == [("too_long", 1)]


def test_weight_must_be_zero_or_one(write_jsonl) -> None:
    bad = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0.5}]}
    assert codes(write_jsonl([bad]))["invalid_weight"] == (1, "error")


def test_all_weights_zero_means_nothing_to_train(write_jsonl) -> None:
    row = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y", "weight": 0}]}
    assert codes(write_jsonl([row]))["no_assistant"] == (1, "error")


def test_tool_call_without_name(write_jsonl) -> None:
    row = {"messages": [{"role": "user", "content": "x"},
                        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}]}
    assert codes(write_jsonl([row]))["malformed_tool_call"] == (1, "error")


def test_gemini_unknown_role_and_non_text_part(write_jsonl) -> None:
    rows = [{"contents": [{"role": "bot", "parts": [{"text": "x"}]}]},
            {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": ""}}]},
                          {"role": "model", "parts": [{"text": "y"}]}]}]
    found = codes(write_jsonl(rows))
    assert found["unknown_role"] == (1, "error")
    assert found["non_string_content"] == (2, "error")


def test_sharegpt_unknown_from(write_jsonl) -> None:
    rows = [{"conversations": [{"from": "robot", "value": "x"}, {"from": "gpt", "value": "y"}]}]
    assert codes(write_jsonl(rows))["unknown_role"] == (1, "error")


def test_unknown_top_level_key_is_reported_once_per_file(write_jsonl) -> None:
    report = inspect_file(write_jsonl([chat(id=1), chat(user="b", id=2)]))
    assert [(p.code, p.line) for p in report.problems] == [("unknown_key", 1)]


def test_problem_json_shape(write_jsonl) -> None:
    report = inspect_file(write_jsonl([GOOD, "nope"]))
    (problem,) = report.to_json()["problems"]
    assert problem == {"line": 2, "code": "invalid_json", "severity": "error", "message": problem["message"]}
    assert json.dumps(report.to_json())
