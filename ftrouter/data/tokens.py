"""Token counting: exact for OpenAI models, the model's own tokenizer for local models, an estimate
for Gemini.

OpenAI rule (the OpenAI cookbook "Data preparation and analysis for chat model fine-tuning"): every
message costs 3 tokens, plus the encoded length of each of its string values (role, content,
tool_call_id, and for tool calls the function name and the arguments), plus 1 when it has a ``name``;
every example adds 3 tokens of reply priming. Top-level ``tools`` add the encoded length of their
compact JSON (an approximation: OpenAI renders tool declarations in its own internal syntax).
A preference (DPO) example counts its prompt and both replies. Text is encoded as ordinary text:
``<|endoftext|>`` inside a message is counted as the characters it is, as OpenAI's API does.

"Trained" (assistant) tokens are the content + tool-call tokens of assistant turns with weight != 0
(for DPO: both replies).

Gemini has no public tokenizer: ``estimate_gemini_tokens`` uses Google's documented rule of thumb of
about 4 characters per token, per text part, rounded up. Expect roughly +/-25% on English prose; it can
undercount by 2x or more on CJK text and dense code. Treat it as a planning figure: the tuning job's
``totalBillableTokenCount`` is the billed truth.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from ftrouter.data.canonical import Example, Message
from ftrouter.data.encodings import DEFAULT_ENCODING, encoding_name_for_model, get_encoding
from ftrouter.errors import UnknownName

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
GEMINI_CHARS_PER_TOKEN = 4
GEMINI_ERROR_BAND = 0.25  # documented above: +/-25% on English prose


class TokenCounter:
    """Counts (total, trained) tokens of an example. ``limit`` is the model's per-example training limit."""

    exact: bool = False
    limit: int | None = None
    fork_safe: bool = False  # may be used in forked worker processes (ftrouter.data.parallel)

    def count(self, example: Example) -> tuple[int, int]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


class TiktokenCounter(TokenCounter):
    """OpenAI's chat accounting with a tiktoken encoding.

    Datasets repeat strings (one system prompt in every example, the role names in every message):
    encoded lengths are kept in a bounded cache, so each distinct string is encoded once.
    """

    exact = True
    fork_safe = True
    CACHE_ENTRIES = 200_000
    CACHE_CHARS = 64 * 1024 * 1024

    def __init__(self, encoding: str = DEFAULT_ENCODING, *, limit: int | None = None, model: str | None = None):
        self.encoding_name = encoding
        self.limit = limit
        self.model = model
        self._encode = get_encoding(encoding).encode_ordinary
        self._lengths: dict[str, int] = {}
        self._cached_chars = 0

    def text_tokens(self, text: str) -> int:
        n = self._lengths.get(text)
        if n is None:
            n = len(self._encode(text))
            if len(self._lengths) >= self.CACHE_ENTRIES or self._cached_chars > self.CACHE_CHARS:
                self._lengths.clear()  # bounded: start over; repeated strings come back at once
                self._cached_chars = 0
            self._lengths[text] = n
            self._cached_chars += len(text)
        return n

    def messages_tokens(self, messages: list[Message]) -> tuple[int, int]:
        lengths = self._lengths
        tokens = self.text_tokens
        total = trained = 0
        for m in messages:
            content = m.content
            body = (lengths.get(content) or tokens(content)) if content else 0
            if m.tool_calls:
                body += sum(tokens(c.name) + tokens(c.arguments) for c in m.tool_calls)
            role = m.role
            total += TOKENS_PER_MESSAGE + (lengths.get(role) or tokens(role)) + body
            if m.name:
                total += tokens(m.name) + TOKENS_PER_NAME
            if m.tool_call_id:
                total += tokens(m.tool_call_id)
            if role == "assistant" and (m.weight is None or m.weight > 0):
                trained += body
        return total, trained

    def count(self, example: Example) -> tuple[int, int]:
        total, trained = self.messages_tokens(example.messages)
        if example.is_preference:
            for reply in (example.chosen or [], example.rejected or []):
                t, a = self.messages_tokens(reply)
                total, trained = total + t, trained + a
        if example.tools:
            total += self.text_tokens(json.dumps(example.tools, separators=(",", ":"), ensure_ascii=False))
        return total + REPLY_PRIMING, trained

    def describe(self) -> dict[str, Any]:
        return {"method": "tiktoken", "encoding": self.encoding_name, "exact": True, "model": self.model}


def _estimate_text(text: str | None) -> int:
    return math.ceil(len(text) / GEMINI_CHARS_PER_TOKEN) if text else 0


def _estimate_messages(messages: list[Message]) -> tuple[int, int]:
    total = trained = 0
    for m in messages:
        n = _estimate_text(m.content)
        n += sum(_estimate_text(c.name) + _estimate_text(c.arguments) for c in m.tool_calls or [])
        total += n
        if m.trained:
            trained += n
    return total, trained


class GeminiEstimator(TokenCounter):
    """Google's ~4 characters per token rule (see the module docstring for the error band)."""

    exact = False
    fork_safe = True

    def __init__(self, *, limit: int | None = None, model: str | None = None) -> None:
        self.limit = limit
        self.model = model

    def count(self, example: Example) -> tuple[int, int]:
        total, trained = _estimate_messages(example.messages)
        for reply in (example.chosen or [], example.rejected or []):
            t, a = _estimate_messages(reply)
            total, trained = total + t, trained + a
        if example.tools:
            total += _estimate_text(json.dumps(example.tools, separators=(",", ":"), ensure_ascii=False))
        return total, trained

    def describe(self) -> dict[str, Any]:
        return {"method": "estimate", "rule": f"{GEMINI_CHARS_PER_TOKEN} characters per token", "exact": False,
                "error_band": GEMINI_ERROR_BAND, "model": self.model}


def estimate_gemini_tokens(example: Example) -> int:
    """Estimated Gemini training tokens of one example (about +/-25% on English prose)."""
    return GeminiEstimator().count(example)[0]


def counter_for_model(model: str | None) -> TokenCounter:
    """The right counter for ``model``: None (o200k_base, no limit), a local model folder, an OpenAI model
    (catalog or tiktoken's table) or a Gemini model. Unknown names raise UnknownName (exit 2)."""
    if model is None:
        return TiktokenCounter(DEFAULT_ENCODING)
    if Path(model).is_dir():
        from ftrouter.data.local_tokens import LocalTokenizerCounter

        return LocalTokenizerCounter(Path(model))
    from ftrouter.catalog import find_model, models

    entry = find_model(model)
    how = _token_counter(entry.backend) if entry is not None else None  # the backend's profile says
    if how == "gemini" or (entry is None and model.startswith("gemini")):
        return GeminiEstimator(limit=entry.training_token_limit if entry else None, model=model)
    if how == "tiktoken-proxy":  # an open model: o200k_base stands in for its tokenizer
        return TiktokenCounter(DEFAULT_ENCODING, limit=entry.training_token_limit if entry else None, model=model)
    encoding = encoding_name_for_model(model)
    if encoding is None:
        raise UnknownName("model", model, list(models()))
    return TiktokenCounter(encoding, limit=entry.training_token_limit if entry else None, model=model)


def _token_counter(backend: str) -> str | None:
    from ftrouter.errors import PluginMissing
    from ftrouter.profiles import profile_for

    try:
        return profile_for(backend).token_counter
    except (UnknownName, PluginMissing):
        return None


@cache
def _shared_counter(model: str | None) -> TokenCounter:
    return counter_for_model(model)


def count_example_tokens(example: Example, model: str | None = None) -> int:
    """Tokens of one example for ``model`` (the OpenAI rule above for OpenAI models and for None)."""
    return _shared_counter(model).count(example)[0]
