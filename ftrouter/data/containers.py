"""The containers training data comes in, turned into JSON Lines that the rest of the engine reads.

``open_source`` is the one entry point (``FileScan`` calls it; every data command reads through
``FileScan``). A JSON Lines file is read where it is. Anything else is first copied, once, into a
temporary JSON Lines file (mode 0600, in the system temp folder, removed when the scan is done):

- a pipe, FIFO or terminal (``data inspect /dev/stdin``): it can be read only once, and the engine
  reads a file twice or more (format detection, the scan, split's copy);
- gzip (``.jsonl.gz``, any file starting with gzip's magic bytes), then detected again inside;
- a top-level JSON array (``[{...}, {...}]``, pretty-printed or not), element by element, streamed;
- CSV / TSV (by extension) whose header names recognisable columns, one example per row;
- Parquet (Hugging Face datasets layout: one row per example) and Arrow: a ``datasets`` folder saved
  with ``save_to_disk`` or a single ``.arrow`` file, through pyarrow (optional: ``pip install pyarrow``).

Line numbers keep their meaning: a JSON array element or CSV row is reported at the line where it
starts in the original file; Parquet and Arrow rows by row number (1 = first row). A container that
cannot be read at all is one error line (exit 1), not one error per line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import select
import stat
import tempfile
import time
import weakref
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import orjson

from ftrouter.data.lines import BOM, MAX_LINE_BYTES, check_input_path
from ftrouter.errors import DataError, UsageError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
ARROW_FILE_MAGIC = b"ARROW1"
ARROW_STREAM_MAGIC = b"\xff\xff\xff\xff"
FIFO_WAIT_SECONDS = 10.0  # how long a FIFO may wait for a writer before the command gives up
_CHUNK = 1024 * 1024
_ARROW_HINT = "reading Parquet / Arrow needs pyarrow: pip install pyarrow (or pip install 'ftrouter[parquet]')"

# CSV / TSV headers we recognise: (columns that must be there, how a row becomes a JSON object, label)
CSV_LAYOUTS: list[tuple[frozenset[str], dict[str, str], str]] = [
    (frozenset({"prompt", "completion"}), {"prompt": "prompt", "completion": "completion"}, "prompt/completion"),
    (frozenset({"instruction", "output"}), {"instruction": "instruction", "input": "input", "output": "output",
                                           "system": "system"}, "instruction/input/output"),
    # labelled data, as the same rows in JSON Lines are: a classification file (ftrouter.data.labelled)
    (frozenset({"text", "label"}), {"text": "text", "label": "label"}, "text/label"),
]


# A stream can be read only once: its copy serves every later read of the same path in this process.
_streams: dict[str, Source] = {}


@dataclass
class Source:
    """A data file ready to read: ``jsonl`` is the JSON Lines file read (the input itself or a temporary
    copy), ``path`` what the user named (used in every message), ``container`` what was read."""

    path: Path
    jsonl: Path
    container: str = "JSON Lines"
    unit: str = "line"  # what problem numbers count: "line" of the original file, or "row"
    line_numbers: array | None = field(default=None, repr=False)  # original line of each copied line

    def original_line(self, line: int | None) -> int | None:
        numbers = self.line_numbers
        if line is None or numbers is None or not 0 < line <= len(numbers):
            return line
        return int(numbers[line - 1])


class _Copy:
    """A temporary JSON Lines file, removed when the Source that holds it is garbage or at exit."""

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="ftrouter-data-", suffix=".jsonl")
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.lines = 0
        self.numbers = array("I")

    def write(self, line: bytes, original: int | None = None) -> None:
        self.file.write(line)
        self.file.write(b"\n")
        self.lines += 1
        if original is not None:
            self.numbers.append(original)

    def source(self, path: Path, container: str, *, unit: str = "line", numbered: bool = False) -> Source:
        self.file.close()
        src = Source(path, self.path, container, unit, self.numbers if numbered else None)
        weakref.finalize(src, _remove, str(self.path))
        return src

    def discard(self) -> None:
        self.file.close()
        _remove(str(self.path))


def _remove(name: str) -> None:
    Path(name).unlink(missing_ok=True)


def open_source(path: str | Path | Source) -> Source:
    """The file at ``path`` as JSON Lines (see the module docstring). Usage errors (exit 2) for a missing
    path or an unsupported folder; DataError (exit 1) for a container that cannot be read. A Source is
    already open: it comes back as it is, so a reader handed one does not unpack the file again."""
    if isinstance(path, Source):
        return path
    p = Path(path)
    if p.is_dir():
        return _directory(p)
    p = check_input_path(p)
    mode = os.stat(p).st_mode
    if not stat.S_ISREG(mode):  # a pipe, FIFO, terminal or socket: copy it once, then look inside
        if str(p) in _streams:  # read before by this process (submit validates, then converts)
            return _streams[str(p)]
        copy = _Copy()
        try:
            _copy_stream(p, copy.file)
        except BaseException:
            copy.discard()
            raise
        inner = _detect(copy.source(p, "JSON Lines"), p)  # an intermediate copy goes with its Source
        inner.container = f"{inner.container} from a pipe"
        _streams[str(p)] = inner
        return inner
    return _detect(Source(p, p), p)


def _detect(src: Source, shown: Path) -> Source:
    """What ``src.jsonl`` holds, by its first bytes (and the name's extension for CSV / TSV)."""
    with src.jsonl.open("rb") as f:
        head = f.read(8192)
    name = shown.name.lower()
    if head.startswith(GZIP_MAGIC):
        return _gunzip(src, shown)
    if head.startswith(ZSTD_MAGIC):
        raise DataError("the file is zstd-compressed: decompress it first (zstd -d), then read the .jsonl",
                        path=shown, code="unsupported_container")
    if head.startswith(PARQUET_MAGIC):
        return _from_table(shown, [src.jsonl], "Parquet")
    if head.startswith((ARROW_FILE_MAGIC, ARROW_STREAM_MAGIC)):
        return _from_table(shown, [src.jsonl], "Arrow")
    base = name.removesuffix(".gz")
    if base.endswith((".csv", ".tsv")):
        return _from_csv(src.jsonl, shown, "\t" if base.endswith(".tsv") else ",")
    if _is_json_array(head, base):
        return _from_json_array(src.jsonl, shown)
    return src


def _is_json_array(head: bytes, name: str) -> bool:
    """A top-level JSON array: starts with ``[`` and is a ``.json`` file or spans several lines (a JSONL
    line that is a list stays a per-line not_object error)."""
    text = head.removeprefix(BOM).lstrip()
    if not text.startswith(b"["):
        return False
    if name.endswith(".json"):
        return True
    first_line = text.split(b"\n", 1)[0]
    try:
        orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return True
    return False


# --- streams -----------------------------------------------------------------------------------------

def _copy_stream(path: Path, out: BinaryIO) -> None:
    """Copy a pipe / FIFO into ``out``. A FIFO that nobody opens for writing would block ``open`` for
    ever: it is opened without blocking and given FIFO_WAIT_SECONDS to get a writer (exit 2 after)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        first = _first_bytes(fd, path)
        os.set_blocking(fd, True)
        out.write(first)
        while chunk := os.read(fd, _CHUNK):
            out.write(chunk)
    finally:
        os.close(fd)


def _named_fifo(path: Path) -> bool:
    """A FIFO in the file system (``mkfifo``), not the anonymous pipe behind ``/dev/stdin``."""
    real = os.path.realpath(path)
    try:
        return stat.S_ISFIFO(os.lstat(real).st_mode)
    except OSError:  # /proc/self/fd/0 -> "pipe:[1234]", which is no file
        return False


def _first_bytes(fd: int, path: Path) -> bytes:
    deadline = time.monotonic() + FIFO_WAIT_SECONDS
    while True:
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:  # a writer is there, nothing written yet: wait for it
            select.select([fd], [], [], 1.0)
            continue
        if data or not _named_fifo(path):
            return data  # data, or the end of a pipe / device
        # a named FIFO: no writer yet (or one that wrote nothing and left): wait a while for one
        if time.monotonic() >= deadline:
            raise UsageError(f"nothing was written to this FIFO within {FIFO_WAIT_SECONDS:.0f} s (is a writer "
                             "running?)", path=path, code="no_writer")
        time.sleep(0.05)


# --- gzip --------------------------------------------------------------------------------------------

def _gunzip(src: Source, shown: Path) -> Source:
    copy = _Copy()
    try:
        with gzip.open(src.jsonl, "rb") as f:
            while chunk := f.read(_CHUNK):
                copy.file.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        copy.discard()
        raise DataError(f"not a readable gzip file ({exc})", path=shown, code="unsupported_container") from None
    inner = _detect(copy.source(shown, "JSON Lines"), shown)
    inner.container = f"gzip-compressed {inner.container}"
    return inner


# --- JSON array --------------------------------------------------------------------------------------

def _from_json_array(path: Path, shown: Path) -> Source:
    copy = _Copy()
    try:
        with path.open("r", encoding="utf-8-sig") as f:
            for line, element in _array_elements(f, shown):
                copy.write(element.encode("utf-8"), line)
    except BaseException:
        copy.discard()
        raise
    return copy.source(shown, "a JSON array (one element per example)", numbered=True)


def _array_elements(f: io.TextIOBase, shown: Path) -> Iterator[tuple[int, str]]:
    """(line where it starts, compact text) of each element of the top-level array read from ``f``,
    streaming: at most one element (and a chunk) in memory. Newlines between tokens become spaces (a
    JSON string cannot hold a raw newline), so each element is one JSON Lines line."""
    decoder = json.JSONDecoder()
    reader = _Buffer(f, shown)
    reader.expect("[")
    if reader.peek() == "]":
        reader.pos += 1
    else:
        while True:
            line, text = reader.element(decoder)
            yield line, text
            sep = reader.peek()
            reader.pos += 1
            if sep == "]":
                break
            if sep != ",":
                reader.fail(f"expected ',' or ']' after element, found {sep or 'the end of the file'!r}")
    if reader.peek():
        reader.fail("content after the closing ']' of the array")


class _Buffer:
    """A growing window on a text file, with the line number of its start."""

    def __init__(self, f: io.TextIOBase, shown: Path) -> None:
        self.f, self.shown = f, shown
        self.text, self.pos, self.eof = "", 0, False
        self.line, self.mark = 1, 0  # the line number at position ``mark`` (counted once, incrementally)

    def line_at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.mark, pos)
        self.mark = pos
        return self.line

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.f.read(_CHUNK)
        except UnicodeDecodeError as exc:
            self.fail(f"not UTF-8 ({exc.reason})")
        if not chunk:
            self.eof = True
            return False
        if self.pos > _CHUNK:  # drop what was read; keep counting lines
            self.line_at(self.pos)
            self.text, self.pos, self.mark = self.text[self.pos:], 0, 0
        self.text += chunk
        return True

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end), moved to."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            self.fail(f"expected {char!r}")
        self.pos += 1

    def element(self, decoder: json.JSONDecoder) -> tuple[int, str]:
        self.peek()
        start = self.pos
        while True:
            try:
                _, end = decoder.raw_decode(self.text, start)
                break
            except RecursionError:
                self.fail("an element nested too deep to read")
            except ValueError as exc:
                if len(self.text) - start > MAX_LINE_BYTES or not self._more():
                    self.fail(f"an element that is not valid JSON ({str(exc).split(':')[0]})")
                start = self.pos  # _more may have moved the window
        line = self.line_at(start)
        text = self.text[start:end].replace("\r", " ").replace("\n", " ")
        self.pos = end
        return line, text

    def fail(self, message: str) -> NoReturn:
        line = self.line_at(max(self.mark, min(self.pos, len(self.text))))
        raise DataError(f"JSON array: {message}", path=self.shown, line=line, code="unsupported_container")


# --- CSV / TSV ---------------------------------------------------------------------------------------

def _from_csv(path: Path, shown: Path, delimiter: str) -> Source:
    kind = "TSV" if delimiter == "\t" else "CSV"
    copy = _Copy()
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            label = _csv_rows(f, shown, delimiter, kind, copy)
    except BaseException:
        copy.discard()
        raise
    return copy.source(shown, f"{kind} ({label} columns, one example per row)", numbered=True)


def _csv_rows(f: Iterable[str], shown: Path, delimiter: str, kind: str, copy: _Copy) -> str:
    csv.field_size_limit(MAX_LINE_BYTES)
    rows = csv.reader(f, delimiter=delimiter)
    line = 1
    try:
        header = next(rows, None)
        if header is None:
            return "no"
        columns = [c.strip() for c in header]
        layout = next(((keys, label) for needed, keys, label in CSV_LAYOUTS if needed <= set(columns)), None)
        if layout is None:
            expected = "; ".join(label for _, _, label in CSV_LAYOUTS)
            raise DataError(f"{kind} columns {', '.join(columns)[:200]} are none of the layouts read ({expected})",
                            path=shown, line=1, code="unsupported_container")
        keys, label = layout
        names = [keys.get(c, c) for c in columns]
        line = rows.line_num + 1
        for row in rows:
            if len(row) != len(names) and any(row):
                raise DataError(f"{kind} row has {len(row)} cells, the header {len(names)}", path=shown, line=line,
                                code="unsupported_container")
            # an empty row is a blank line of the copy: the reader reports it (blank_line) at its row
            copy.write(orjson.dumps(dict(zip(names, row, strict=True))) if any(row) else b"", line)
            line = rows.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{kind}: {exc}", path=shown, line=line, code="unsupported_container") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{kind}: not UTF-8 ({exc.reason})", path=shown, line=line,
                        code="unsupported_container") from None
    return label


# --- Parquet / Arrow (pyarrow) -----------------------------------------------------------------------

def _directory(path: Path) -> Source:
    """A folder written by ``datasets``' ``save_to_disk``: its Arrow files, in the saved order."""
    state = path / "state.json"
    if (path / "dataset_dict.json").exists():
        splits = sorted(p.name for p in path.iterdir() if (p / "state.json").exists())
        raise UsageError(f"a datasets DatasetDict with splits {', '.join(splits) or '(none)'}: give one split's "
                         f"folder, e.g. {path / (splits[0] if splits else 'train')}", path=path,
                         code="is_a_directory")
    if not state.exists():
        raise UsageError("is a directory, not a data file (or a folder saved by datasets' save_to_disk)",
                         path=path, code="is_a_directory")
    try:
        files = [path / entry["filename"] for entry in json.loads(state.read_text("utf-8"))["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"state.json of a saved dataset is unreadable ({exc})", path=state,
                        code="unsupported_container") from None
    return _from_table(path, files, "a datasets folder (save_to_disk)")


def _from_table(shown: Path, files: list[Path], kind: str) -> Source:
    batches = _record_batches(shown, files)
    copy = _Copy()
    try:
        for batch in batches:
            for row in batch.to_pylist():
                copy.write(orjson.dumps(_without_nulls(row), default=str, option=orjson.OPT_NON_STR_KEYS))
    except BaseException:
        copy.discard()
        raise
    return copy.source(shown, f"{kind}, one example per row", unit="row")


def _without_nulls(value: Any) -> Any:
    """A row with its null fields left out: a struct column has every field of every row, so a message
    without ``name`` comes back as ``"name": None`` (and ``"weight": None`` would be an invalid weight)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _record_batches(shown: Path, files: list[Path]) -> Iterator[Any]:
    try:
        import pyarrow as pa
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise UsageError(_ARROW_HINT, path=shown, code="missing_dependency") from None

    def batches() -> Iterator[Any]:
        for file in files:
            try:
                with file.open("rb") as f:
                    magic = f.read(6)
                if magic.startswith(PARQUET_MAGIC):
                    yield from pyarrow.parquet.ParquetFile(file).iter_batches(batch_size=1024)
                elif magic.startswith(ARROW_FILE_MAGIC):
                    reader = pyarrow.ipc.open_file(file)
                    yield from (reader.get_batch(i) for i in range(reader.num_record_batches))
                else:
                    yield from pyarrow.ipc.open_stream(file)
            except (OSError, pa.ArrowException) as exc:
                raise DataError(f"not a readable Parquet / Arrow file ({str(exc)[:200]})", path=file,
                                code="unsupported_container") from None

    return batches()
