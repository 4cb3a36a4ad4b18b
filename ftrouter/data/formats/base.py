"""What every format reader/writer shares: the Format interface, notes on dropped data, and the
checks every conversation gets whatever format it came from."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, ClassVar

from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.data.formats.toolcalls import check_tool_pairing, has_tool_turns, pair_tool_results
from ftrouter.data.problems import ONCE_PER_FILE, ProblemSink

JSONObject = dict[str, Any]


class Notes:
    """What a writer could not carry over, and what it had to assume (e.g. generated tool-call ids),
    counted by kind (rendered as one line per kind)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._assumed: Counter[str] = Counter()

    def add(self, what: str, n: int = 1) -> None:
        self._counts[what] += n

    def assume(self, what: str, n: int = 1) -> None:
        self._assumed[what] += n

    def lines(self) -> list[str]:
        return [f"{what}: {n} example(s)" for what, n in sorted(self._counts.items())]

    def assumed(self) -> list[str]:
        return [f"{what}: {n} example(s)" for what, n in sorted(self._assumed.items())]


class Format:
    """A reader (raw JSON object -> Example) and a writer (Example -> JSON object) for one format."""

    name: ClassVar[str]
    keys: ClassVar[frozenset[str]]  # the top-level keys the format defines
    signature: ClassVar[tuple[str, ...]]  # keys whose presence identifies the format
    description: ClassVar[str]
    carries_call_ids: ClassVar[bool] = False  # whether written files keep tool-call ids

    def matches(self, obj: JSONObject) -> bool:
        return all(k in obj for k in self.signature)

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        raise NotImplementedError

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        """The JSON object for ``example``, or None when the format cannot hold it (noted)."""
        raise NotImplementedError

    def take_meta(self, obj: JSONObject, sink: ProblemSink) -> dict[str, Any]:
        """Top-level keys the format does not define: kept as metadata, reported as a warning."""
        if obj.keys() <= self.keys:  # the common case, checked in C
            return {}
        extra = {k: v for k, v in obj.items() if k not in self.keys}
        for key in extra:
            sink.add_once(f"top-level:{key}", "unknown_key", f"top-level key {key!r} is not part of the {self.name} "
                          f"format (kept as metadata; {ONCE_PER_FILE})")
        return extra


def text_of(value: Any, what: str, sink: ProblemSink, *, allow_none: bool = False) -> str | None:
    """A turn's text; lists of OpenAI text parts are joined. Reports missing or non-text content."""
    if isinstance(value, str):
        return value
    if value is None:
        if not allow_none:
            sink.add("missing_content", f"{what} has no content")
        return None
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in value):
        parts = [p.get("text") for p in value]
        if all(isinstance(t, str) for t in parts):
            return "".join(parts)
    sink.add("non_string_content", f"{what} content is {type(value).__name__}, not text")
    return None


def is_json_object_text(arguments: str) -> bool:
    try:
        return isinstance(json.loads(arguments), dict)
    except ValueError:
        return False


def parse_tool_call(raw: Any, what: str, sink: ProblemSink) -> ToolCall | None:
    """An OpenAI ``tool_calls`` item: ``{"id", "type": "function", "function": {"name", "arguments"}}``."""
    fn = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        sink.add("malformed_tool_call", f"{what}: a tool call needs function.name")
        return None
    arguments = fn.get("arguments", "{}")
    if isinstance(arguments, dict):
        arguments = json.dumps(arguments, ensure_ascii=False)
    if not isinstance(arguments, str) or not is_json_object_text(arguments):
        sink.add("malformed_tool_call", f"{what}: arguments of {fn['name']!r} are not a JSON object string")
        return None
    call_id = raw.get("id")
    return ToolCall(name=fn["name"], arguments=arguments, id=call_id if isinstance(call_id, str) else None)


def check_conversation(ex: Example, sink: ProblemSink, *, pair_given_ids: bool | None = None) -> None:
    """Checks every supervised example gets, whatever format it came from (one loop: this runs per line).

    When the example has tool turns and ``pair_given_ids`` is not None, tool-call ids are generated and
    results paired first (``toolcalls.pair_tool_results``; the format says whether ids it gave may take
    id-less results), then the pairing is checked."""
    has_assistant = trained = tools = False
    for i, m in enumerate(ex.messages, start=1):
        content = m.content
        if content is not None and not m.tool_calls and (not content or content.isspace()):
            sink.add("empty_content", f"message {i} ({m.role}) has empty content")
        if m.role == "assistant":
            has_assistant = True
            trained = trained or m.weight is None or m.weight > 0
            tools = tools or bool(m.tool_calls)
        elif m.role == "tool":
            tools = True
    if tools:
        if pair_given_ids is not None:
            ex.generated_call_ids = pair_tool_results(ex.messages, pair_given_ids=pair_given_ids)
        check_tool_pairing(ex.messages, sink)
    if not has_assistant:
        sink.add("no_assistant", "no assistant turn to train on")
    elif ex.messages[-1].role != "assistant":
        sink.add("last_not_assistant", f"the last turn is from {ex.messages[-1].role!r}, not the assistant")
    elif not trained:
        sink.add("no_assistant", "every assistant turn has weight 0: nothing to train on")


def check_prompt_tools(ex: Example, sink: ProblemSink, *, pair_given_ids: bool = False) -> None:
    """The tool pairing of a preference example's prompt (its replies are single assistant turns)."""
    if has_tool_turns(ex.messages):
        ex.generated_call_ids = pair_tool_results(ex.messages, pair_given_ids=pair_given_ids)
        check_tool_pairing(ex.messages, sink)


def plain_turns(messages: list[Message]) -> bool:
    """True when no turn uses tool calls or tool results."""
    return all(m.role != "tool" and not m.tool_calls for m in messages)
