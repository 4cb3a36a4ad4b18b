"""Canonical preference examples -> TRL's conversational preference records (``--method dpo``).

OpenAI's DPO format (``input.messages``, ``preferred_output``, ``non_preferred_output``) and the other
preference formats the data engine reads all become ``Example(messages=prompt, chosen=[...],
rejected=[...])``; TRL's DPOTrainer wants ``{"prompt": [...], "chosen": [...], "rejected": [...]}``
with the same chat messages — a rename, as research/migration.md §4 says. A supervised example in a
DPO file is an error naming its line (the trainer has no pair to learn from), never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Example
from ftrouter.errors import DataError
from ftrouter_local.records import ConversionStats, message_to_trl, write_converted


def example_to_preference(example: Example) -> dict[str, Any]:
    """The one preference record of a DPO example."""
    if not example.chosen or not example.rejected:
        raise DataError("not a preference pair (it needs a preferred and a non-preferred reply); --method dpo "
                        "trains on pairs only", line=example.line, code="not_a_preference_pair")
    record: dict[str, Any] = {"prompt": [message_to_trl(m) for m in example.messages],
                              "chosen": [message_to_trl(m) for m in example.chosen],
                              "rejected": [message_to_trl(m) for m in example.rejected]}
    if example.tools:
        record["tools"] = example.tools
    return record


def convert(examples: Iterable[Example], stats: ConversionStats) -> Iterator[dict[str, Any]]:
    for example in examples:
        stats.examples += 1
        record = example_to_preference(example)
        stats.with_tools += bool(example.tools)
        stats.characters += sum(len(m.content or "") for m in (*example.messages, *(example.chosen or []),
                                                                *(example.rejected or [])))
        stats.records += 1
        yield record


def write_preference_records(examples: Iterable[Example], target: Path, *, source: str) -> ConversionStats:
    """Write the preference records of ``examples`` to ``target`` (JSONL) all or nothing."""
    return write_converted(convert, examples, target, source=source, nothing_left="no preference pairs to train on")
