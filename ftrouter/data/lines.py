"""Reading a JSON Lines file as raw lines, safely and in flat memory.

This layer knows nothing about formats. It turns every oddity of the bytes (missing path, directory,
empty or binary file, BOM, blank lines, a line too long to hold, a cut-off last line) into either a
usage error (exit 2) or a Problem with a line number; it never reads more than one line at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ftrouter.data.canonical import Problem
from ftrouter.data.problems import make_problem
from ftrouter.data.progress import REPORT_EVERY, Progress
from ftrouter.errors import UsageError

BOM = b"\xef\xbb\xbf"
# No backend accepts an example anywhere near this long (Gemini's 131k-token limit is ~1 MB of text);
# longer lines are reported and skipped without ever being held in memory whole.
MAX_LINE_BYTES = 32 * 1024 * 1024
_DRAIN_CHUNK = 1024 * 1024
_BINARY_SNIFF = 8192
_NEVER = 1 << 62


@dataclass(slots=True)
class RawLine:
    """One non-blank line (``data`` without the newline) or a problem found at that line."""

    number: int
    data: bytes | None
    problem: Problem | None = None
    last_without_newline: bool = False


def check_input_path(path: str | Path) -> Path:
    """The path as a Path, or a usage error (exit 2) when it is missing, a directory or unreadable."""
    p = Path(path)
    if not p.exists():
        raise UsageError("no such file", path=p, code="file_not_found")
    if p.is_dir():
        raise UsageError("is a directory, not a JSONL file", path=p, code="is_a_directory")
    if not os.access(p, os.R_OK):
        raise UsageError("permission denied", path=p, code="unreadable")
    return p


def _looks_binary(head: bytes) -> bool:
    return b"\x00" in head


def _drain_line(f: BinaryIO) -> bool:
    """Skip the rest of an over-long line; True when it ended with a newline."""
    while True:
        chunk = f.readline(_DRAIN_CHUNK)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


def iter_raw_lines(path: str | Path, max_line_bytes: int = MAX_LINE_BYTES, *,
                   progress: Progress | None = None) -> Iterator[RawLine]:
    """Yield the file's non-blank lines, and problems for the lines that cannot be used.

    Yields a single ``empty_file`` or ``binary_file`` problem (and nothing else) for such files.
    ``progress`` gets (bytes read, file size) every few MB and at the end (``ftrouter.data.progress``).
    """
    p = check_input_path(path)
    with p.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if progress is not None:
            progress(0, size)
        problem = _head_problem(f.read(_BINARY_SNIFF))
        if problem is not None:
            yield RawLine(1, None, problem)
        else:
            f.seek(0)
            yield from _lines(f, max_line_bytes, progress=progress, size=size)
        if progress is not None:
            progress(max(size, f.tell()), max(size, f.tell()))


def _head_problem(head: bytes) -> Problem | None:
    if not head.strip(b" \t\r\n" + BOM):
        return make_problem("empty_file", None, "the file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return make_problem("invalid_utf8", None, "the file is UTF-16: save it as UTF-8")
    if _looks_binary(head):
        return make_problem("binary_file", None, "the file holds NUL bytes: binary, not JSONL")
    return None


def whole_file_problem(path: str | Path) -> Problem | None:
    """The problem that makes the whole file unusable (empty, UTF-16, binary), judged from its start."""
    with Path(path).open("rb") as f:
        return _head_problem(f.read(_BINARY_SNIFF))


def iter_raw_lines_between(path: str | Path, start: int, end: int, first_number: int,
                           max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    """The lines that start in the byte range [start, end), ``start`` being a line start numbered
    ``first_number`` (used to read one chunk of a big file in a worker process)."""
    with Path(path).open("rb") as f:
        f.seek(start)
        yield from _lines(f, max_line_bytes, end - start, first_number - 1)


def _lines(f: BinaryIO, max_line_bytes: int, length: int | None = None, number: int = 0, *,
           progress: Progress | None = None, size: int = 0) -> Iterator[RawLine]:
    readline = f.readline
    origin = f.tell()
    consumed = 0
    # one int comparison per line; without a callback the next report never comes
    report_at = REPORT_EVERY if progress is not None else _NEVER
    while length is None or consumed < length:
        data = readline(max_line_bytes + 1)
        if not data:
            return
        consumed += len(data)
        number += 1
        if consumed >= report_at and progress is not None:
            progress(consumed, max(size, consumed))
            report_at = consumed + REPORT_EVERY
        if number == 1 and data.startswith(BOM):
            data = data[len(BOM):]
            yield RawLine(1, None, make_problem("bom", 1, "the file starts with a UTF-8 BOM (ignored)"))
        if len(data) > max_line_bytes and not data.endswith(b"\n"):
            _drain_line(f)
            consumed = f.tell() - origin
            msg = f"line longer than {max_line_bytes // (1024 * 1024)} MiB (skipped)"
            yield RawLine(number, None, make_problem("line_too_long", number, msg))
            continue
        has_newline = data.endswith(b"\n")
        stripped = data.rstrip(b"\r\n")  # JSON allows surrounding spaces; no need to copy twice
        if not stripped or stripped.isspace():
            yield RawLine(number, None, make_problem("blank_line", number, "blank line (skipped)"))
            continue
        yield RawLine(number, stripped, None, last_without_newline=not has_newline)
