"""What makes two examples "the same": a 64-bit digest of their conversation.

Metadata (ids, labels...) is left out on purpose: two lines that train the model on the same
conversation are duplicates even when their ``id`` differs. The digest is stable across runs and
machines (blake2b, not Python's salted ``hash``), so splits are reproducible.
"""

from __future__ import annotations

from hashlib import blake2b

import orjson

from ftrouter.data.canonical import Example


def example_key(example: Example) -> int:
    """A stable 64-bit key; equal conversations (and tools and replies) give equal keys."""
    # orjson serializes the slotted dataclasses natively (fields in declaration order; meta and line are
    # on Example, not on the messages, so they stay out).
    body = orjson.dumps((example.messages, example.chosen, example.rejected, example.tools),
                        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return int.from_bytes(blake2b(body, digest_size=8).digest(), "little")


def session_key(example: Example) -> int:
    """A key equal for equal conversations, like ``example_key``, but valid only inside this process and
    its forks (Python's string hashes are salted per run): never store it or compare it across runs.

    For plain conversations (no tool calls, tools or preference replies, float or no weights) it hashes
    the messages' fields instead of serializing them: the strings' hashes are usually cached already (the
    token counter looked them up), so it costs a fraction of ``example_key`` on big files. Other
    examples, and weights whose type would tell ``example_key`` apart (1 vs 1.0), use ``example_key``.
    """
    if example.tools is None and example.chosen is None and example.rejected is None:
        fields = []
        for m in example.messages:
            if m.tool_calls is not None or not (m.weight is None or type(m.weight) is float):
                break
            fields.append((m.role, m.content, m.name, m.weight, m.tool_call_id))
        else:
            return hash(tuple(fields))
    return example_key(example)
