"""``split_file``: deterministic train / validation / test splits that keep duplicates together.

Two streaming passes. The first reads every example and groups exact and near-duplicates (``leakage.near_key``:
equal up to case, whitespace and punctuation, so a split never leaks what ``data validate --val`` flags); the
groups, in order of first appearance, are shuffled with ``random.Random(seed)`` inside each stratum and
dealt to test, then validation, until each split holds its share of the stratum's examples. The second
pass copies the original lines, byte for byte, into the split files (written atomically). The same file,
fractions and seed always give the same split, on any machine.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ftrouter.data.atomic import check_output_path, is_special
from ftrouter.data.canonical import Problem
from ftrouter.data.leakage import near_key
from ftrouter.data.lines import iter_raw_lines
from ftrouter.data.progress import Progress, file_size, shifted
from ftrouter.data.reader import FileScan
from ftrouter.errors import DataError, UsageError

SPLITS = ("train", "val", "test")
_MISSING = "(missing)"


@dataclass
class SplitResult:
    counts: dict[str, int]
    files: dict[str, str]
    groups: int
    seed: int
    strata: dict[str, dict[str, int]] = field(default_factory=dict)  # stratum -> split -> examples

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "files": self.files, "groups": self.groups, "seed": self.seed,
                "strata": self.strata}


def _stratum_of(meta: dict[str, Any], stratify: str | None) -> str:
    if stratify is None:
        return ""
    if stratify not in meta:
        return _MISSING
    value = meta[stratify]
    return value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@dataclass
class _Groups:
    """Duplicate groups in order of first appearance, and the group of every example line."""

    index_of: dict[int, int] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    stratum: list[str] = field(default_factory=list)
    of_line: array = field(default_factory=lambda: array("L"))  # group per example, in file order

    def add(self, key: int, stratum: str) -> None:
        group = self.index_of.setdefault(key, len(self.sizes))
        if group == len(self.sizes):
            self.sizes.append(0)
            self.stratum.append(stratum)
        self.sizes[group] += 1
        self.of_line.append(group)


def _keyed(scan: FileScan, fmt: str, progress: Progress | None) -> Iterator[tuple[list[Problem], int | None,
                                                                              dict[str, Any]]]:
    """(problems, grouping key or None, top-level fields) of every line; labelled data (classification,
    token classification...) has its own reader, whose label fields are strata like any other field.
    Chat examples group by their near-duplicate key, so copies that differ in case or punctuation land
    in the same split."""
    from ftrouter.data.labelled import labelled_format, scan_labelled

    labelled = labelled_format(scan, fmt)
    if labelled is not None:
        for item in scan_labelled(scan.source, labelled, progress):
            ex = item.example
            yield item.problems, ex.key() if ex else None, ex.fields(labelled) if ex else {}
        return
    for record in scan.records(progress):
        example = record.example
        yield record.problems, near_key(example) if example else None, example.meta if example else {}


def _collect(scan: FileScan, fmt: str, stratify: str | None, progress: Progress | None = None) -> _Groups:
    groups = _Groups()
    path = scan.path
    for problems, key, fields in _keyed(scan, fmt, progress):
        error = next((p for p in problems if p.severity == "error"), None)
        if error is not None:
            raise DataError(f"{error.message} (fix or remove the line before splitting)", path=path,
                            line=error.line, code=error.code)
        if key is not None:
            groups.add(key, _stratum_of(fields, stratify))
    if not groups.sizes:
        raise DataError("the file holds no example", path=path, code="empty_file")
    if stratify is not None and set(groups.stratum) == {_MISSING}:
        raise UsageError(f"no example has a top-level field {stratify!r} to stratify on", path=path)
    return groups


def _quotas(sizes: dict[str, int], fraction: float) -> dict[str, int]:
    """Each stratum's share of ``fraction``, adding up to the file's share (largest remainders get the rest):
    rounding every small stratum on its own would turn a 10% test split of 4-example strata into nothing."""
    exact = {stratum: fraction * size for stratum, size in sizes.items()}
    quotas = {stratum: int(share) for stratum, share in exact.items()}
    left = round(fraction * sum(sizes.values())) - sum(quotas.values())
    for stratum in sorted(exact, key=lambda s: (quotas[s] - exact[s], s))[:max(left, 0)]:
        quotas[stratum] += 1
    return quotas


def _assign(groups: _Groups, val: float, test: float, seed: int) -> list[int]:
    """The split (0 train, 1 val, 2 test) of every group."""
    rng = random.Random(seed)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for group, stratum in enumerate(groups.stratum):
        by_stratum[stratum].append(group)
    sizes = {stratum: sum(groups.sizes[g] for g in members) for stratum, members in by_stratum.items()}
    test_quotas, val_quotas = _quotas(sizes, test), _quotas(sizes, val)
    split_of = [0] * len(groups.sizes)
    for stratum in sorted(by_stratum):
        members = by_stratum[stratum]
        rng.shuffle(members)
        targets = {2: test_quotas[stratum], 1: val_quotas[stratum]}
        filled = {1: 0, 2: 0}
        for group in members:
            split = next((s for s in (2, 1) if filled[s] < targets[s]), 0)
            split_of[group] = split
            if split:
                filled[split] += groups.sizes[group]
    return split_of


def _check_fractions(val: float, test: float) -> None:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise UsageError(f"--val {val} and --test {test} must be fractions in [0, 1) that add up to less than 1")


def _check_split_files(out: Path, names: list[str], src: Path) -> None:
    """The split files may replace regular files only, never the input (the shared -o rules of
    ``ftrouter.data.atomic``; a link or special file is refused: three files are renamed into place)."""
    if not out.is_dir():
        return  # created by the split: nothing to replace
    for name in names:
        target = out / f"{name}.jsonl"
        if target.exists() and os.path.samefile(target, src):
            raise UsageError(f"the output folder holds the input file itself: {src.name} would be replaced "
                             "by a split (choose another -o folder)", path=out, code="output_is_input")
        check_output_path(target, inputs=[src])
        if target.is_symlink() or is_special(target):
            raise UsageError("is not a regular file: split writes regular files only (remove it or choose "
                             "another -o folder)", path=target, code="not_a_regular_file")


def split_file(src: str | Path, out_dir: str | Path, *, val: float = 0.1, test: float = 0.0, seed: int = 0,
               stratify: str | None = None, fmt: str = "auto", progress: Progress | None = None) -> SplitResult:
    """Split ``src`` into ``out_dir``/train.jsonl, val.jsonl (and test.jsonl when ``test`` > 0).

    ``progress`` gets (bytes read, twice the size): the file is read twice (group, then copy).
    """
    _check_fractions(val, test)
    from ftrouter.data.labelled import LABELLED_FORMATS

    # usage errors (missing file, unknown format) before anything is written
    scan = FileScan(src, "auto" if fmt in LABELLED_FORMATS else fmt)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError("is a file, not a folder", path=out, code="not_a_directory")
    names = [s for s in SPLITS if s != "test" or test > 0]
    _check_split_files(out, names, scan.path)
    size = file_size(scan.jsonl) if progress is not None else 0
    groups = _collect(scan, fmt, stratify, shifted(progress, 0, size))
    split_of = _assign(groups, val, test, seed)
    out.mkdir(parents=True, exist_ok=True)
    counts = _write(scan.jsonl, out, names, [split_of[g] for g in groups.of_line], shifted(progress, size, 0))
    strata: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    if stratify is not None:
        for group, stratum in enumerate(groups.stratum):
            strata[stratum][SPLITS[split_of[group]]] += groups.sizes[group]
    return SplitResult(counts=counts, files={n: str(out / f"{n}.jsonl") for n in names}, groups=len(groups.sizes),
                       seed=seed, strata=dict(strata))


def _write(src: Path, out: Path, names: list[str], split_of_example: list[int],
           progress: Progress | None = None) -> dict[str, int]:
    """Copy each example's original line into its split's file; all files appear together or none."""
    temps: dict[str, str] = {}
    handles: dict[int, BinaryIO] = {}
    counts = dict.fromkeys(names, 0)
    try:
        for index, name in enumerate(names):
            fd, temps[name] = tempfile.mkstemp(prefix=f".{name}.", suffix=".jsonl.tmp", dir=out)
            handles[index] = os.fdopen(fd, "wb")
        examples = (raw for raw in iter_raw_lines(src, progress=progress) if raw.data is not None)
        for raw, split in zip(examples, split_of_example, strict=True):
            handles[split].write(raw.data or b"")
            handles[split].write(b"\n")
            counts[SPLITS[split]] += 1
        for handle in handles.values():
            handle.close()
        for name, tmp in temps.items():
            os.replace(tmp, out / f"{name}.jsonl")
    except BaseException:
        for handle in handles.values():
            handle.close()
        for tmp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    return counts
