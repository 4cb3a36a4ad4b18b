"""Canonical examples -> TRL prompt-completion records: loss on trained assistant turns only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ftrouter_local.records import ConversionStats, convert, example_to_records, write_records

from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.errors import DataError


def chat(*turns: tuple[str, str, float | None], line: int = 1) -> Example:
    return Example(messages=[Message(role=r, content=c, weight=w) for r, c, w in turns], line=line)  # type: ignore[arg-type]


def test_one_assistant_turn_is_one_prompt_completion_record() -> None:
    example = chat(("system", "Be brief.", None), ("user", "Hi", None), ("assistant", "Hello", None))
    [record] = example_to_records(example)
    assert record == {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                      "completion": [{"role": "assistant", "content": "Hello"}]}


def test_a_weight_zero_turn_is_context_but_never_a_target() -> None:
    example = chat(("user", "a", None), ("assistant", "bad answer", 0), ("user", "again", None),
                   ("assistant", "good answer", 1))
    [record] = example_to_records(example)
    assert record["completion"] == [{"role": "assistant", "content": "good answer"}]
    assert {"role": "assistant", "content": "bad answer"} in record["prompt"]


def test_every_trained_turn_becomes_its_own_record() -> None:
    example = chat(("user", "1", None), ("assistant", "one", None), ("user", "2", None), ("assistant", "two", None))
    first, second = example_to_records(example)
    assert first["completion"][0]["content"] == "one" and len(first["prompt"]) == 1
    assert second["completion"][0]["content"] == "two" and len(second["prompt"]) == 3


def test_tool_calls_get_object_arguments_and_tools_are_kept() -> None:
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    example = Example(messages=[
        Message(role="user", content="2+2?"),
        Message(role="assistant", content=None, tool_calls=[ToolCall(name="add", arguments='{"a": 2}', id="c1")]),
        Message(role="tool", content="4", tool_call_id="c1"),
        Message(role="assistant", content="4"),
    ], tools=tools)
    first, second = example_to_records(example)
    call = first["completion"][0]["tool_calls"][0]
    assert call == {"type": "function", "function": {"name": "add", "arguments": {"a": 2}}, "id": "c1"}
    assert first["completion"][0]["content"] == ""
    assert second["prompt"][2] == {"role": "tool", "content": "4", "tool_call_id": "c1"}
    assert first["tools"] == second["tools"] == tools


def test_preference_data_is_refused_with_its_line() -> None:
    example = Example(messages=[Message(role="user", content="q")], chosen=[Message(role="assistant", content="a")],
                      rejected=[Message(role="assistant", content="b")], line=7)
    with pytest.raises(DataError) as caught:
        example_to_records(example)
    assert (caught.value.line, caught.value.code) == (7, "unsupported_method")


def test_untrained_examples_are_counted_and_skipped() -> None:
    stats = ConversionStats()
    records = list(convert([chat(("user", "x", None), ("assistant", "y", 0), line=3),
                            chat(("user", "x", None), ("assistant", "y", None), line=4)], stats))
    assert len(records) == 1 and stats.skipped_untrained == [3]
    assert stats.as_dict()["examples"] == 2


def test_write_records_is_atomic_and_refuses_an_empty_result(tmp_path: Path) -> None:
    target = tmp_path / "out" / "train.jsonl"
    stats = write_records([chat(("user", "x", None), ("assistant", "y", None))], target, source="in.jsonl")
    assert stats.records == 1 and json.loads(target.read_text())["completion"][0]["content"] == "y"

    with pytest.raises(DataError, match="no example has an assistant turn"):
        write_records([chat(("user", "x", None), ("assistant", "y", 0))], tmp_path / "empty.jsonl", source="in.jsonl")
    preference = Example(messages=[Message(role="user", content="q")], chosen=[], line=2)
    with pytest.raises(DataError) as caught:
        write_records([chat(("user", "x", None), ("assistant", "y", None)), preference], tmp_path / "bad.jsonl",
                      source="in.jsonl")
    assert str(caught.value).startswith("in.jsonl:2: unsupported_method")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing half-written left behind


def test_preference_pairs_become_trl_prompt_chosen_rejected(tmp_path: Path) -> None:
    from ftrouter_local.preference import write_preference_records

    pair = Example(messages=[Message(role="system", content="s"), Message(role="user", content="q")],
                   chosen=[Message(role="assistant", content="good")],
                   rejected=[Message(role="assistant", content="bad")], line=1)
    stats = write_preference_records([pair], tmp_path / "dpo.jsonl", source="in.jsonl")
    record = json.loads((tmp_path / "dpo.jsonl").read_text())
    assert record == {"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
                      "chosen": [{"role": "assistant", "content": "good"}],
                      "rejected": [{"role": "assistant", "content": "bad"}]}
    assert stats.records == 1
    with pytest.raises(DataError) as caught:
        write_preference_records([pair, chat(("user", "x", None), ("assistant", "y", None))], tmp_path / "mixed.jsonl",
                                 source="in.jsonl")
    assert (caught.value.code, caught.value.path) == ("not_a_preference_pair", "in.jsonl")
    assert not (tmp_path / "mixed.jsonl").exists()
