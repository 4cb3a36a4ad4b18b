"""Writing output files (``-o``) safely, all-or-nothing where the target allows it.

A regular file is written into a temporary file beside it and renamed over it on success: a failure
part-way (bad input found late, disk full, Ctrl-C) leaves the old target untouched and no temporary
file behind. Every command with ``-o`` goes through ``check_output_path`` and ``atomic_writer``, which
also guarantee:

- the output is never one of the command's inputs (exit 2, before anything is read or written);
- a symbolic link is written through: its target is replaced, the link stays a link;
- a device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe) is written in place, never
  renamed over (a rename would turn ``/dev/null`` into a regular file); such a write cannot be undone.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ftrouter.errors import UsageError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def is_special(path: Path) -> bool:
    """True when ``path`` (through links) exists and is not a regular file or a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_output_path(path: str | Path, *, inputs: Iterable[str | Path | None] = ()) -> Path:
    """A usable output file path, or a usage error (exit 2): a folder, a missing parent folder, or the
    same file as one of ``inputs`` (writing it would destroy the input)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError("is a directory; give an output file name", path=p, code="is_a_directory")
    if not p.parent.exists():
        raise UsageError(f"the folder {str(p.parent)!r} does not exist", path=p, code="file_not_found")
    for source in inputs:
        if source is not None and _same_file(p, Path(source)):
            raise UsageError("is also the input: writing it would destroy the input (choose another output)",
                             path=p, code="output_is_input")
    return p


@contextmanager
def atomic_writer(path: str | Path, *, inputs: Iterable[str | Path | None] = ()) -> Iterator[BinaryIO]:
    """Yield a binary file; it replaces ``path`` only if the block finishes without an exception.
    Special files are written in place (see the module docstring)."""
    target = check_output_path(path, inputs=inputs)
    if is_special(target):
        with target.open("wb") as f:
            yield f
        return
    real = Path(os.path.realpath(target))  # through symbolic links: the link itself stays
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
