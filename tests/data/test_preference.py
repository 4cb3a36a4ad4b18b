"""TRL's preference layout ({"prompt", "chosen", "rejected"}, standard and conversational) reads as preference
(DPO) data and converts to and from OpenAI's DPO format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.data import convert_file, inspect_file, read_examples
from ftrouter.data.formats import detect_format

STANDARD = {"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}
CONVERSATIONAL = {"prompt": [{"role": "system", "content": "Be brief."},
                             {"role": "user", "content": "What color is the sky?"}],
                  "chosen": [{"role": "assistant", "content": "It is blue."}],
                  "rejected": [{"role": "assistant", "content": "It is green."}]}
IMPLICIT = {"chosen": [{"role": "user", "content": "What color is the sky?"},
                       {"role": "assistant", "content": "It is blue."}],
            "rejected": [{"role": "user", "content": "What color is the sky?"},
                         {"role": "assistant", "content": "It is green."}]}


def _turns(messages: list[object] | None) -> list[tuple[str, str | None]]:
    return [(m.role, m.content) for m in messages or []]  # type: ignore[attr-defined]


@pytest.mark.parametrize("row", [STANDARD, CONVERSATIONAL, IMPLICIT], ids=["standard", "conversational", "implicit"])
def test_trl_layouts_read_as_preference_data(row: dict[str, object], write_jsonl) -> None:
    path = write_jsonl([row])
    assert detect_format(row) == "trl-preference"
    report = inspect_file(path)
    assert report.errors == 0 and report.kinds == {"dpo": 1}, report.problems
    (example,) = read_examples(path)
    assert example.kind == "dpo" and example.messages[-1].role == "user"
    assert _turns(example.chosen)[0][0] == "assistant" and _turns(example.rejected)[0][0] == "assistant"


def test_standard_layout_is_a_user_turn_and_two_replies(write_jsonl) -> None:
    (example,) = read_examples(write_jsonl([STANDARD]))
    assert _turns(example.messages) == [("user", "The sky is")]
    assert _turns(example.chosen) == [("assistant", " blue.")]
    assert _turns(example.rejected) == [("assistant", " green.")]


@pytest.mark.parametrize("row", [STANDARD, CONVERSATIONAL, IMPLICIT], ids=["standard", "conversational", "implicit"])
def test_trl_to_openai_dpo_and_back(row: dict[str, object], write_jsonl, tmp_path: Path) -> None:
    src = write_jsonl([row])
    convert_file(src, tmp_path / "dpo.jsonl", "dpo")
    written = json.loads((tmp_path / "dpo.jsonl").read_text())
    assert set(written) == {"input", "preferred_output", "non_preferred_output"}
    result = convert_file(tmp_path / "dpo.jsonl", tmp_path / "back.jsonl", "trl-preference")
    assert result.dropped == [] and result.skipped == 0
    for a, b in zip(read_examples(src), read_examples(tmp_path / "back.jsonl"), strict=True):
        assert (_turns(a.messages), _turns(a.chosen), _turns(a.rejected)) == \
               (_turns(b.messages), _turns(b.chosen), _turns(b.rejected))


def test_openai_dpo_example_file_converts_to_conversational_trl(examples_dir: Path, tmp_path: Path) -> None:
    convert_file(examples_dir / "dpo.jsonl", tmp_path / "trl.jsonl", "trl-preference")
    first = json.loads((tmp_path / "trl.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in first["prompt"]] == ["system", "user"]
    assert first["chosen"][0]["role"] == first["rejected"][0]["role"] == "assistant"


def test_supervised_data_is_not_turned_into_preference_pairs(examples_dir: Path, tmp_path: Path) -> None:
    from ftrouter.errors import DataError

    with pytest.raises(DataError, match="no rejected reply"):
        convert_file(examples_dir / "prompt_completion.jsonl", tmp_path / "x.jsonl", "trl-preference")
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("row", [
    {**CONVERSATIONAL, "chosen": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]},
    {**CONVERSATIONAL, "rejected": [{"role": "user", "content": "not a reply"}]},
    {**IMPLICIT, "rejected": [{"role": "user", "content": "another question"},
                              {"role": "assistant", "content": "x"}]},
    {"prompt": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "chosen": "x",
     "rejected": "y"},
], ids=["two-chosen", "rejected-user", "implicit-no-shared-prompt", "prompt-ends-on-assistant"])
def test_malformed_pairs_are_invalid_preference(row: dict[str, object], write_jsonl) -> None:
    report = inspect_file(write_jsonl([row]))
    assert [(p.code, p.line) for p in report.problems if p.severity == "error"] == [("invalid_preference", 1)]


def test_tool_calls_in_the_prompt_survive_dpo_and_trl(write_jsonl, tmp_path: Path) -> None:
    row = {"input": {"messages": [
        {"role": "user", "content": "Weather and time?"},
        {"role": "assistant", "tool_calls": [
            {"id": "w", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
            {"id": "t", "type": "function", "function": {"name": "clock", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t", "content": "14:02"},
        {"role": "tool", "tool_call_id": "w", "content": "rain"},
        {"role": "user", "content": "So?"}]},
        "preferred_output": [{"role": "assistant", "content": "Rain at 14:02."}],
        "non_preferred_output": [{"role": "assistant", "content": "Sun."}]}
    convert_file(write_jsonl([row]), tmp_path / "trl.jsonl", "trl-preference")
    convert_file(tmp_path / "trl.jsonl", tmp_path / "dpo.jsonl", "dpo")
    (example,) = read_examples(tmp_path / "dpo.jsonl")
    calls = {c.id: c.name for m in example.messages for c in m.tool_calls or ()}
    assert [(calls[m.tool_call_id], m.content) for m in example.messages if m.role == "tool"] == \
           [("clock", "14:02"), ("weather", "rain")]
