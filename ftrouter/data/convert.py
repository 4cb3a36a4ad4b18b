"""Writing canonical examples in any format (``write_examples``) and converting files (``convert_file``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ftrouter.data.atomic import atomic_writer, check_output_path
from ftrouter.data.canonical import Example
from ftrouter.data.formats import Notes, get_format
from ftrouter.data.formats.toolcalls import GENERATED_IDS_NOTE
from ftrouter.data.progress import Progress
from ftrouter.data.reader import FileScan, read_examples
from ftrouter.errors import DataError


@dataclass
class ConversionResult:
    """``examples`` written; ``dropped``: one human line per kind of information that could not be carried."""

    examples: int
    dropped: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)  # what had to be made up, e.g. generated tool-call ids
    skipped: int = 0
    source_format: str | None = None
    target_format: str = ""
    path: str = ""
    source_container: str = "JSON Lines"

    def to_json(self) -> dict[str, Any]:
        return {"examples": self.examples, "skipped": self.skipped, "dropped": self.dropped, "assumed": self.assumed,
                "source_format": self.source_format, "source_container": self.source_container,
                "target_format": self.target_format, "path": self.path}


def _dumps(obj: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(obj)
    except TypeError:  # e.g. integers beyond 64 bits kept in metadata
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_examples(examples: Iterable[Example], dst: str | Path, to: str, *,
                   keep_meta: bool = False, inputs: Iterable[str | Path] = ()) -> ConversionResult:
    """Write ``examples`` to ``dst`` in format ``to`` (atomically). Examples the format cannot hold are
    skipped and reported in ``dropped``; raises DataError when none could be written.

    ``keep_meta`` writes each example's extra top-level fields back (providers may reject unknown keys, so
    the default is to leave them out, and say so). ``inputs``: files ``dst`` must not be (see
    ``ftrouter.data.atomic`` for what happens with links and special files).
    """
    fmt = get_format(to)
    notes = Notes()
    written = skipped = 0
    with atomic_writer(dst, inputs=inputs) as out:
        for example in examples:
            obj = fmt.dump(example, notes)
            if obj is None:
                skipped += 1
                continue
            if example.generated_call_ids and fmt.carries_call_ids:
                notes.assume(GENERATED_IDS_NOTE)
            if example.meta:
                if keep_meta:
                    obj = {**example.meta, **obj}
                else:
                    notes.add(f"extra top-level fields dropped ({', '.join(sorted(example.meta))[:60]})")
            out.write(_dumps(obj))
            out.write(b"\n")
            written += 1
        if written == 0:
            raise DataError(f"no example could be written as {fmt.name}: {'; '.join(notes.lines()) or 'no input'}",
                            path=dst, code="nothing_to_write")
    return ConversionResult(written, notes.lines(), assumed=notes.assumed(), skipped=skipped, target_format=fmt.name,
                            path=str(dst))


def convert_file(src: str | Path, dst: str | Path, to: str, *, fmt: str = "auto", keep_meta: bool = False,
                 progress: Progress | None = None) -> ConversionResult:
    """Convert ``src`` to format ``to`` at ``dst``. The source must be free of errors (the first one raises
    DataError with its line); nothing is left at ``dst`` on failure. ``progress`` gets (bytes of ``src``
    read, its size)."""
    get_format(to)  # an unknown target is a usage error before anything is read
    check_output_path(dst, inputs=[src])  # -o equal to the input would destroy it: refused before reading
    scan = FileScan(src, fmt)  # read once: a pipe can be read only once, a container is unpacked once
    result = write_examples(read_examples(scan, progress=progress), dst, to, keep_meta=keep_meta, inputs=[src])
    result.source_format = scan.format
    result.source_container = scan.container
    return result


def convert_for_upload(data: str | Path, val: str | Path | None, folder: Path, to: str, *,
                       name: str = "{role}.jsonl", max_bytes: int | None = None,
                       limit: str = "too large to upload") -> dict[str, Path]:
    """What a managed backend's ``prepare`` sends: the training file (and the validation file, if any)
    converted to ``to`` in the job's ``folder``, as ``{"train": path, "val": path}``. A converted file
    over ``max_bytes`` is a DataError on its source file (``limit`` says what the provider takes)."""
    sources = {"train": data, **({"val": val} if val else {})}
    files = {role: folder / name.format(role=role) for role in sources}
    for role, source in sources.items():
        convert_file(source, files[role], to=to)
        size = files[role].stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DataError(f"the converted {role} file is {size / 2**20:,.0f} MiB; {limit}", path=source,
                            code="file_too_large")
    return files
