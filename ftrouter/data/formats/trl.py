"""TRL's preference layout (DPO, ORPO, ...): ``{"prompt", "chosen", "rejected"}``.

- standard: strings, ``{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}``; read as a user
  turn and two assistant replies.
- conversational: message lists, ``{"prompt": [{"role": "user", ...}], "chosen": [{"role": "assistant", ...}],
  "rejected": [...]}``, with optional ``tools`` (OpenAI tool objects), as TRL's chat templates take them.
- implicit prompt (conversational only): ``{"chosen": [...whole conversation...], "rejected": [...]}``; the
  turns both share are the prompt.

Written conversational (it keeps roles, system prompts and tool calls; TRL reads both layouts).
"""

from __future__ import annotations

from typing import Any

from ftrouter.data.canonical import Example, Message
from ftrouter.data.formats.base import Format, JSONObject, Notes, check_prompt_tools, text_of
from ftrouter.data.formats.openai import dump_message, parse_messages, tools_of
from ftrouter.data.problems import ProblemSink


def _reply(raw: Any, key: str, sink: ProblemSink) -> list[Message] | None:
    """One side of the pair: a string (standard) or a list holding exactly one assistant message."""
    if isinstance(raw, str):
        return [Message("assistant", raw)]
    if not isinstance(raw, list):
        text_of(raw, key, sink)  # reports missing or non-text content
        return None
    messages = parse_messages(raw, key, sink)
    if messages is None:
        return None
    if len(messages) != 1 or messages[0].role != "assistant":
        sink.add("invalid_preference", f"{key} must hold exactly one assistant message (got "
                 f"{', '.join(m.role for m in messages) or 'none'})")
        return None
    return messages


def _split_implicit(chosen: list[Message], rejected: list[Message],
                    sink: ProblemSink) -> tuple[list[Message], list[Message], list[Message]] | None:
    shared = 0
    while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
        shared += 1
    if shared == 0 or len(chosen) != shared + 1 or len(rejected) != shared + 1:
        sink.add("invalid_preference", "without a prompt, chosen and rejected must be the same conversation up to "
                 "one different final assistant message")
        return None
    return chosen[:shared], chosen[shared:], rejected[shared:]


class TRLPreference(Format):
    name = "trl-preference"
    keys = frozenset({"prompt", "chosen", "rejected", "tools"})
    signature = ("chosen", "rejected")
    carries_call_ids = True
    description = 'TRL preference: {"prompt"?, "chosen", "rejected"} as strings or message lists'

    def parse(self, obj: JSONObject, sink: ProblemSink) -> Example | None:
        meta = self.take_meta(obj, sink)
        parts = self._explicit(obj, sink) if "prompt" in obj else self._implicit(obj, sink)
        if parts is None:
            return None
        prompt, chosen, rejected = parts
        if prompt and prompt[-1].role == "assistant":
            sink.add("invalid_preference", "the prompt must end on a user turn; the replies are chosen and rejected")
        ex = Example(messages=prompt, tools=tools_of(obj, sink), chosen=chosen, rejected=rejected, meta=meta,
                     line=sink.line)
        check_prompt_tools(ex, sink)
        return ex

    @staticmethod
    def _explicit(obj: JSONObject, sink: ProblemSink) -> tuple[list[Message], list[Message], list[Message]] | None:
        raw = obj["prompt"]
        prompt = [Message("user", raw)] if isinstance(raw, str) else parse_messages(raw, "prompt", sink)
        chosen, rejected = _reply(obj.get("chosen"), "chosen", sink), _reply(obj.get("rejected"), "rejected", sink)
        if prompt is None or chosen is None or rejected is None:
            return None
        return prompt, chosen, rejected

    @staticmethod
    def _implicit(obj: JSONObject, sink: ProblemSink) -> tuple[list[Message], list[Message], list[Message]] | None:
        chosen = parse_messages(obj.get("chosen"), "chosen", sink)
        rejected = parse_messages(obj.get("rejected"), "rejected", sink)
        if chosen is None or rejected is None:
            return None
        return _split_implicit(chosen, rejected, sink)

    def dump(self, example: Example, notes: Notes) -> JSONObject | None:
        if not example.is_preference:
            notes.add("skipped: supervised examples have no rejected reply for preference data")
            return None
        out: JSONObject = {"prompt": [dump_message(m) for m in example.messages],
                           "chosen": [dump_message(m) for m in example.chosen or []],
                           "rejected": [dump_message(m) for m in example.rejected or []]}
        if example.tools:
            out["tools"] = example.tools
        return out
