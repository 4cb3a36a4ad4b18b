"""Canonical examples -> TRL's conversational prompt-completion records.

Every trained assistant turn becomes one record: ``prompt`` is the conversation up to that turn,
``completion`` is the turn itself. TRL then computes loss on the completion only (its default for
prompt-completion data), which gives exactly "loss on assistant turns" while honouring OpenAI's
``weight: 0`` (an untrained assistant turn stays in later prompts as context but is never a target)
— and it works with ANY chat template, unlike ``assistant_only_loss``, which needs
``{% generation %}`` markers in the template. A conversation with one assistant turn at the end (the
common case) is exactly one record; one with k trained turns is k records sharing prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Example, Message, ToolCall
from ftrouter.errors import DataError


@dataclass
class ConversionStats:
    examples: int = 0
    records: int = 0
    skipped_untrained: list[int] = field(default_factory=list)  # lines with no trained assistant turn
    with_tools: int = 0
    characters: int = 0
    record_lines: list[int] = field(default_factory=list)  # the source line of each record written, in order

    def as_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "records": self.records,
            "skipped_untrained": len(self.skipped_untrained),
            "with_tools": self.with_tools,
            "characters": self.characters,
        }


def _tool_call(call: ToolCall) -> dict[str, Any]:
    # chat templates format arguments with `| tojson`, so they expect an object, not the raw string
    try:
        arguments: Any = json.loads(call.arguments)
    except (TypeError, ValueError):
        arguments = call.arguments
    out: dict[str, Any] = {"type": call.type, "function": {"name": call.name, "arguments": arguments}}
    if call.id is not None:
        out["id"] = call.id
    return out


def message_to_trl(message: Message) -> dict[str, Any]:
    """One turn as a chat-template message (keys with no value are left out)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content if message.content is not None else ""}
    if message.name is not None:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def example_to_records(example: Example) -> list[dict[str, Any]]:
    """The prompt-completion records of one supervised example (none if no turn is trained)."""
    if example.is_preference:
        raise DataError("preference (DPO) example in supervised data: train it with --method dpo", line=example.line,
                        code="unsupported_method")
    turns = [message_to_trl(m) for m in example.messages]
    records: list[dict[str, Any]] = []
    for index, message in enumerate(example.messages):
        if not message.trained:
            continue
        record: dict[str, Any] = {"prompt": turns[:index], "completion": [turns[index]]}
        if example.tools:
            record["tools"] = example.tools
        records.append(record)
    return records


def convert(examples: Iterable[Example], stats: ConversionStats) -> Iterator[dict[str, Any]]:
    """Stream records for ``examples``, counting into ``stats``."""
    for example in examples:
        stats.examples += 1
        records = example_to_records(example)
        if not records:
            stats.skipped_untrained.append(example.line)
            continue
        stats.with_tools += bool(example.tools)
        stats.characters += sum(len(m.content or "") for m in example.messages)
        stats.records += len(records)
        stats.record_lines.extend([example.line] * len(records))
        yield from records


def write_records(examples: Iterable[Example], target: Path, *, source: str) -> ConversionStats:
    """Write the records of ``examples`` to ``target`` (JSONL) atomically; errors name ``source``."""
    return write_converted(convert, examples, target, source=source,
                           nothing_left="no example has an assistant turn to train on")


Converter = Callable[[Iterable[Example], ConversionStats], Iterator[dict[str, Any]]]


def write_converted(converter: Converter, examples: Iterable[Example], target: Path, *, source: str,
                    nothing_left: str) -> ConversionStats:
    """Write what ``converter`` makes of ``examples`` to ``target`` (JSONL) all or nothing: a partial
    file is removed on any error (a DataError is made to name ``source``), and a file with no record is
    refused with ``nothing_left``."""
    stats = ConversionStats()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            for record in converter(examples, stats):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    except DataError as exc:
        partial.unlink(missing_ok=True)
        if exc.path is None:
            exc.path = source
        raise
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if stats.records == 0:
        partial.unlink(missing_ok=True)
        raise DataError(nothing_left, path=source, code="no_trainable_examples")
    partial.replace(target)
    return stats
