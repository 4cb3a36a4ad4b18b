"""OpenAI's fine-tuning formats: chat (``messages``) and preference / DPO (``input`` +
``preferred_output`` / ``non_preferred_output``)."""

from __future__ import annotations

from typing import Any

from ftrouter.data.canonical import ROLES, Example, Message
from ftrouter.data.formats.base import (
    Format,
    JSONObject,
    Notes,
    check_conversation,
    check_prompt_tools,
    parse_tool_call,
    text_of,
)
from ftrouter.data.problems import ProblemSink

MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call",
                          "refusal"})
_ROLE_ALIASES = {"function": "tool"}  # the legacy function role is today's tool role


def _parse_weight(raw: JSONObject, role: str, what: str, sink: ProblemSink) -> float | None:
    if "weight" not in raw:
        return None
    weight = raw["weight"]
    if isinstance(weight, bool) or weight not in (0, 1):
        sink.add("invalid_weight", f"{what}: weight must be 0 or 1, got {weight!r}")
        return None
    if role != "assistant":
        sink.add("invalid_weight", f"{what}: weight is only allowed on assistant turns, not {role!r}")
        return None
    return float(weight)


def _parse_tool_calls(raw: JSONObject, what: str, sink: ProblemSink) -> list[Any] | None:
    calls = raw.get("tool_calls")
    if calls is None and isinstance(raw.get("function_call"), dict):
        calls = [{"type": "function", "function": raw["function_call"]}]  # legacy single function call
    if calls is None:
        return None
    if not isinstance(calls, list) or not calls:
        sink.add("malformed_tool_call", f"{what}: tool_calls must be a non-empty list")
        return None
    parsed = [parse_tool_call(c, what, sink) for c in calls]
    return [c for c in parsed if c is not None] or None


_PLAIN_ROLES = frozenset({"system", "user", "assistant"})


def parse_message(raw: Any, index: int, sink: ProblemSink) -> Message | None:
    """One OpenAI chat message (also used for DPO's input and outputs)."""
    # fast path for the common case, a plain {"role", "content"} turn: nothing to check or report
    if type(raw) is dict and len(raw) == 2:
        role, content = raw.get("role"), raw.get("content")
        if type(role) is str and role in _PLAIN_ROLES and type(content) is str:
            return Message(role, content)  # type: ignore[arg-type]  # role is one of _PLAIN_ROLES
    return _parse_message(raw, index, sink)


def _parse_message(raw: Any, index: int, sink: ProblemSink) -> Message | None:
    what = f"message {index}"
    if not isinstance(raw, dict):
        sink.add("not_object", f"{what} is {type(raw).__name__}, not an object")
        return None
    role = raw.get("role")
    role = _ROLE_ALIASES.get(role, role) if isinstance(role, str) else None  # a list or object is no role
    if role not in ROLES:
        sink.add("unknown_role", f"{what} has role {raw.get('role')!r} (expected one of {', '.join(ROLES)})")
        return None
    unknown = set(raw) - MESSAGE_KEYS
    if unknown:
        sink.add("unknown_key", f"{what} has unknown key(s): {', '.join(sorted(unknown))}")
    tool_calls = _parse_tool_calls(raw, what, sink) if role == "assistant" else None
    has_calls = "tool_calls" in raw or "function_call" in raw
    content = text_of(raw.get("content"), what, sink, allow_none=role == "assistant" and has_calls)
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    call_id = raw.get("tool_call_id") if isinstance(raw.get("tool_call_id"), str) else None
    weight = _parse_weight(raw, role, what, sink)
    return Message(role=role, content=content, name=name, weight=weight,  # type: ignore[arg-type]
                   tool_calls=tool_calls, tool_call_id=call_id)


def parse_messages(raw: Any, what: str, sink: ProblemSink, start: int = 1) -> list[Message] | None:
    if not isinstance(raw, list) or not raw:
        sink.add("missing_messages", f"{what} must be a non-empty list of messages")
        return None
    parsed = [parse_message(m, i, sink) for i, m in enumerate(raw, start=start)]
    return [m for m in parsed if m is not None]


def dump_message(m: Message) -> JSONObject:
    out: JSONObject = {"role": m.role}
    if m.content is not None or not m.tool_calls:
        out["content"] = m.content if m.content is not None else ""
    if m.name is not None and not (m.role == "tool" and m.tool_call_id is not None):
        out["name"] = m.name  # a tool result's name is its call's (OpenAI's tool message has no name field)
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id or f"call_{i}", "type": c.type,
                              "function": {"name": c.name, "arguments": c.arguments}}
                             for i, c in enumerate(m.tool_calls)]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    if m.weight is not None and m.role == "assistant":
        out["weight"] = 1 if m.weight > 0 else 0
    return out


def tools_of(obj: JSONObject, sink: ProblemSink) -> list[dict[str, Any]] | None:
    tools = obj.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        sink.add("malformed_tool_call", "tools must be a list of tool objects")
        return None
    return tools


class OpenAIChat(Format):
    name = "openai"
    keys = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
    signature = ("messages",)
    carries_call_ids = True
    description = 'OpenAI chat: {"messages": [{"role", "content", "weight"?, "tool_calls"?}], "tools"?}'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        messages = parse_messages(obj.get("messages"), "messages", sink)
        if messages is None:
            return None
        ex = Example(messages=messages, tools=tools_of(obj, sink), meta=meta, line=sink.line)
        if messages:
            # only legacy function_call turns (no ids) get generated ids; a modern tool result without
            # tool_call_id is an error, not something to guess
            check_conversation(ex, sink, pair_given_ids=False)
        return ex

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        messages = list(example.messages)
        if example.is_preference:
            notes.add("non-preferred outputs dropped (chat data keeps the preferred reply only)")
            messages += example.chosen or []
        out: JSONObject = {"messages": [dump_message(m) for m in messages]}
        if example.tools:
            out["tools"] = example.tools
        return out


class OpenAIPreference(Format):
    name = "dpo"
    keys = frozenset({"input", "preferred_output", "non_preferred_output"})
    signature = ("input", "preferred_output")
    carries_call_ids = True
    description = 'OpenAI DPO: {"input": {"messages"}, "preferred_output": [..], "non_preferred_output": [..]}'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        prompt = obj.get("input")
        if not isinstance(prompt, dict):
            sink.add("missing_messages", "input must be an object with a messages list")
            return None
        messages = parse_messages(prompt.get("messages"), "input.messages", sink)
        chosen = self._output(obj, "preferred_output", sink)
        rejected = self._output(obj, "non_preferred_output", sink)
        if messages is None:
            return None
        if messages and messages[-1].role == "assistant":
            sink.add("invalid_preference", "input.messages must end on a user turn; the replies are the outputs")
        ex = Example(messages=messages, tools=tools_of(prompt, sink), chosen=chosen or [], rejected=rejected or [],
                     meta=meta, line=sink.line)
        check_prompt_tools(ex, sink)
        return ex

    @staticmethod
    def _output(obj: JSONObject, key: str, sink: ProblemSink) -> list[Message] | None:
        raw = obj.get(key)
        if not isinstance(raw, list) or len(raw) != 1:
            sink.add("invalid_preference", f"{key} must be a list with exactly one assistant message")
            return None
        msg = parse_message(raw[0], 1, sink)
        if msg is not None and msg.role != "assistant":
            sink.add("invalid_preference", f"{key} must hold an assistant message, not {msg.role!r}")
            return None
        return [msg] if msg is not None else None

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        if not example.is_preference:
            notes.add("skipped: supervised examples have no non-preferred output for DPO")
            return None
        prompt: JSONObject = {"messages": [dump_message(m) for m in example.messages]}
        if example.tools:
            prompt["tools"] = example.tools
        return {"input": prompt,
                "preferred_output": [dump_message(m) for m in example.chosen or []],
                "non_preferred_output": [dump_message(m) for m in example.rejected or []]}
