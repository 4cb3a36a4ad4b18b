"""Labelled data for encoder models: classification, multi-label, sentence pairs, token classification
(BIO tags) and embedding pairs/triplets.

These files are not conversations, so they have their own reader next to the chat formats; they share
the line reader (``ftrouter.data.lines``), the JSON decoding and the problem codes. One line is one
example:

- ``classification``:       ``{"text": "...", "label": "spam"}`` (a label may also be an integer)
- ``multi-label``:          ``{"text": "...", "labels": ["billing", "urgent"]}`` (an empty list is allowed)
- ``pairs``:                ``{"text1": "...", "text2": "...", "label": "entailment"}``
- ``token-classification``: ``{"tokens": ["Ada", "Lovelace", "wrote"], "tags": ["B-PER", "I-PER", "O"]}``
- ``embedding``:            ``{"anchor": "...", "positive": "..."[, "negative": "..."]}``

Auto-detection votes over the first lines like the chat formats do, and only applies when no chat format
matched, so a chat file is never read as labelled data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ftrouter.data.canonical import Problem
from ftrouter.data.lines import iter_raw_lines
from ftrouter.data.problems import ProblemSink
from ftrouter.data.progress import Progress

if TYPE_CHECKING:
    from ftrouter.data.containers import Source
    from ftrouter.data.reader import FileScan

LABELLED_FORMATS = ("classification", "multi-label", "pairs", "token-classification", "embedding")
# ``submit --task`` name -> the data format that task trains on
TASK_FORMATS = {"classification": "classification", "multi-label": "multi-label",
                "pair-classification": "pairs", "token-classification": "token-classification",
                "embedding": "embedding"}
_KEYS = {
    "classification": frozenset({"text", "label"}),
    "multi-label": frozenset({"text", "labels"}),
    "pairs": frozenset({"text1", "text2", "label"}),
    "token-classification": frozenset({"tokens", "tags"}),
    "embedding": frozenset({"anchor", "positive", "negative"}),
}
DETECT_LINES = 100


def detect_labelled(obj: dict[str, Any]) -> str | None:
    """The labelled format whose signature keys ``obj`` has, most specific first, or None."""
    if "tokens" in obj and "tags" in obj:
        return "token-classification"
    if "anchor" in obj and "positive" in obj:
        return "embedding"
    if "text1" in obj and "text2" in obj:
        return "pairs"
    if "text" in obj and "labels" in obj:
        return "multi-label"
    if "text" in obj and "label" in obj:
        return "classification"
    return None


@dataclass(slots=True)
class LabelledExample:
    """One labelled line. ``texts``: the model's inputs (text; text1, text2; the tokens; anchor, positive
    [, negative]); ``labels``: the class (one), the classes (multi-label), the tags (one per token) or
    nothing (embedding pairs)."""

    line: int
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def key(self) -> int:
        """A stable 64-bit key of the INPUTS: the same text twice is a duplicate whatever its label, and
        must stay on one side of a split."""
        return int.from_bytes(blake2b(orjson.dumps(self.texts), digest_size=8).digest(), "little")

    def fields(self, fmt: str) -> dict[str, Any]:
        """Top-level fields as ``data split --stratify`` sees them: the label(s) and the metadata."""
        if fmt in ("classification", "pairs"):
            return {**self.meta, "label": self.labels[0]}
        if fmt == "multi-label":
            return {**self.meta, "labels": sorted(self.labels)}
        return dict(self.meta)


@dataclass(slots=True)
class LabelledRecord:
    line: int
    example: LabelledExample | None
    problems: list[Problem] = field(default_factory=list)


def _label(value: Any) -> str | None:
    """A class label: a string or an integer (booleans and floats are refused: 1.0 vs 1 is ambiguous)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int):
        return str(value)
    return None


def _text(obj: dict[str, Any], key: str, sink: ProblemSink) -> str | None:
    value = obj.get(key)
    if not isinstance(value, str):
        got = "missing" if key not in obj else f"{type(value).__name__}, not text"
        sink.add("missing_field", f"{key!r} is {got}")
        return None
    if not value.strip():
        sink.add("empty_content", f"{key!r} is empty")
    return value


def _one_label(obj: dict[str, Any], sink: ProblemSink) -> tuple[str, ...] | None:
    if "label" not in obj:
        sink.add("missing_field", "'label' is missing")
        return None
    label = _label(obj["label"])
    if label is None:
        sink.add("invalid_label", f"'label' must be a non-empty string or an integer, not {obj['label']!r:.40}")
        return None
    return (label,)


def _many_labels(obj: dict[str, Any], sink: ProblemSink) -> tuple[str, ...] | None:
    raw = obj.get("labels")
    labels = [_label(v) for v in raw] if isinstance(raw, list) else None
    if labels is None or any(v is None for v in labels):
        sink.add("invalid_label", "'labels' must be a list of non-empty strings or integers")
        return None
    if len(set(labels)) != len(labels):
        sink.add("invalid_label", "'labels' lists a label twice")
        return None
    return tuple(v for v in labels if v is not None)


def bio_problem(tags: list[str]) -> str | None:
    """Why a BIO tag sequence is invalid (None when it is valid): every tag is ``O``, ``B-TYPE`` or
    ``I-TYPE``, and an ``I-TYPE`` continues a ``B-TYPE`` or ``I-TYPE`` of the same type."""
    previous = "O"
    for i, tag in enumerate(tags, start=1):
        if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
            return f"tag {i} {tag!r:.40} is not O, B-TYPE or I-TYPE"
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return f"tag {i} {tag!r:.40} follows {previous!r:.40}: an I- tag must continue a B- or I- of its type"
        previous = tag
    return None


def _token_tags(obj: dict[str, Any], sink: ProblemSink) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    tokens, tags = obj.get("tokens"), obj.get("tags")
    for key, value in (("tokens", tokens), ("tags", tags)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            sink.add("missing_field", f"{key!r} must be a list of strings")
            return None
    assert isinstance(tokens, list) and isinstance(tags, list)
    if not tokens:
        sink.add("empty_content", "'tokens' is empty")
    if len(tokens) != len(tags):
        sink.add("length_mismatch", f"{len(tokens)} tokens but {len(tags)} tags")
        return None
    problem = bio_problem(tags)
    if problem is not None:
        sink.add("invalid_bio", problem)
        return None
    return tuple(tokens), tuple(tags)


def parse_labelled(obj: dict[str, Any], fmt: str, sink: ProblemSink) -> LabelledExample | None:
    """One JSON object of format ``fmt`` as an example; its problems go to ``sink``."""
    for key in obj.keys() - _KEYS[fmt]:
        sink.add_once(f"top-level:{key}", "unknown_key", f"top-level key {key!r} is not part of the {fmt} format "
                      "(kept as metadata; reported once per file)")
    meta = {k: v for k, v in obj.items() if k not in _KEYS[fmt]}
    if fmt == "token-classification":
        pair = _token_tags(obj, sink)
        return LabelledExample(sink.line, pair[0], pair[1], meta) if pair else None
    names = {"classification": ("text",), "multi-label": ("text",), "pairs": ("text1", "text2"),
             "embedding": ("anchor", "positive") + (("negative",) if "negative" in obj else ())}[fmt]
    texts = [_text(obj, key, sink) for key in names]
    labels: tuple[str, ...] | None = ()
    if fmt in ("classification", "pairs"):
        labels = _one_label(obj, sink)
    elif fmt == "multi-label":
        labels = _many_labels(obj, sink)
    if labels is None or any(t is None for t in texts):
        return None
    return LabelledExample(sink.line, tuple(t for t in texts if t is not None), labels, meta)


def sniff_labelled(path: Path, lines: int = DETECT_LINES) -> str | None:
    """The most common labelled format among the first ``lines`` JSON-object lines, or None."""
    from ftrouter.data.reader import decode_json

    votes: Counter[str] = Counter()
    for raw in islice((r for r in iter_raw_lines(path) if r.data is not None), lines):
        obj, problem = decode_json(raw)
        name = detect_labelled(obj) if problem is None and isinstance(obj, dict) else None
        if name:
            votes[name] += 1
    return votes.most_common(1)[0][0] if votes else None


def labelled_format(path: str | Path | Source | FileScan, fmt: str = "auto") -> str | None:
    """The labelled format of ``path``: ``fmt`` when it names one; when ``fmt`` is auto, the sniffed
    labelled format of a file in which no chat format was found; else None (a chat file). ``path`` may be
    an open ``Source`` or ``FileScan``: its copy of a container is sniffed instead of unpacking the file again."""
    if fmt in LABELLED_FORMATS:
        return fmt
    if fmt != "auto":
        return None
    from ftrouter.data.containers import open_source
    from ftrouter.data.reader import FileScan, sniff_format

    if isinstance(path, FileScan):  # opened (a container unpacked) and sniffed for chat by the caller
        return sniff_labelled(path.jsonl) if path.format is None else None
    source = open_source(path)  # pipes, FIFOs and containers as every data command reads them
    return sniff_labelled(source.jsonl) if sniff_format(source.jsonl) is None else None


def scan_labelled(path: str | Path | Source, fmt: str, progress: Progress | None = None) -> Iterator[LabelledRecord]:
    """Every line of a labelled file (or of an open ``Source``) as a record (an example and/or its
    problems), in file order, numbered as in the original file."""
    from ftrouter.data.containers import open_source
    from ftrouter.data.reader import decode_json, original_lines

    source = open_source(path)  # kept alive while reading: a container's JSON Lines copy goes with it
    reported: set[str] = set()
    for raw in original_lines(source, iter_raw_lines(source.jsonl, progress=progress)):
        if raw.problem is not None:
            yield LabelledRecord(raw.number, None, [raw.problem])
            continue
        obj, problem = decode_json(raw)
        if problem is not None:
            yield LabelledRecord(raw.number, None, [problem])
            continue
        sink = ProblemSink(raw.number, reported)
        yield LabelledRecord(raw.number, _parse_line(obj, fmt, sink), sink.problems)


def _parse_line(obj: Any, fmt: str, sink: ProblemSink) -> LabelledExample | None:
    if not isinstance(obj, dict):
        sink.add("not_object", f"expected a JSON object, got {type(obj).__name__}")
        return None
    other = detect_labelled(obj)
    if other is None:
        sink.add("unknown_format", f"keys {', '.join(sorted(obj)[:6]) or '(none)'} match no {fmt} example")
        return None
    if other != fmt:
        sink.add("mixed_formats", f"this line is {other} but the file is {fmt}")
        return None
    return parse_labelled(obj, fmt, sink)
