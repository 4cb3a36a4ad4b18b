"""Single-pair formats: prompt-completion and Alpaca (instruction / input / output)."""

from __future__ import annotations

from typing import Any

from ftrouter.data.canonical import Example, Message
from ftrouter.data.formats.base import Format, JSONObject, Notes, check_conversation, plain_turns, text_of
from ftrouter.data.problems import ProblemSink


def _note_lossy(example: Example, notes: Notes, fmt: str) -> None:
    if any(m.weight is not None for m in example.messages):
        notes.add(f"per-turn weights dropped ({fmt} has no weights)")
    if any(m.name for m in example.messages):
        notes.add(f"message names dropped ({fmt} has no names)")
    if example.tools:
        notes.add(f"tool declarations dropped ({fmt} has no tools)")


def _refuse_tools_or_preference(example: Example, notes: Notes, fmt: str) -> bool:
    """True (and noted) when the example cannot be written to ``fmt`` at all."""
    if not plain_turns(example.messages):
        notes.add(f"skipped: tool calls cannot be written as {fmt}")
        return True
    if example.is_preference:
        notes.add(f"non-preferred outputs dropped ({fmt} is supervised data)")
    return False


def _conversation(example: Example) -> list[Message]:
    return example.messages + (example.chosen or []) if example.is_preference else list(example.messages)


class PromptCompletion(Format):
    name = "prompt-completion"
    keys = frozenset({"prompt", "completion"})
    signature = ("prompt", "completion")
    description = '{"prompt": "...", "completion": "..."}'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        prompt = text_of(obj.get("prompt"), "prompt", sink)
        completion = text_of(obj.get("completion"), "completion", sink)
        if prompt is None or completion is None:
            return None
        ex = Example(messages=[Message("user", prompt), Message("assistant", completion)], meta=meta, line=sink.line)
        check_conversation(ex, sink)
        return ex

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        if _refuse_tools_or_preference(example, notes, self.name):
            return None
        turns = _conversation(example)
        if not turns or turns[-1].role != "assistant":
            notes.add("skipped: no final assistant turn to use as the completion")
            return None
        _note_lossy(example, notes, self.name)
        head, last = turns[:-1], turns[-1]
        if len(head) == 1 and head[0].role == "user":
            return {"prompt": head[0].content or "", "completion": last.content or ""}
        notes.add("system prompt / earlier turns flattened into the prompt text as 'role: text' lines")
        prompt = "\n\n".join(f"{m.role}: {m.content or ''}" for m in head)
        return {"prompt": prompt, "completion": last.content or ""}


def _history_pairs(raw: Any, sink: ProblemSink) -> list[Message] | None:
    if raw is None:
        return []
    ok = isinstance(raw, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in raw)
    if not ok:
        sink.add("missing_messages", "history must be a list of [instruction, response] string pairs")
        return None
    turns: list[Message] = []
    for question, answer in raw:
        turns += [Message("user", question), Message("assistant", answer)]
    return turns


class Alpaca(Format):
    name = "alpaca"
    keys = frozenset({"instruction", "input", "output", "system", "history"})
    signature = ("instruction", "output")
    description = '{"instruction", "input"?, "output", "system"?, "history"?: [[q, a], ...]}'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        instruction = text_of(obj.get("instruction"), "instruction", sink)
        extra = text_of(obj.get("input", ""), "input", sink)
        output = text_of(obj.get("output"), "output", sink)
        system = text_of(obj.get("system", ""), "system", sink)
        history = _history_pairs(obj.get("history"), sink)
        if instruction is None or output is None or history is None:
            return None
        user = f"{instruction}\n\n{extra}" if extra else instruction
        messages = [Message("system", system)] if system else []
        messages += [*history, Message("user", user), Message("assistant", output)]
        ex = Example(messages=messages, meta=meta, line=sink.line)
        check_conversation(ex, sink)
        return ex

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        if _refuse_tools_or_preference(example, notes, self.name):
            return None
        turns = _conversation(example)
        system = turns[0].content if turns and turns[0].role == "system" else None
        body = turns[1:] if system is not None else turns
        pairs = [(body[i], body[i + 1]) for i in range(0, len(body) - 1, 2)]
        shaped = len(body) % 2 == 0 and all(u.role == "user" and a.role == "assistant" for u, a in pairs)
        if not body or not shaped:
            notes.add("skipped: not a [system] + user/assistant alternation ending on the assistant")
            return None
        _note_lossy(example, notes, self.name)
        *history, (user, answer) = pairs
        out: JSONObject = {"instruction": user.content or "", "input": "", "output": answer.content or ""}
        if system:
            out["system"] = system
        if history:
            out["history"] = [[u.content or "", a.content or ""] for u, a in history]
        return out
