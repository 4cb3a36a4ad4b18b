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
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftrouter.data.canonical import Example, Message
from ftrouter.data.encodings import DEFAULT_ENCODING, encoding_name_for_model, get_encoding
from ftrouter.errors import UnknownName

if TYPE_CHECKING:
    import tiktoken

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
GEMINI_CHARS_PER_TOKEN = 4
GEMINI_ERROR_BAND = 0.25  # documented above: +/-25% on English prose


_PROBE = "Hello, wörld! <|endoftext|> 12345 \u4f60\u597d  \n\tdone."


def length_counter(encoding: tiktoken.Encoding) -> Callable[[str], int]:
    """``len(encoding.encode_ordinary(text))``, without building the list of token ids when possible.

    tiktoken's list of Python ints costs about a third of the encoding time on long texts. Its core also
    returns the ids as a raw buffer (what ``encode_to_numpy`` wraps); the buffer's byte length / 4 is the
    count. That entry point is not public API, so it is used only when it answers exactly like
    ``encode_ordinary`` on a probe (special-token text included), else we fall back to the list.
    """
    encode_ordinary = encoding.encode_ordinary
    to_buffer = getattr(getattr(encoding, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    if to_buffer is not None:
        no_special: set[str] = set()  # special-token text is ordinary text, as in encode_ordinary

        def count(text: str) -> int:
            return memoryview(to_buffer(text, no_special)).nbytes >> 2  # bytes of uint32 ids

        try:
            if count(_PROBE) == len(encode_ordinary(_PROBE)) and count("") == 0:
                return count
        except Exception:  # any change in the private API means: use the public one
            pass
    return lambda text: len(encode_ordinary(text))


class TokenCounter:
    """Counts (total, trained) tokens of an example. ``limit`` is the model's per-example training limit."""

    exact: bool = False
    limit: int | None = None
    limit_label: str = "the model's limit"  # what ``limit`` is, for messages ("the training length")
    # the model's context window (a local folder's max_position_embeddings, RoPE scaling included, or the
    # catalog's context_length): examples past it are reported apart from ``limit``
    context: int | None = None
    context_source: str | None = None
    fork_safe: bool = False  # may be used in forked worker processes (ftrouter.data.parallel)

    def count(self, example: Example) -> tuple[int, int]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


# Encodings whose pre-tokenizer regex never puts a space and the non-space character before it in one
# piece, and matches from a position without looking behind it (checked on their patterns). For them,
# "X Y" splits at the space: count("a b c") = count("a") + count(" b") + count(" c") exactly, when X and
# Y are not whitespace (see ``TiktokenCounter.text_tokens``).
WORD_SPLIT_ENCODINGS = frozenset({"o200k_base", "cl100k_base"})
_LONG_WORD = 64  # longer "words" (URLs, base64...) are counted but not cached


# What an empty "word" counts in the word caches: more than any real text's tokens, so one empty word (an
# empty text, a leading or trailing space, two spaces in a row) shows in the sum without a separate
# search of the text for double spaces, which costs more than the lookups themselves.
_EMPTY_WORD = 1 << 48


class _WordLengths(dict[str, int]):
    """Token counts of ``prefix + word`` by word, computed on first use (``""``: ``_EMPTY_WORD``).

    A "word" across a line break ("end.\\n\\nThe", see ``TiktokenCounter._words_tokens``) is counted as its
    head up to the last line break ("end.\\n\\n", cached: a word and its line breaks come back) plus its
    tail, which starts a line like a text starts (``line_start``: the cache without the prefix). The
    pre-tokenizers always cut after a run of line breaks, except that o200k_base's punctuation piece takes
    a "/" after them: such a word is counted whole, and so is one that ends a text with its line breaks."""

    __slots__ = ("length", "line_start", "prefix")

    def __init__(self, length: Callable[[str], int], prefix: str, line_start: _WordLengths | None = None) -> None:
        super().__init__()
        self.length = length
        self.prefix = prefix
        self.line_start = line_start if line_start is not None else self
        self[""] = _EMPTY_WORD

    def __missing__(self, word: str) -> int:
        cut = word.rfind("\n") + 1
        if 0 < cut < len(word) and word[cut] != "/":
            return self[word[:cut]] + self.line_start[word[cut:]]
        n = self.length(self.prefix + word)
        if len(word) <= _LONG_WORD:
            self[word] = n
        return n

    def clear(self) -> None:
        super().clear()
        self[""] = _EMPTY_WORD


class TiktokenCounter(TokenCounter):
    """OpenAI's chat accounting with a tiktoken encoding.

    Datasets repeat strings (one system prompt in every example, the role names in every message):
    the lengths of strings seen twice are kept in a bounded cache, so a repeated string is encoded twice
    at most. Distinct texts
    still repeat their words: a text of words between single spaces and line breaks is counted word by
    word from a bounded word cache (exact, see ``WORD_SPLIT_ENCODINGS`` and ``_words_tokens``); other texts
    (tabs, indentation, runs of spaces) go to tiktoken whole.
    """

    exact = True
    fork_safe = True
    CACHE_ENTRIES = 200_000
    CACHE_CHARS = 32 * 1024 * 1024
    WORD_ENTRIES = 200_000

    def __init__(self, encoding: str = DEFAULT_ENCODING, *, limit: int | None = None, model: str | None = None):
        self.encoding_name = encoding
        self.limit = limit
        self.model = model
        self._length = length_counter(get_encoding(encoding))
        self._lengths: dict[str, int] = {}
        self._seen: set[int] = set()  # hashes of texts counted once (see text_tokens)
        self._cached_chars = 0
        self._by_words = encoding in WORD_SPLIT_ENCODINGS
        self._first_words = _WordLengths(self._length, "")
        self._spaced_words = _WordLengths(self._length, " ", line_start=self._first_words)

    def _words_tokens(self, text: str) -> int | None:
        """The count of a text whose whitespace is single spaces between two other characters and line
        breaks (``\\n``) not followed by a space, or None.

        A line break stays inside its "word" ("end.\\n\\nThe", which ``_WordLengths`` counts in two cached
        parts): the split points are still spaces after a non-space character, where these pre-tokenizers
        always cut. A space after a line break is not such a point (``\\s*[\\r\\n]+`` can take it), so that
        text goes to tiktoken whole.
        ASCII text is checked for the other ASCII whitespace characters (what ``\\s`` matches there), in C
        and far faster than ``isprintable``; other text must be printable apart from its line breaks
        (isprintable() is False for every Unicode whitespace but the ASCII space)."""
        # one-character searches run at memory speed; "\n " (two) is many times slower, so only texts that
        # have a line break are searched for it
        lines = "\n" in text
        if text.isascii():
            if "\t" in text or "\r" in text or "\x0b" in text or "\x0c" in text or (lines and "\n " in text):
                return None
        elif (lines and "\n " in text) or not (text.replace("\n", "") if lines else text).isprintable():
            return None
        words = text.split(" ")
        spaced = self._spaced_words
        if len(spaced) > self.WORD_ENTRIES:
            spaced.clear()  # bounded: start over
            self._first_words.clear()
        first = words[0]
        # every word but the first is counted with its leading space; the first one, without
        n = sum(map(spaced.__getitem__, words)) - spaced[first] + self._first_words[first]
        return n if n < _EMPTY_WORD else None  # an empty word: not a text of single spaces between words

    def text_tokens(self, text: str) -> int:
        n = self._lengths.get(text)
        if n is not None:
            return n
        if self._by_words:
            n = self._words_tokens(text)
        if n is None:
            n = self._length(text)
        # Cache a text the second time it is seen: distinct texts (most of a real set) are then not kept
        # alive; the first sighting keeps only the hash, which ``get`` above already computed.
        seen = self._seen
        key = hash(text)
        if key not in seen:
            if len(seen) >= self.CACHE_ENTRIES:
                seen.clear()  # bounded: start over
            seen.add(key)
            return n
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
    from ftrouter.catalog import find_model

    entry = find_model(model)
    counter = _catalog_counter(model, entry)
    if entry is not None and entry.context_length:
        counter.context, counter.context_source = entry.context_length, "the model catalog (context_length)"
    return counter


def _catalog_counter(model: str, entry: Any) -> TokenCounter:
    from ftrouter.catalog import models

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
