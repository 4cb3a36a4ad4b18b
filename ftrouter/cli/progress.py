"""The progress bar of long data work (``data inspect | validate | convert | split``, ``estimate``,
``compare``, ``advise --data``): on stderr, only when stderr is a terminal and the input is big.

Used as ``with data_progress("inspecting", file) as progress: inspect_file(file, progress=progress)``:
``progress`` is None (and nothing is drawn, nothing imported) for a small file or when stderr is a pipe,
a file or CI's log, so stdout is the same byte for byte with or without a terminal. rich is imported
only when a bar is drawn, which keeps ``ftrouter --help`` and small files fast.

The bar refreshes only when the engine reports (every few MB, or per finished chunk of a parallel
read): no refresh thread, because the parallel reader forks only a single-threaded process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ftrouter.data.progress import Progress

MIN_BYTES = 20 * 1024 * 1024  # smaller inputs take about a second or less: no bar
REFRESH_SECONDS = 0.1


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:  # the engine reports a missing file properly
        return 0


def wants_bar(stream: TextIO, total_bytes: int, min_bytes: int | None = None) -> bool:
    """Whether to draw a bar on ``stream`` for work over ``total_bytes``: a terminal and enough bytes
    (``MIN_BYTES`` unless ``min_bytes`` is given)."""
    if total_bytes < (MIN_BYTES if min_bytes is None else min_bytes):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


@contextmanager
def data_progress(description: str, *paths: Path | None, stream: TextIO | None = None,
                  min_bytes: int | None = None) -> Iterator[Progress | None]:
    """A callback drawing a bar of bytes read (``ftrouter.data.progress``) on ``stream`` (stderr), or None
    when no bar is wanted (see ``wants_bar``; ``paths`` are the inputs, None ones ignored). The bar is
    removed when the work ends, successfully or not."""
    out = stream if stream is not None else sys.stderr
    total = sum(_size(p) for p in paths)
    if not wants_bar(out, total, min_bytes):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ftrouter.cli.console import make_console

    # The description can hold a file name: shown as it is, never as markup.
    columns = (TextColumn("{task.description}", markup=False), BarColumn(bar_width=None), DownloadColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=make_console(file=out), auto_refresh=False, transient=True, expand=True,
                  redirect_stdout=False, redirect_stderr=False) as bar:
        task = bar.add_task(description, total=total)
        last = 0.0

        def report(done: int, total: int) -> None:
            nonlocal last
            bar.update(task, completed=done, total=total)
            now = time.monotonic()
            if now - last >= REFRESH_SECONDS or done >= total:
                last = now
                bar.refresh()

        yield report
