"""The one place CLI consoles are made.

Everything ftrouter prints can carry user-derived text: file names, dataset content, provider messages,
model output. rich would read ``[bold]`` in such text as markup (and drop or mangle it) and ``:100:`` as an
emoji shortcode (``file.jsonl:100: error`` printed as ``file.jsonl💯 error``), breaking the promised
``FILE:LINE:`` format. So every console here has markup, emoji and highlighting off; styling is applied
with ``style=`` or ``rich.text.Text``, never by writing markup into strings.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

# Piped output has no terminal width; rich would assume 80 columns and fold tables into unreadable slivers.
PIPED_WIDTH = 160


def make_console(*, stderr: bool = False, file: TextIO | None = None, soft_wrap: bool = False) -> Console:
    """A console that never interprets the text it prints; wide when the stream is not a terminal (unless
    COLUMNS says otherwise)."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError, OSError):
        interactive = False
    width = None if interactive or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(file=file, stderr=stderr, width=width, soft_wrap=soft_wrap,
                   markup=False, emoji=False, highlight=False)
