"""Labelled data (text/label, pairs, ...) for the cost engine: ``estimate --task`` and ``compare``.

- ``estimate --task TASK``: the encoder fine-tune alone (``ftrouter.cost.encoder``) from the inputs'
  token counts (``data inspect``'s counts: o200k_base as the estimate), and serving it.
- ``compare`` on classification data (``classification``, ``pairs``, ``multi-label``): the LLM options
  are priced on the same examples as an LLM would be fine-tuned on them — one chat example per line, the
  input(s) as the user turn, the label(s) as the assistant's answer (``as_chat``), counted exactly per
  backend like any chat file —, and the encoder classifier is added beside them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftrouter.data.containers import Source, open_source
from ftrouter.data.labelled import TASK_FORMATS, LabelledExample
from ftrouter.errors import DataError, UsageError

if TYPE_CHECKING:
    from ftrouter.data.progress import Progress

COMPARE_FORMATS = ("classification", "pairs", "multi-label")  # an LLM can be fine-tuned to answer these


@dataclass
class LabelledCounts:
    path: str
    format: str
    examples: int
    tokens: list[int]  # per example: its input's tokens (the longest text; a pair together)
    counted_with: str

    @property
    def mean(self) -> float:
        return sum(self.tokens) / len(self.tokens)


def count_labelled(path: str | Path | Source, fmt: str = "auto", progress: Progress | None = None) -> LabelledCounts:
    """The file's per-example input tokens; the first error stops with FILE:LINE (exit 1). ``path`` may be an
    open ``Source`` (a container unpacked once for all the readers of one command)."""
    from ftrouter.data.labelled_inspect import inspect_labelled

    source = open_source(path)
    path = source.path
    report = inspect_labelled(source, fmt=fmt, progress=progress).train
    first = next((p for p in report.problems if p.severity == "error"), None)
    if report.errors:
        detail = f"{first.code}: {first.message}" if first else "see `ftrouter data inspect`"
        raise DataError(f"{report.errors} error(s) in the data; the first: {detail} (run `ftrouter data inspect "
                        f"{path}` for all)", path=str(path), line=first.line if first else None, code="invalid_data")
    if not report.lengths:
        raise DataError("no examples in the file", path=str(path), code="no_examples")
    how = report.tokenizer.get("encoding") or report.tokenizer.get("method") or "tiktoken"
    return LabelledCounts(str(path), report.format, report.examples, list(report.lengths),
                          f"{how} (proxy for the encoder's tokenizer)")


def task_format(task: str) -> str:
    if task not in TASK_FORMATS:
        raise UsageError(f"--task: {task!r} is not one of {', '.join(TASK_FORMATS)}", code="bad_option")
    return TASK_FORMATS[task]


def check_task_data(path: str | Path | Source, task: str) -> str:
    """The data format ``task`` trains on, after checking ``path`` holds it (exit 2 naming what it holds)."""
    from ftrouter.data.labelled import labelled_format

    wanted = task_format(task)
    source = open_source(path)
    found = labelled_format(source)
    if found != wanted:
        what = f"{found} data" if found else "chat data (no labelled format)"
        raise UsageError(f"--task {task} needs {wanted} data; this file holds {what}", path=str(source.path),
                         code="wrong_format")
    return wanted


def _chat(example: LabelledExample) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "\n\n".join(example.texts)},
                         {"role": "assistant", "content": ", ".join(example.labels)}]}


@contextmanager
def as_chat(path: str | Path | Source, fmt: str) -> Iterator[Path]:
    """The labelled file as the chat file an LLM fine-tune would train on, in a temporary file that is
    removed afterwards (lines with errors are left out: ``count_labelled`` refuses those first)."""
    from ftrouter.data.labelled import scan_labelled

    handle, name = tempfile.mkstemp(prefix="ftrouter-chat-", suffix=".jsonl")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            for record in scan_labelled(path, fmt):
                if record.example is not None:
                    f.write(json.dumps(_chat(record.example), ensure_ascii=False) + "\n")
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
