"""inspect_file: the report's figures, its JSON keys, and the parallel path giving the same report."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ftrouter.data import inspect_file
from ftrouter.data import parallel as parallel_mod
from ftrouter.data.inspect import TokenStats

from .helpers import chat


def test_json_has_the_issue_keys(examples_dir: Path) -> None:
    data = inspect_file(examples_dir / "chat.jsonl", model="gpt-4.1-mini-2025-04-14").to_json()
    for key in ("format", "examples", "tokens", "assistant_tokens", "over_limit", "duplicates", "problems"):
        assert key in data
    assert set(data["tokens"]) == {"total", "min", "max", "mean", "p50", "p95"}
    assert data["format"] == "openai" and data["examples"] == 12
    assert data["token_limit"] == 65536 and data["has_system_share"] == 1.0
    assert data["tokenizer"] == {"method": "tiktoken", "encoding": "o200k_base", "exact": True,
                                 "model": "gpt-4.1-mini-2025-04-14"}


def test_figures(write_jsonl) -> None:
    rows = [chat(system="S"), chat(user="a longer question here"), chat(system="S")]
    report = inspect_file(write_jsonl(rows))
    assert report.examples == 3 and report.duplicates == 1
    assert report.has_system_share == pytest.approx(2 / 3, abs=1e-3)
    assert report.messages == {"min": 2, "max": 3, "mean": 2.67}
    assert report.tokens.total == sum(report.example_tokens)
    assert report.tokens.max == max(report.example_tokens)
    assert report.kinds == {"sft": 3}
    assert report.errors == 0 and report.warnings == 1


def test_percentiles_are_nearest_rank() -> None:
    stats = TokenStats.of(list(range(1, 101)))
    assert (stats.min, stats.p50, stats.p95, stats.max, stats.mean, stats.total) == (1, 50, 95, 100, 50.5, 5050)
    assert TokenStats.of([]).total == 0


def test_problem_list_is_capped_but_counts_stay_complete(write_jsonl, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.data import inspect as inspect_mod

    monkeypatch.setattr(inspect_mod, "MAX_LISTED_PROBLEMS", 3)
    report = inspect_file(write_jsonl(["bad"] * 10))
    assert len(report.problems) == 3
    assert report.problem_counts == {"invalid_json": 10}
    assert report.errors == 10 and report.problems_not_listed == 7


def test_parallel_inspection_gives_the_same_report(write_jsonl, monkeypatch: pytest.MonkeyPatch) -> None:
    if threading.active_count() > 1:  # an earlier test left a thread running: ftrouter will not fork then
        pytest.skip("the test process runs other threads")
    rows: list[object] = []
    for i in range(300):
        rows.append(chat(user=f"question {i % 120}", system="You are helpful.", id=i))
        if i % 37 == 0:
            rows.append("{broken")
        if i % 53 == 0:
            rows.append("")
    path = write_jsonl(rows)
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "1")
    sequential = inspect_file(path, model="gpt-4.1-mini-2025-04-14")
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "3")
    monkeypatch.setattr(parallel_mod, "PARALLEL_MIN_BYTES", 0)
    used: list[int] = []
    real = parallel_mod.plan_chunks
    monkeypatch.setattr(parallel_mod, "plan_chunks", lambda p, n, *rest: used.append(n) or real(p, n, *rest))
    parallel = inspect_file(path, model="gpt-4.1-mini-2025-04-14")
    assert used == [12]
    assert parallel.to_json() == sequential.to_json()
    assert parallel.example_tokens == sequential.example_tokens
    assert sequential.duplicates == 180


def test_chunks_start_at_line_starts_and_know_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"".join(b"x" * (i % 7) + b"\n" for i in range(1000)))
    plan = parallel_mod.plan_chunks(path, 7)
    data = path.read_bytes()
    assert plan[0][:1] == (0,) and plan[-1][1] == len(data)
    for start, end, first_line in plan:
        assert start == 0 or data[start - 1:start] == b"\n"
        assert data[:start].count(b"\n") + 1 == first_line
        assert end > start


@pytest.mark.parametrize(("head", "code"), [(b"\x00\x01binary", "binary_file"),
                                            (b"\xff\xfe{\x00", "invalid_utf8")])
def test_big_unusable_file_gets_one_whole_file_problem_on_the_parallel_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: bytes, code: str) -> None:
    if threading.active_count() > 1:
        pytest.skip("the test process runs other threads")
    path = tmp_path / "big.jsonl"
    path.write_bytes(head + b"\n".join(b"x\x00y" * 50 for _ in range(200)))
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "3")
    monkeypatch.setattr(parallel_mod, "PARALLEL_MIN_BYTES", 0)
    report = inspect_file(path)
    assert report.problem_counts == {code: 1}
    assert report.errors == 1
