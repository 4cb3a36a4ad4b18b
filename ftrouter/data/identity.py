"""What makes two examples "the same": a 64-bit digest of their conversation.

Metadata (ids, labels...) is left out on purpose: two lines that train the model on the same
conversation are duplicates even when their ``id`` differs. The digest is stable across runs and
machines (blake2b, not Python's salted ``hash``), so splits are reproducible.
"""

from __future__ import annotations

import json
from hashlib import blake2b

from ftrouter.data.canonical import Example, Message


def _turns(messages: list[Message] | None) -> tuple[object, ...] | None:
    if messages is None:
        return None
    return tuple((m.role, m.content, m.name, m.weight, m.tool_call_id,
                  tuple((c.name, c.arguments) for c in m.tool_calls) if m.tool_calls else None) for m in messages)


def example_key(example: Example) -> int:
    """A stable 64-bit key; equal conversations (and tools and replies) give equal keys."""
    tools = json.dumps(example.tools, sort_keys=True) if example.tools else None
    parts = (_turns(example.messages), _turns(example.chosen), _turns(example.rejected), tools)
    return int.from_bytes(blake2b(repr(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
