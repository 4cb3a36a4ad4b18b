"""The token counter's fast paths give exactly tiktoken's counts (``encode_ordinary``), on any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftrouter.data.encodings import get_encoding
from ftrouter.data.tokens import WORD_SPLIT_ENCODINGS, TiktokenCounter, length_counter

# words from every class the pre-tokenizer regexes treat differently: cases, contractions, digits,
# punctuation, CJK, marks, emoji, special-token text, Unicode spaces, newlines, tabs
PIECES = ["the", "The", "THE", "HTTPServer", "don't", "WE'LL", "o'clock", "123", "12345", "3.14", "(see", "end.",
          "?!", "...", "--", "a/b", "你好", "ça", "naïve", "e\u0301", "🙂", "<|endoftext|>", "x", "Y", "'s", "'",
          "\u00a0", "\u3000", "\n", "\t", "\r\n", " ", "  ", "\u2028", "\x1c", "a\nb", "\u200b", "ſ",
          # ASCII controls: whitespace (\\s) or not, which the ASCII check of the word path tells apart
          "\x0b", "\x0c", "\r", "\x00", "\x01", "\x1f", "\x7f", "a\x0bb", "end.\x0c"]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=40).map(" ".join)


@pytest.mark.parametrize("encoding", sorted(WORD_SPLIT_ENCODINGS))
def test_word_path_is_taken_for_prose_and_paragraphs_not_for_indentation(encoding: str) -> None:
    counter = TiktokenCounter(encoding)
    assert counter._words_tokens("Please check the brake cable, then the chain.") is not None
    assert counter._words_tokens("line one\nline two and three") is not None
    assert counter._words_tokens("Steps:\n\n1. Loosen the nut.\n2. Turn it.\n") is not None
    assert counter._words_tokens("Tschüss.\n\nBis bald 🙂") is not None
    # a space after a line break can belong to the line break's piece: not a split point
    assert counter._words_tokens("code:\n    indented") is None
    assert counter._words_tokens("a\n b") is None and counter._words_tokens("ä\n b") is None
    assert counter._words_tokens("windows\r\nline") is None
    assert counter._words_tokens("unicode\u2028line sep") is None
    assert counter._words_tokens("double  space here now") is None
    # ASCII text is checked for the other ASCII whitespace without isprintable(): a control character
    # that is not whitespace stays on the word path, a vertical tab or form feed does not
    assert counter._words_tokens("a bell\x07 here") is not None
    assert counter._words_tokens("vertical\x0btab here") is None
    assert counter._words_tokens("form\x0cfeed here") is None
    assert counter._words_tokens(" leading") is None and counter._words_tokens("trailing ") is None
    assert counter._words_tokens("") is None


@pytest.mark.parametrize("encoding", sorted(WORD_SPLIT_ENCODINGS))
def test_word_path_is_exact_for_every_ascii_character(encoding: str) -> None:
    """Every ASCII character, next to the spaces the word path splits at, in several contexts."""
    tiktoken_encoding = get_encoding(encoding)
    counter = TiktokenCounter(encoding)
    contexts = ["a", "A", "1", "'", "'s", ".", "é", "你"]
    for ch in map(chr, range(128)):
        for left in contexts:
            for right in contexts:
                for text in (f"{left}{ch} {right}", f"{left} {ch}{right}", f"{left}{ch} {ch} {right}",
                             f"{ch} {right}{ch}", f"{left}{ch}{ch} 12 {ch}s"):
                    n = counter._words_tokens(text)
                    assert n is None or n == len(tiktoken_encoding.encode_ordinary(text)), repr(text)


# texts with paragraphs, lists and line breaks between words, punctuation or nothing
LINE_SEPARATORS = [" ", " ", " ", "\n", "\n\n", "\n\n\n", " \n", ".\n", ":\n- ", "/\n", "\n/", "\n "]
multiline_texts = st.lists(st.tuples(st.sampled_from(PIECES) | st.text(max_size=6), st.sampled_from(LINE_SEPARATORS)),
                           max_size=30).map(lambda parts: "".join(word + sep for word, sep in parts))


@pytest.mark.parametrize("encoding", sorted(WORD_SPLIT_ENCODINGS))
@settings(max_examples=800, deadline=None)
@given(text=texts | multiline_texts)
def test_word_by_word_count_equals_tiktoken(encoding: str, text: str) -> None:
    expected = len(get_encoding(encoding).encode_ordinary(text))
    counter = TiktokenCounter(encoding)
    assert counter.text_tokens(text) == expected
    assert counter.text_tokens(text) == expected  # from the caches
    words = counter._words_tokens(text)
    assert words is None or words == expected


@pytest.mark.parametrize("encoding", sorted(WORD_SPLIT_ENCODINGS))
def test_word_path_is_exact_next_to_line_breaks_for_every_ascii_character(encoding: str) -> None:
    tiktoken_encoding = get_encoding(encoding)
    counter = TiktokenCounter(encoding)
    contexts = ["a", "A", "1", "'", ".", "/", "é", "你"]
    taken = 0
    for ch in map(chr, range(128)):
        for left in contexts:
            for right in contexts:
                for text in (f"{left}{ch}\n{right}", f"{left}\n{ch} {right}", f"{left} {ch}\n\n{ch}{right}",
                             f"{ch}\n", f"{left}{ch} \n{right}", f"{left}\n\n{ch}\n{right} {ch}"):
                    n = counter._words_tokens(text)
                    taken += n is not None
                    assert n is None or n == len(tiktoken_encoding.encode_ordinary(text)), repr(text)
    assert taken > 10_000  # the path is really taken for these, not refused


@given(text=st.text(max_size=50))
@settings(max_examples=200, deadline=None)
def test_buffer_length_equals_encode_ordinary(text: str) -> None:
    encoding = get_encoding("o200k_base")
    assert length_counter(encoding)(text) == len(encoding.encode_ordinary(text))


@pytest.mark.parametrize("encoding", sorted(WORD_SPLIT_ENCODINGS))
def test_word_path_stays_exact_after_its_cache_starts_over(encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty "word" (double, leading or trailing spaces) must still leave the word path after the
    bounded word cache is cleared."""
    monkeypatch.setattr(TiktokenCounter, "WORD_ENTRIES", 3)
    tiktoken_encoding = get_encoding(encoding)
    counter = TiktokenCounter(encoding)
    texts = ["one two three four five", "six  seven", " eight nine", "ten eleven ", "twelve thirteen fourteen"] * 3
    for text in texts:
        assert counter.text_tokens(text + "!") == len(tiktoken_encoding.encode_ordinary(text + "!")), repr(text)
    assert counter._words_tokens("six  seven") is None and counter._words_tokens("a b") is not None
