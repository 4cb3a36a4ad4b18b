"""Writing output files all-or-nothing: into a temporary file beside the target, renamed on success.

A failure part-way (bad input found late, disk full, Ctrl-C) leaves the old target untouched and no
temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ftrouter.errors import UsageError


def check_output_path(path: str | Path) -> Path:
    """A usable output file path, or a usage error (exit 2)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError("is a directory; give an output file name", path=p, code="is_a_directory")
    if not p.parent.exists():
        raise UsageError(f"the folder {str(p.parent)!r} does not exist", path=p, code="file_not_found")
    return p


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file; it replaces ``path`` only if the block finishes without an exception."""
    target = check_output_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
