"""Every reader and writer: the example files read cleanly, and every format round-trips through the
canonical form (read -> write -> read gives the same examples)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ftrouter.data import FORMAT_NAMES, convert_file, read_examples, write_examples
from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.data.formats import detect_format
from ftrouter.errors import DataError, UnknownName

EXAMPLE_FILES = {"openai": "chat.jsonl", "dpo": "dpo.jsonl", "prompt-completion": "prompt_completion.jsonl",
                 "alpaca": "alpaca.jsonl", "sharegpt": "sharegpt.jsonl", "gemini": "gemini.jsonl",
                 "trl-preference": "trl_preference.jsonl"}


def _canon(examples: list[Example]) -> list[Example]:
    return [replace(e, line=0, meta={}) for e in examples]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_example_file_is_detected_and_reads_cleanly(fmt: str, examples_dir: Path) -> None:
    path = examples_dir / EXAMPLE_FILES[fmt]
    examples = list(read_examples(path))
    assert len(examples) >= 10
    assert all(e.line > 0 for e in examples)
    first = json.loads(path.read_text().splitlines()[0])
    assert detect_format(first) == fmt


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_round_trip_through_canonical(fmt: str, examples_dir: Path, tmp_path: Path) -> None:
    original = list(read_examples(examples_dir / EXAMPLE_FILES[fmt]))
    out = tmp_path / "out.jsonl"
    result = write_examples(original, out, fmt)
    assert result.examples == len(original) and result.skipped == 0
    again = list(read_examples(out, fmt=fmt))
    assert _canon(again) == _canon(original)


def test_chat_reader_keeps_tools_weights_names_and_tool_calls(examples_dir: Path) -> None:
    examples = list(read_examples(examples_dir / "chat.jsonl"))
    tool_example = next(e for e in examples if e.tools)
    call = next(m for m in tool_example.messages if m.tool_calls)
    assert call.tool_calls == [ToolCall(name="lookup_order", arguments='{"order_id": "51873"}', id="call_1")]
    assert any(m.role == "tool" and m.tool_call_id == "call_1" for m in tool_example.messages)
    weighted = next(e for e in examples if any(m.weight == 0 for m in e.messages))
    assert [m.trained for m in weighted.messages if m.role == "assistant"] == [False, True]
    assert examples[0].meta == {"topic": "orders"}


def test_dpo_reader_gives_prompt_chosen_rejected(examples_dir: Path) -> None:
    first = next(read_examples(examples_dir / "dpo.jsonl"))
    assert first.kind == "dpo"
    assert first.messages[-1].role == "user"
    assert first.chosen and first.chosen[0].role == "assistant"
    assert first.rejected and first.rejected[0].content == "Please check our website for that information."


def test_alpaca_reader_builds_system_history_and_instruction_with_input(write_jsonl) -> None:
    path = write_jsonl([{"system": "Be brief.", "instruction": "Translate", "input": "bonjour", "output": "hello",
                         "history": [["q1", "a1"]]}])
    (ex,) = read_examples(path)
    assert [(m.role, m.content) for m in ex.messages] == [
        ("system", "Be brief."), ("user", "q1"), ("assistant", "a1"), ("user", "Translate\n\nbonjour"),
        ("assistant", "hello")]


def test_sharegpt_reader_maps_roles_and_function_calls(examples_dir: Path) -> None:
    examples = list(read_examples(examples_dir / "sharegpt.jsonl"))
    tool_example = next(e for e in examples if e.tools)
    roles = [m.role for m in tool_example.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert tool_example.messages[2].tool_calls[0].name == "lookup_order"  # type: ignore[index]
    assert tool_example.tools[0]["function"]["name"] == "lookup_order"  # type: ignore[index]


def test_gemini_reader_maps_system_instruction_model_role_and_function_parts(examples_dir: Path) -> None:
    examples = list(read_examples(examples_dir / "gemini.jsonl"))
    assert examples[0].messages[0].role == "system"
    assert examples[1].messages[0].role == "user"  # no systemInstruction on odd lines
    tool_example = examples[-1]
    assert [m.role for m in tool_example.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert tool_example.messages[3].name == "lookup_order"
    assert json.loads(tool_example.messages[3].content or "") == {"status": "shipped", "eta": "Thursday"}


def test_openai_to_gemini_to_openai_keeps_the_conversation(examples_dir: Path, tmp_path: Path) -> None:
    convert_file(examples_dir / "chat.jsonl", tmp_path / "g.jsonl", "gemini")
    convert_file(tmp_path / "g.jsonl", tmp_path / "o.jsonl", "openai")
    before = list(read_examples(examples_dir / "chat.jsonl"))
    after = list(read_examples(tmp_path / "o.jsonl"))
    for b, a in zip(before, after, strict=True):
        assert [(m.role, m.content) for m in a.messages if not m.tool_calls and m.role != "tool"] == \
               [(m.role, m.content) for m in b.messages if not m.tool_calls and m.role != "tool"]


def test_convert_reports_what_is_dropped(examples_dir: Path, tmp_path: Path) -> None:
    result = convert_file(examples_dir / "chat.jsonl", tmp_path / "a.jsonl", "alpaca")
    text = " | ".join(result.dropped)
    assert "weights dropped" in text and "tool calls cannot be written as alpaca" in text
    assert "extra top-level fields dropped (topic)" in text
    assert result.skipped == 1 and result.examples == 11
    assert result.source_format == "openai"


def test_convert_keep_fields_writes_metadata_back(examples_dir: Path, tmp_path: Path) -> None:
    convert_file(examples_dir / "chat.jsonl", tmp_path / "s.jsonl", "sharegpt", keep_meta=True)
    first = json.loads((tmp_path / "s.jsonl").read_text().splitlines()[0])
    assert first["topic"] == "orders"


def test_dpo_to_chat_keeps_preferred_reply(examples_dir: Path, tmp_path: Path) -> None:
    result = convert_file(examples_dir / "dpo.jsonl", tmp_path / "c.jsonl", "openai")
    assert any("non-preferred outputs dropped" in d for d in result.dropped)
    first = next(read_examples(tmp_path / "c.jsonl"))
    assert first.messages[-1].role == "assistant" and not first.is_preference


def test_supervised_to_dpo_is_refused_without_leaving_a_file(examples_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no example could be written as dpo"):
        convert_file(examples_dir / "chat.jsonl", tmp_path / "d.jsonl", "dpo")
    assert list(tmp_path.iterdir()) == []


def test_convert_stops_at_first_error_and_leaves_nothing(examples_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous content\n")
    with pytest.raises(DataError) as info:
        convert_file(examples_dir / "broken.jsonl", out, "gemini")
    assert info.value.line == 2 and info.value.code == "invalid_json"
    assert out.read_text() == "previous content\n"  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temp file left


def test_unknown_format_name_is_a_usage_error(examples_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownName):
        convert_file(examples_dir / "chat.jsonl", tmp_path / "x.jsonl", "csv")
    with pytest.raises(UnknownName):
        list(read_examples(examples_dir / "chat.jsonl", fmt="xml"))


def test_forced_format_overrides_detection(write_jsonl) -> None:
    path = write_jsonl([{"prompt": "p", "completion": "c"}])
    with pytest.raises(DataError, match="mixed_formats: this line is prompt-completion but the file is openai"):
        list(read_examples(path, fmt="openai"))


def test_prompt_completion_writer_flattens_multi_turn(tmp_path: Path) -> None:
    ex = Example(messages=[Message("system", "S"), Message("user", "U"), Message("assistant", "A")])
    result = write_examples([ex], tmp_path / "pc.jsonl", "prompt-completion")
    assert json.loads((tmp_path / "pc.jsonl").read_text()) == {"prompt": "system: S\n\nuser: U", "completion": "A"}
    assert any("flattened" in d for d in result.dropped)
