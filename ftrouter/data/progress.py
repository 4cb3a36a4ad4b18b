"""Progress of a long read: an optional callback the engine calls with (bytes done, bytes in all).

The engine's public functions take ``progress: Progress | None = None``. It is called every
``REPORT_EVERY`` bytes on a sequential read (a comparison per line, nothing more), once per finished
chunk on the parallel path, and once at the end with ``done == total``; ``done`` never goes down.
``total`` is the bytes the whole call reads: the file's size for ``inspect_file`` and ``convert_file``,
train plus validation file for ``validate_file``, twice the size for ``split_file`` (two passes).
Nothing here knows about terminals; the CLI draws the bar (``ftrouter.cli.progress``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[int, int], None]

REPORT_EVERY = 4 * 1024 * 1024


def file_size(path: str | Path | None) -> int:
    """The size of ``path`` in bytes; 0 when there is no such file (its reader reports that properly)."""
    if path is None:
        return 0
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def shifted(progress: Progress | None, before: int, after: int) -> Progress | None:
    """The callback for one pass of several: ``before`` bytes were read by the earlier passes and ``after``
    are left for the later ones, so the caller sees one count over the whole call."""
    if progress is None:
        return None
    report = progress

    def pass_progress(done: int, total: int) -> None:
        report(before + done, before + total + after)

    return pass_progress
