"""Leakage: a validation file that copies training examples fails validate and submit (exit 1) with the
count and the first FILE:LINE pairs; near-duplicates (equal up to case, whitespace, punctuation) warn; split
keeps near-duplicates in one split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run_cli

from ftrouter.data import read_examples, split_file, validate_file
from ftrouter.data.leakage import near_key

from .helpers import chat


def _rows(n: int, start: int = 0) -> list[dict[str, object]]:
    return [chat(user=f"Question number {i}?", answer=f"Answer {i}.") for i in range(start, start + n)]


@pytest.fixture
def leaky(write_jsonl) -> tuple[Path, Path]:
    train = write_jsonl(_rows(30), name="train.jsonl")
    # lines 1, 3, 4 copy train lines 6, 8, 21; line 2 is new
    val = write_jsonl([_rows(1, 5)[0], _rows(1, 100)[0], _rows(1, 7)[0], _rows(1, 20)[0]], name="val.jsonl")
    return train, val


def test_exact_copies_are_one_error_with_count_and_pairs(leaky: tuple[Path, Path]) -> None:
    train, val = leaky
    report = validate_file(train, backend="openai", val_path=val)
    [(path, problem)] = report.entries
    assert (path, problem.code, problem.severity, problem.line) == (str(val), "train_val_overlap", "error", 1)
    assert problem.message.startswith("3 validation example(s) are exact copies")
    assert f"{val}:1 = {train}:6, {val}:3 = {train}:8, {val}:4 = {train}:21" in problem.message


def test_validate_and_submit_exit_1_on_leakage(leaky: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train, val = leaky
    code, out, _ = run_cli(capsys, "data", "validate", str(train), "--backend", "openai", "--val", str(val))
    assert code == 1 and f"{val}:1: error: train_val_overlap: 3 validation example(s)" in out, out
    code, _, err = run_cli(capsys, "submit", "--backend", "openai", "--model", "gpt-4.1-mini-2025-04-14", "--data",
                           str(train), "--val", str(val), "--dry-run")
    assert code == 1 and "train_val_overlap" in err and f"{val}:3 = {train}:8" in err, err


def test_many_copies_list_the_first_five(write_jsonl) -> None:
    train = write_jsonl(_rows(30))
    val = write_jsonl(_rows(8))
    [(_, problem)] = validate_file(train, backend="openai", val_path=val).entries
    assert problem.message.count(" = ") == 5 and problem.message.endswith(", ... (3 more)")


def test_near_duplicates_are_a_warning(write_jsonl) -> None:
    train = write_jsonl(_rows(30))
    near = chat(user="  QUESTION number 4 ", answer="answer 4!")
    val = write_jsonl([near, *_rows(2, 200)])
    report = validate_file(train, backend="openai", val_path=val)
    [(_, problem)] = report.entries
    assert (problem.code, problem.severity, problem.line) == ("train_val_near_duplicate", "warning", 1)
    assert f"{val}:1 = {train}:5" in problem.message and report.ok


def test_near_key_ignores_case_space_punctuation_only() -> None:
    from ftrouter.data.canonical import Example, Message

    def ex(user: str, answer: str = "Fine.") -> Example:
        return Example([Message("user", user), Message("assistant", answer)])

    assert near_key(ex("How are you?")) == near_key(ex("how  are YOU")) == near_key(ex("How are you ?!"))
    assert near_key(ex("How are you?")) != near_key(ex("How old are you?"))
    assert near_key(ex("How are you?")) != near_key(ex("How are you?", "Great."))


def test_split_keeps_near_duplicates_together(write_jsonl, tmp_path: Path) -> None:
    rows = _rows(40) + [chat(user="question NUMBER 3", answer="answer 3")] * 1 + \
        [chat(user="Question number 3 ?", answer="Answer 3")]
    src = write_jsonl(rows)
    for seed in range(5):
        out = tmp_path / f"s{seed}"
        split_file(src, out, val=0.3, seed=seed)
        report = validate_file(out / "train.jsonl", backend="local", val_path=out / "val.jsonl")
        assert not any(p.code.startswith("train_val") for p in report.problems), report.rendered()
        in_train = {e.messages[0].content for e in read_examples(out / "train.jsonl")}
        family = {"Question number 3?", "question NUMBER 3", "Question number 3 ?"}
        assert family <= in_train or not family & in_train


def test_leak_check_reads_other_formats(write_jsonl, tmp_path: Path) -> None:
    """An exact copy is found whatever the validation file's format (the comparison is on the canonical form)."""
    train = write_jsonl(_rows(12))
    gemini = {"contents": [{"role": "user", "parts": [{"text": "Question number 2?"}]},
                           {"role": "model", "parts": [{"text": "Answer 2."}]}]}
    val = tmp_path / "val.jsonl"
    val.write_text(json.dumps(gemini) + "\n")
    report = validate_file(train, backend="openai", val_path=val)
    assert [p.code for p in report.problems] == ["train_val_overlap"]


def test_leaks_found_by_forked_workers_equal_the_sequential_ones(leaky: tuple[Path, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.data import parallel as parallel_mod

    train, val = leaky
    sequential = validate_file(train, backend="openai", val_path=val)
    monkeypatch.setattr(parallel_mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "2")
    used: list[int] = []
    real = parallel_mod.plan_chunks
    monkeypatch.setattr(parallel_mod, "plan_chunks", lambda p, n, *rest: used.append(n) or real(p, n, *rest))
    forked = validate_file(train, backend="openai", val_path=val)
    assert used == [8, 8]  # both files went through the forked workers
    assert forked.rendered() == sequential.rendered() and len(forked.entries) == 1
    assert forked.report.problem_counts == sequential.report.problem_counts == {}


def test_a_leak_count_cut_by_the_problem_listing_cap_says_at_least(leaky: tuple[Path, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.data import inspect as inspect_mod

    train, val = leaky
    monkeypatch.setattr(inspect_mod, "MAX_LISTED_PROBLEMS", 2)
    [(_, problem)] = validate_file(train, backend="openai", val_path=val).entries
    assert problem.message.startswith("at least 2 validation example(s) are exact copies")
