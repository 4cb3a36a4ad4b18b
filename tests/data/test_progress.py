"""The engine's progress callback: (bytes done, bytes in all), never going down, ending at the total."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ftrouter.data import convert_file, inspect_file, split_file, validate_file
from ftrouter.data import lines as lines_mod
from ftrouter.data import parallel as parallel_mod
from ftrouter.data.progress import shifted

from .helpers import chat

MODEL = "gpt-4.1-mini-2025-04-14"


def _write(path: Path, n: int = 400) -> Path:
    import json

    rows = [json.dumps(chat(user=f"question {i}", answer="an answer " * (i % 9 + 1))) for i in range(n)]
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def _check(calls: list[tuple[int, int]], total: int) -> None:
    assert calls, "the callback was never called"
    done = [d for d, _ in calls]
    assert done == sorted(done), f"bytes done went down: {done}"
    assert all(t == total for _, t in calls), calls
    assert calls[-1] == (total, total)


def test_sequential_read_reports_every_few_bytes_up_to_the_size(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "train.jsonl")
    size = path.stat().st_size
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "1")
    monkeypatch.setattr(lines_mod, "REPORT_EVERY", 1000)
    calls: list[tuple[int, int]] = []
    report = inspect_file(path, model=MODEL, progress=lambda d, t: calls.append((d, t)))
    _check(calls, size)
    assert size // 2000 <= len(calls) <= size // 1000 + 2 < 400 // 4  # every 1000 bytes or so, not every line
    assert report.to_json() == inspect_file(path, model=MODEL).to_json()


def test_parallel_read_reports_once_per_finished_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if threading.active_count() > 1:  # ftrouter does not fork a process running other threads
        pytest.skip("the test process runs other threads")
    path = _write(tmp_path / "train.jsonl")
    size = path.stat().st_size
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "2")
    monkeypatch.setattr(parallel_mod, "PARALLEL_MIN_BYTES", 0)
    plans: list[list[tuple[int, int, int]]] = []
    real = parallel_mod.plan_chunks
    monkeypatch.setattr(parallel_mod, "plan_chunks", lambda p, n, *rest: plans.append(real(p, n, *rest)) or plans[-1])
    calls: list[tuple[int, int]] = []
    inspect_file(path, model=MODEL, progress=lambda d, t: calls.append((d, t)))
    assert len(plans) == 1, "the parallel path was not taken"
    _check(calls, size)
    assert [d for d, _ in calls] == [0, *(end for _, end, _ in plans[0])]


def test_unusable_file_still_ends_at_its_size(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\x00\x01" * 100)
    calls: list[tuple[int, int]] = []
    inspect_file(path, progress=lambda d, t: calls.append((d, t)))
    _check(calls, 200)


def test_validate_counts_the_validation_file_after_the_training_file(tmp_path: Path) -> None:
    train, val = _write(tmp_path / "train.jsonl"), _write(tmp_path / "val.jsonl", 30)
    total = train.stat().st_size + val.stat().st_size
    calls: list[tuple[int, int]] = []
    validate_file(train, backend="openai", val_path=val, progress=lambda d, t: calls.append((d, t)))
    _check(calls, total)
    assert (train.stat().st_size, total) in calls


def test_split_reads_the_file_twice(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.jsonl")
    calls: list[tuple[int, int]] = []
    split_file(path, tmp_path / "out", val=0.2, progress=lambda d, t: calls.append((d, t)))
    _check(calls, 2 * path.stat().st_size)


def test_convert_reports_the_source(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.jsonl")
    calls: list[tuple[int, int]] = []
    convert_file(path, tmp_path / "out.jsonl", "gemini", progress=lambda d, t: calls.append((d, t)))
    _check(calls, path.stat().st_size)


def test_shifted_places_one_pass_among_several() -> None:
    calls: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        calls.append((done, total))

    first, second = shifted(record, 0, 10), shifted(record, 10, 0)
    assert first is not None and second is not None and shifted(None, 1, 2) is None
    first(4, 10)
    second(10, 10)
    assert calls == [(4, 20), (20, 20)]
