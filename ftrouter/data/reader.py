"""Streaming a data file into canonical examples, one record per line, with every problem found.

``scan_file`` is the engine under inspect / validate / convert / split; ``read_examples`` is the strict
public reader (it stops at the first error).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from ftrouter.data.canonical import Example, Problem
from ftrouter.data.containers import Source, open_source
from ftrouter.data.formats import FORMATS, Format, detect_format, get_format
from ftrouter.data.lines import RawLine, iter_raw_lines, iter_raw_lines_between
from ftrouter.data.problems import ProblemSink, make_problem
from ftrouter.data.progress import Progress
from ftrouter.errors import DataError

DETECT_LINES = 100  # auto-detection looks at this many lines and takes the most common format


@dataclass(slots=True)
class Record:
    """What one line of the file gave: an example (possibly with warnings or errors) and its problems."""

    line: int
    example: Example | None
    problems: list[Problem] = field(default_factory=list)
    raw: bytes | None = None



# Deeper JSON is refused per line: no training format nests beyond a dozen levels, and deeper values
# would hit recursion limits later (orjson writes at most 255 levels, the json module ~1,000).
MAX_DEPTH = 128


def _bad_tree(value: Any, *, strings: bool) -> tuple[str, str] | None:
    """(code, message) when ``value`` nests deeper than MAX_DEPTH or (``strings``) holds a lone UTF-16
    surrogate, which the json module lets through but nothing can encode or tokenize. Iterative: a
    recursive walk would itself overflow on the inputs it looks for."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                return "too_deep", f"JSON nested more than {MAX_DEPTH} levels deep"
            stack.extend((v, depth + 1) for v in item.values())
            if strings:
                stack.extend((k, depth) for k in item)
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return "too_deep", f"JSON nested more than {MAX_DEPTH} levels deep"
            stack.extend((v, depth + 1) for v in item)
        elif strings and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                code = ord(item[exc.start])
                return "invalid_unicode", f"a lone surrogate escape (\\u{code:04x}) is not valid Unicode text"
    return None


class _TooLarge(ValueError):
    pass


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # Python refuses to convert more than 4,300 digits
        raise _TooLarge(f"an integer of {len(text):,} digits is too large") from None


def decode_json(raw: RawLine) -> tuple[Any, Problem | None]:
    """Parse one line; orjson for speed, the standard library for what orjson refuses (NaN, big ints).

    Every line either parses into a value that the rest of the engine can handle or gives a Problem:
    invalid UTF-8 or JSON, lone surrogates, integers over 4,300 digits, nesting beyond MAX_DEPTH.
    """
    data = raw.data or b""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as fast_error:
        return _decode_slowly(raw, data, fast_error)
    # orjson accepts up to 1,024 levels; bracket count bounds the depth, so most lines skip the walk
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        bad = _bad_tree(value, strings=False)
        if bad is not None:
            return None, make_problem(bad[0], raw.number, bad[1])
    return value, None


def _decode_slowly(raw: RawLine, data: bytes, fast_error: ValueError) -> tuple[Any, Problem | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, make_problem("invalid_utf8", raw.number,
                                  f"byte 0x{data[exc.start]:02x} at column {exc.start + 1} is not UTF-8")
    try:
        value = json.loads(text, parse_int=_integer)  # NaN, Infinity and big ints are kept
    except RecursionError:
        return None, make_problem("too_deep", raw.number, f"JSON nested more than {MAX_DEPTH} levels deep")
    except ValueError as exc:
        if raw.last_without_newline:
            return None, make_problem("truncated_line", raw.number,
                                      "the last line is cut off (no final newline, not valid JSON)")
        detail = str(exc if isinstance(exc, _TooLarge) else fast_error).replace("line 1 column", "column")
        return None, make_problem("invalid_json", raw.number, f"not valid JSON: {detail[:200]}")
    bad = _bad_tree(value, strings=True)
    if bad is not None:
        return None, make_problem(bad[0], raw.number, bad[1])
    return value, None


def sniff_format(path: Path, lines: int = DETECT_LINES) -> str | None:
    """The most common format among the first ``lines`` JSON-object lines, or None."""
    votes: Counter[str] = Counter()
    for raw in islice((r for r in iter_raw_lines(path) if r.data is not None), lines):
        obj, problem = decode_json(raw)
        name = detect_format(obj) if problem is None and isinstance(obj, dict) else None
        if name:
            votes[name] += 1
    return votes.most_common(1)[0][0] if votes else None


def original_lines(source: Source, raws: Iterator[RawLine]) -> Iterator[RawLine]:
    """The raw lines of ``source``, numbered as in the original file when it is a copy of a container (a
    JSON array element or CSV row at the line where it starts); a plain file's lines as they are."""
    number = source.original_line
    if source.line_numbers is None:
        yield from raws
        return
    for raw in raws:
        raw.number = number(raw.number) or raw.number
        if raw.problem is not None:
            raw.problem = replace(raw.problem, line=number(raw.problem.line))
        yield raw


class FileScan:
    """Iterate a data file's records: the one way every data command reads its input.

    ``path`` is the file as named (in every message); ``jsonl`` the JSON Lines file actually read (the
    input itself, or a temporary copy of a pipe, gzip, JSON array, CSV, Parquet or Arrow input: see
    ``ftrouter.data.containers``; ``container`` says which). ``format`` is the resolved format name
    (None if undetectable).
    """

    def __init__(self, path: str | Path, fmt: str = "auto") -> None:
        if fmt != "auto":
            get_format(fmt)  # an unknown format name is a usage error before a pipe or container is read
        self.source = open_source(path)
        self.path = self.source.path
        self.jsonl = self.source.jsonl
        self.container = self.source.container
        if fmt == "auto":
            self.format: str | None = sniff_format(self.jsonl)
        else:
            self.format = get_format(fmt).name
        self._fmt: Format | None = FORMATS[self.format] if self.format else None

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def records(self, progress: Progress | None = None) -> Iterator[Record]:
        """All the file's records; ``progress`` gets (bytes read, file size) as they are read."""
        return self._records(iter_raw_lines(self.jsonl, progress=progress))

    def records_between(self, start: int, end: int, first_line: int) -> Iterator[Record]:
        """Records of the lines starting in the byte range [start, end) (one chunk of a parallel scan)."""
        return self._records(iter_raw_lines_between(self.jsonl, start, end, first_line))

    def _records(self, raws: Iterator[RawLine]) -> Iterator[Record]:
        reported: set[str] = set()
        raws = original_lines(self.source, raws)
        for raw in raws:
            if raw.problem is not None:
                yield Record(raw.number, None, [raw.problem])
                continue
            obj, problem = decode_json(raw)
            if problem is not None:
                yield Record(raw.number, None, [problem], raw.data)
                continue
            sink = ProblemSink(raw.number, reported)
            example = self._parse(obj, sink)
            yield Record(raw.number, example, sink.problems, raw.data)

    def _parse(self, obj: Any, sink: ProblemSink) -> Example | None:
        if not isinstance(obj, dict):
            sink.add("not_object", f"expected a JSON object, got {type(obj).__name__}")
            return None
        fmt = self._fmt
        if fmt is None:
            sink.add("unknown_format", f"keys {', '.join(sorted(obj)[:6]) or '(none)'} match no known format")
            return None
        if not fmt.matches(obj):
            other = detect_format(obj)
            if other is not None:
                sink.add("mixed_formats", f"this line is {other} but the file is {fmt.name}")
                return None
        return fmt.parse(obj, sink)


def read_examples(path: str | Path | FileScan, fmt: str = "auto", *,
                  progress: Progress | None = None) -> Iterator[Example]:
    """Stream the file's canonical examples; raise DataError (with path and line) at the first error.

    Warnings (unknown keys, blank lines, duplicates...) do not stop reading. A usage problem (missing
    path, directory, unknown format name) raises UsageError before anything is read. ``path`` may be an
    open ``FileScan`` (read once more, not opened again). ``progress``: see ``ftrouter.data.progress``.
    """
    scan = path if isinstance(path, FileScan) else FileScan(path, fmt)
    found = False
    for record in scan.records(progress):
        for problem in record.problems:
            if problem.severity == "error":
                raise DataError(problem.message, path=scan.path, line=problem.line, code=problem.code)
        if record.example is not None:
            found = True
            yield record.example
    if not found:
        raise DataError("the file holds no example", path=scan.path, code="empty_file")

