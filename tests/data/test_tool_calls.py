"""Tool calls survive every conversion: results stay paired with the calls they answer (by id where the
format has ids, generated ids paired by name or order where it has none, and the report says so), and
the reader rejects tool results that answer no call and calls that get no result."""

from __future__ import annotations

import json
from itertools import permutations
from pathlib import Path

import pytest

from ftrouter.data import convert_file, inspect_file, read_examples
from ftrouter.data.canonical import Example

TOOL_FORMATS = ("openai", "sharegpt", "gemini")

# parallel calls answered out of order: the trap of pairing by position
PARALLEL = {"messages": [
    {"role": "user", "content": "Weather and time in Oslo?"},
    {"role": "assistant", "tool_calls": [
        {"id": "call_w", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}},
        {"id": "call_t", "type": "function", "function": {"name": "clock", "arguments": '{"city": "Oslo"}'}}]},
    {"role": "tool", "tool_call_id": "call_t", "content": '{"time": "14:02"}'},
    {"role": "tool", "tool_call_id": "call_w", "content": '{"sky": "rain"}'},
    {"role": "assistant", "content": "Rain, and it is 14:02."}]}
# two calls of the same function: only the order can pair them
SAME_NAME = {"messages": [
    {"role": "user", "content": "Orders 1 and 2?"},
    {"role": "assistant", "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "order", "arguments": '{"id": 1}'}},
        {"id": "b", "type": "function", "function": {"name": "order", "arguments": '{"id": 2}'}}]},
    {"role": "tool", "tool_call_id": "a", "content": '{"status": "shipped"}'},
    {"role": "tool", "tool_call_id": "b", "content": '{"status": "packed"}'},
    {"role": "assistant", "content": "1 shipped, 2 packed."}]}


def pairs(example: Example) -> list[tuple[str, dict[str, object], dict[str, object]]]:
    """(function name, arguments, result) for every tool result, joined through the ids."""
    calls = {c.id: c for m in example.messages for c in m.tool_calls or ()}
    out = []
    for m in example.messages:
        if m.role == "tool":
            call = calls[m.tool_call_id]
            out.append((call.name, json.loads(call.arguments), json.loads(m.content or "")))
    return sorted(out, key=repr)


@pytest.mark.parametrize(("src", "dst"), list(permutations(TOOL_FORMATS, 2)))
def test_every_tool_format_pair_round_trips_the_pairing(src: str, dst: str, write_jsonl, tmp_path: Path) -> None:
    original = write_jsonl([PARALLEL, SAME_NAME])
    expected = [pairs(e) for e in read_examples(original)]
    start = tmp_path / f"start.{src}.jsonl"
    convert_file(original, start, src)
    convert_file(start, tmp_path / "there.jsonl", dst)
    convert_file(tmp_path / "there.jsonl", tmp_path / "back.jsonl", src)
    for path in (start, tmp_path / "there.jsonl", tmp_path / "back.jsonl"):
        assert [pairs(e) for e in read_examples(path)] == expected, path.read_text()


def test_openai_to_gemini_writes_call_ids_on_both_parts(write_jsonl, tmp_path: Path) -> None:
    convert_file(write_jsonl([PARALLEL]), tmp_path / "g.jsonl", "gemini")
    contents = json.loads((tmp_path / "g.jsonl").read_text())["contents"]
    calls = [p["functionCall"] for p in contents[1]["parts"]]
    results = [p["functionResponse"] for p in contents[2]["parts"]]
    assert [c["id"] for c in calls] == ["call_w", "call_t"]
    assert [(r["id"], r["name"]) for r in results] == [("call_w", "weather"), ("call_t", "clock")]  # call order


def test_sharegpt_to_openai_generates_ids_pairs_by_order_and_says_so(write_jsonl, tmp_path: Path) -> None:
    row = {"conversations": [
        {"from": "human", "value": "Orders 1 and 2?"},
        {"from": "function_call", "value": json.dumps([{"name": "order", "arguments": {"id": 1}},
                                                       {"name": "order", "arguments": {"id": 2}}])},
        {"from": "observation", "value": '{"status": "shipped"}'},
        {"from": "observation", "value": '{"status": "packed"}'},
        {"from": "gpt", "value": "1 shipped, 2 packed."}]}
    result = convert_file(write_jsonl([row]), tmp_path / "o.jsonl", "openai")
    messages = json.loads((tmp_path / "o.jsonl").read_text())["messages"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_1", "call_2"]
    assert [m["tool_call_id"] for m in messages[2:4]] == ["call_1", "call_2"]
    assert any("ids were generated" in note and "by order" in note for note in result.assumed), result
    assert inspect_file(tmp_path / "o.jsonl").errors == 0


def test_gemini_without_ids_pairs_results_by_function_name(write_jsonl, tmp_path: Path) -> None:
    row = {"contents": [
        {"role": "user", "parts": [{"text": "Weather and time?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {}}},
                                    {"functionCall": {"name": "clock", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "clock", "response": {"time": "14:02"}}},
                                   {"functionResponse": {"name": "weather", "response": {"sky": "rain"}}}]},
        {"role": "model", "parts": [{"text": "Rain at 14:02."}]}]}
    (example,) = read_examples(write_jsonl([row]))
    assert pairs(example) == [("clock", {}, {"time": "14:02"}), ("weather", {}, {"sky": "rain"})]
    assert example.generated_call_ids
    result = convert_file(write_jsonl([row]), tmp_path / "o.jsonl", "openai")
    assert result.assumed and not result.dropped


def test_openai_to_sharegpt_says_the_ids_are_not_carried(write_jsonl, tmp_path: Path) -> None:
    result = convert_file(write_jsonl([PARALLEL]), tmp_path / "s.jsonl", "sharegpt")
    assert any(note.startswith("tool call ids (sharegpt has none") for note in result.dropped), result.dropped


def test_legacy_function_call_is_paired_without_ids(write_jsonl) -> None:
    row = {"messages": [{"role": "user", "content": "Order 5?"},
                        {"role": "assistant", "content": None, "function_call": {"name": "order",
                                                                                  "arguments": '{"id": 5}'}},
                        {"role": "function", "name": "order", "content": '{"status": "late"}'},
                        {"role": "assistant", "content": "It is late."}]}
    report = inspect_file(write_jsonl([row]))
    assert report.errors == 0, report.problems


def _codes(path: Path) -> dict[str, int | None]:
    return {p.code: p.line for p in inspect_file(path).problems if p.severity == "error"}


def _with(messages: list[dict[str, object]]) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": "Weather?"}, *messages]}


CALL = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                             "function": {"name": "weather", "arguments": "{}"}}]}


@pytest.mark.parametrize(("code", "messages"), [
    ("missing_tool_call_id", [CALL, {"role": "tool", "content": "sunny"}, {"role": "assistant", "content": "Sun."}]),
    ("unknown_tool_call_id", [CALL, {"role": "tool", "tool_call_id": "c9", "content": "sunny"},
                              {"role": "assistant", "content": "Sun."}]),
    ("unknown_tool_call_id", [{"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                              {"role": "assistant", "content": "Sun."}]),
    ("unanswered_tool_call", [CALL, {"role": "user", "content": "hello?"}, {"role": "assistant", "content": "Hi."}]),
    ("unanswered_tool_call", [{**CALL, "tool_calls": [*CALL["tool_calls"], {  # type: ignore[dict-item]
        "id": "c2", "type": "function", "function": {"name": "clock", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"}, {"role": "assistant", "content": "Sun."}]),
])
def test_openai_reader_rejects_unpaired_tool_turns(code: str, messages: list[dict[str, object]], write_jsonl) -> None:
    found = _codes(write_jsonl([_with([{"role": "assistant", "content": "ok"}]), _with(messages)]))
    assert found.get(code) == 2 and set(found.values()) == {2}, found


def test_a_final_tool_call_needs_no_result(write_jsonl) -> None:
    """OpenAI's function-calling fine-tuning examples end on the assistant's call: that is the target."""
    assert _codes(write_jsonl([_with([CALL])])) == {}


def test_dpo_prompt_tool_pairing_is_checked(write_jsonl) -> None:
    row = {"input": {"messages": [{"role": "user", "content": "Weather?"}, CALL,
                                  {"role": "tool", "tool_call_id": "nope", "content": "sunny"},
                                  {"role": "user", "content": "So?"}]},
           "preferred_output": [{"role": "assistant", "content": "Sunny."}],
           "non_preferred_output": [{"role": "assistant", "content": "No idea."}]}
    assert _codes(write_jsonl([row])) == {"unknown_tool_call_id": 1, "unanswered_tool_call": 1}


def test_convert_command_prints_the_assumption(capsys: pytest.CaptureFixture[str], examples_dir: Path,
                                               tmp_path: Path) -> None:
    from clirun import run_cli

    code, out, _ = run_cli(capsys, "data", "convert", str(examples_dir / "sharegpt.jsonl"), "--to", "openai", "-o",
                           str(tmp_path / "o.jsonl"))
    assert code == 0 and "  assumed: tool call ids: the source has none" in out, out


def test_plain_text_tool_results_round_trip_through_gemini_output(write_jsonl, tmp_path: Path) -> None:
    """Text that is not a JSON object travels as Gemini's {"output": text} and comes back as the same text."""
    row = {"messages": [{"role": "user", "content": "Weather?"}, CALL,
                        {"role": "tool", "tool_call_id": "c1", "content": "rain, 12 C"},
                        {"role": "assistant", "content": "Rainy."}]}
    convert_file(write_jsonl([row]), tmp_path / "g.jsonl", "gemini")
    parts = json.loads((tmp_path / "g.jsonl").read_text())["contents"][2]["parts"]
    assert parts == [{"functionResponse": {"name": "weather", "response": {"output": "rain, 12 C"}, "id": "c1"}}]
    convert_file(tmp_path / "g.jsonl", tmp_path / "o.jsonl", "openai")
    messages = json.loads((tmp_path / "o.jsonl").read_text())["messages"]
    assert messages[2] == {"role": "tool", "content": "rain, 12 C", "tool_call_id": "c1"}  # the schema's keys only
