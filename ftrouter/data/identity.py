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
