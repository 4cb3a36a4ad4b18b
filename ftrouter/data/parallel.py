"""Inspecting a big file on several cores: byte-range chunks in forked worker processes.

Tokenizing is CPU-bound and tiktoken holds the GIL for short strings, so threads do not help; forked
workers do. Each worker inspects the lines that start in its byte range (numbered from the count of
newlines before it) and returns its tally; the parent merges the tallies in file order, which gives
exactly the report a single pass gives (duplicates across chunks included).

Used only where it is safe and worth it: a file of at least ``PARALLEL_MIN_BYTES``, more than one
usable core, the ``fork`` start method, a counter that is safe to fork (tiktoken or the Gemini
estimate, not a Hugging Face tokenizer), and a single-threaded caller (forking a process that runs
other threads can deadlock). ``FTROUTER_DATA_WORKERS=1`` turns it off.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftrouter.data.lines import whole_file_problem
from ftrouter.data.progress import Progress

if TYPE_CHECKING:
    from ftrouter.data.inspect import ExampleCheck, Inspector
    from ftrouter.data.reader import FileScan
    from ftrouter.data.tokens import TokenCounter

# map(function, items) -> the results in order: the builtin, or a pool's
Mapper = Callable[[Callable[[tuple[int, int]], int], list[tuple[int, int]]], Iterable[int]]

PARALLEL_MIN_BYTES = 32 * 1024 * 1024
CHUNKS_PER_WORKER = 4
_BLOCK = 8 * 1024 * 1024

# what the forked workers inspect; set by the parent just before forking
_job: tuple[FileScan, TokenCounter, ExampleCheck | None] | None = None


def worker_count() -> int:
    configured = os.environ.get("FTROUTER_DATA_WORKERS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, 8)


def can_parallelize(path: Path, counter: TokenCounter) -> bool:
    return (getattr(counter, "fork_safe", False) and worker_count() > 1
            and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and path.stat().st_size >= PARALLEL_MIN_BYTES and whole_file_problem(path) is None)


def _next_line_start(f: Any, offset: int) -> int:
    f.seek(offset)
    while True:  # read the rest of the current line in blocks: it may be huge
        chunk = f.readline(_BLOCK)
        if not chunk or chunk.endswith(b"\n"):
            return int(f.tell())


def count_newlines(byte_range: tuple[int, int], path: Path) -> int:
    """Newlines in the byte range [start, end) of ``path``."""
    start, end = byte_range
    lines = 0
    with path.open("rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            block = f.read(min(_BLOCK, left))
            if not block:
                break
            lines += block.count(b"\n")
            left -= len(block)
    return lines


def plan_chunks(path: Path, chunks: int, mapper: Mapper = map) -> list[tuple[int, int, int]]:
    """(start, end, first line number) of ``chunks`` byte ranges that each begin at a line start.

    Numbering a chunk's first line means counting the newlines before it, a pass over the whole file;
    ``mapper`` (a worker pool's ``map``) lets the workers count their ranges at the same time instead of
    one process reading the file alone while they wait."""
    size = path.stat().st_size
    with path.open("rb") as f:
        starts = sorted({0, *(_next_line_start(f, size * i // chunks) for i in range(1, chunks))})
    starts = [s for s in starts if s < size]
    ranges = list(itertools.pairwise([*starts, size]))
    newlines = mapper(functools.partial(count_newlines, path=path), ranges)
    first_lines = itertools.accumulate(newlines, initial=1)
    return [(start, end, line) for (start, end), line in zip(ranges, first_lines, strict=False)]


def _inspect_chunk(chunk: tuple[int, int, int]) -> dict[str, Any]:
    from ftrouter.data.inspect import Inspector

    assert _job is not None, "worker started without a job"
    scan, counter, check = _job
    inspector = Inspector(counter, check)
    for record in scan.records_between(*chunk):
        inspector.add(record)
    return inspector.state()


def inspect_in_parallel(scan: FileScan, inspector: Inspector, *, progress: Progress | None = None) -> None:
    """Fill ``inspector`` from ``scan`` using forked workers (see the module docstring). ``progress`` gets
    (end of the chunk, file size) as each chunk is merged, in file order."""
    global _job
    workers = worker_count()
    size = scan.jsonl.stat().st_size
    if progress is not None:
        progress(0, size)
    _job = (scan, inspector.counter, inspector.check)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            plan = plan_chunks(scan.jsonl, workers * CHUNKS_PER_WORKER, pool.map)
            for (_start, end, _line), state in zip(plan, pool.imap(_inspect_chunk, plan), strict=True):
                inspector.absorb(state)
                if progress is not None:
                    progress(end, size)
    finally:
        _job = None
    if progress is not None and not plan:  # the chunks' last end is the size: reported above
        progress(size, size)
