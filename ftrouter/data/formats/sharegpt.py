"""ShareGPT: ``{"conversations": [{"from": "human"|"gpt"|"system"|"function_call"|"observation", "value"}],
"system"?, "tools"?}`` (the LLaMA-Factory flavour: tools as a JSON string, function calls as JSON values)."""

from __future__ import annotations

import json
from typing import Any

from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.data.formats.base import Format, JSONObject, Notes, check_conversation, is_json_object_text, text_of
from ftrouter.data.formats.toolcalls import results_in_call_order
from ftrouter.data.problems import ProblemSink

_FROM_ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
              "function_call": "assistant", "observation": "tool", "tool": "tool", "function": "tool"}
TURN_KEYS = frozenset({"from", "value"})


def _parse_calls(value: str, what: str, sink: ProblemSink) -> list[ToolCall] | None:
    try:
        raw = json.loads(value)
    except ValueError:
        raw = None
    items = raw if isinstance(raw, list) else [raw]
    calls: list[ToolCall] = []
    for item in items:
        args = item.get("arguments", {}) if isinstance(item, dict) else None
        if isinstance(args, dict):
            args = json.dumps(args, ensure_ascii=False)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(args, str) \
                or not is_json_object_text(args):
            sink.add("malformed_tool_call", f"{what}: a function_call value must be JSON {{name, arguments}}")
            return None
        calls.append(ToolCall(name=item["name"], arguments=args))
    return calls


def _parse_turn(raw: Any, index: int, sink: ProblemSink) -> Message | None:
    what = f"turn {index}"
    if not isinstance(raw, dict):
        sink.add("not_object", f"{what} is {type(raw).__name__}, not an object")
        return None
    source = raw.get("from")
    role = _FROM_ROLE.get(source) if isinstance(source, str) else None
    if role is None:
        sink.add("unknown_role", f"{what} has from={source!r} (expected one of {', '.join(_FROM_ROLE)})")
        return None
    if set(raw) - TURN_KEYS:
        sink.add("unknown_key", f"{what} has unknown key(s): {', '.join(sorted(set(raw) - TURN_KEYS))}")
    value = text_of(raw.get("value"), what, sink)
    if value is None:
        return None
    if source == "function_call":
        calls = _parse_calls(value, what, sink)
        return Message("assistant", None, tool_calls=calls) if calls else None
    return Message(role, value)  # type: ignore[arg-type]


def _parse_tools(raw: Any, sink: ProblemSink) -> list[dict[str, Any]] | None:
    if raw is None or raw == "":
        return None
    try:
        tools = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        tools = None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        sink.add("malformed_tool_call", "tools must be a JSON list of function declarations")
        return None
    # LLaMA-Factory lists bare declarations; canonical tools are OpenAI {"type": "function", "function": ...}
    return [t if "function" in t else {"type": "function", "function": t} for t in tools]


class ShareGPT(Format):
    name = "sharegpt"
    keys = frozenset({"conversations", "system", "tools"})
    signature = ("conversations",)
    description = '{"conversations": [{"from": "human"|"gpt"|"system"|"function_call"|"observation", "value"}]}'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        raw = obj.get("conversations")
        if not isinstance(raw, list) or not raw:
            sink.add("missing_messages", "conversations must be a non-empty list of turns")
            return None
        system = text_of(obj.get("system", ""), "system", sink) or ""
        turns = [_parse_turn(t, i, sink) for i, t in enumerate(raw, start=1)]
        messages = ([Message("system", system)] if system else []) + [t for t in turns if t is not None]
        ex = Example(messages=messages, tools=_parse_tools(obj.get("tools"), sink), meta=meta, line=sink.line)
        check_conversation(ex, sink, pair_given_ids=True)  # sharegpt has no call ids: generated, paired by order
        return ex

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        turns = list(example.messages)
        if example.is_preference:
            notes.add("non-preferred outputs dropped (sharegpt is supervised data)")
            turns += example.chosen or []
        if any(m.weight is not None for m in turns):
            notes.add("per-turn weights dropped (sharegpt has no weights)")
        if not example.generated_call_ids and any(c.id for m in turns for c in m.tool_calls or ()):
            notes.add("tool call ids (sharegpt has none; each turn's tool results are written in the order of its "
                      "calls, so they pair by position when read back)")
        turns = results_in_call_order(turns)
        out: JSONObject = {"conversations": [t for m in turns for t in _dump_turns(m)]}
        if example.tools:
            out["tools"] = json.dumps([t.get("function", t) for t in example.tools], ensure_ascii=False)
        return out


def _dump_turns(m: Message) -> list[JSONObject]:
    if m.role == "assistant" and m.tool_calls:
        calls = [{"name": c.name, "arguments": json.loads(c.arguments)} for c in m.tool_calls]
        value = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
        text = [{"from": "gpt", "value": m.content}] if m.content else []
        return [*text, {"from": "function_call", "value": value}]
    source = {"user": "human", "assistant": "gpt", "system": "system", "tool": "observation"}[m.role]
    return [{"from": source, "value": m.content or ""}]
