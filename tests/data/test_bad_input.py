"""Malformed files: each gives a clear problem (or usage error) naming the file and line, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.data import inspect_file, read_examples
from ftrouter.data.lines import iter_raw_lines
from ftrouter.errors import DataError, UsageError

from .helpers import chat

LINE = json.dumps(chat()).encode()


def only_problem(path: Path) -> tuple[str, int | None]:
    report = inspect_file(path)
    return report.problems[0].code, report.problems[0].line


@pytest.mark.parametrize(("content", "code"), [
    (b"", "empty_file"),
    (b"\n\n  \n", "empty_file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file"),
    ("\ufeff".encode("utf-16") + b"{}", "invalid_utf8"),
])
def test_whole_file_problems(content: bytes, code: str, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    report = inspect_file(path)
    assert [p.code for p in report.problems] == [code]
    assert report.errors == 1 and report.examples == 0
    with pytest.raises(DataError, match=code):
        list(read_examples(path))


def test_bom_is_a_warning_and_the_line_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LINE + b"\n")
    report = inspect_file(path)
    assert report.examples == 1
    assert [(p.code, p.severity, p.line) for p in report.problems] == [("bom", "warning", 1)]


def test_invalid_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(LINE + b"\n" + '{"prompt": "café", "completion": "x"}'.encode("latin-1") + b"\n")
    code, line = only_problem(path)
    assert (code, line) == ("invalid_utf8", 2)
    assert "column" in inspect_file(path).problems[0].message


def test_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes(LINE + b"\n" + LINE[:25])
    assert only_problem(path) == ("truncated_line", 2)


def test_crlf_and_surrounding_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(LINE + b"\r\n\r\n" + LINE + b"\r\n")
    report = inspect_file(path)
    assert report.examples == 2
    assert [(p.code, p.line) for p in report.problems] == [("blank_line", 2), ("duplicate", 3)]


def test_hundred_megabyte_single_line_is_reported_not_held(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.write(LINE + b"\n")
        f.write(b'{"messages": "' + b"x" * (100 * 1024 * 1024) + b'"}\n')
        f.write(LINE + b"\n")
    report = inspect_file(path)
    assert [(p.code, p.line) for p in report.problems] == [("line_too_long", 2), ("duplicate", 3)]
    assert report.examples == 2


def test_long_line_limit_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"a" * 10 + b"\n" + b"b" * 11 + b"\n" + b"c" * 3)
    lines = list(iter_raw_lines(path, max_line_bytes=10))
    assert [(r.number, r.data, r.problem.code if r.problem else None) for r in lines] == [
        (1, b"a" * 10, None), (2, None, "line_too_long"), (3, b"ccc", None)]
    assert lines[2].last_without_newline


def test_missing_path_and_directory_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file") as info:
        inspect_file(tmp_path / "nope.jsonl")
    assert info.value.exit_code == 2
    with pytest.raises(UsageError, match="is a directory"):
        inspect_file(tmp_path)


def test_not_jsonl_at_all(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"  # (a .csv with these columns reads as CSV: test_containers.py)
    path.write_text("prompt,completion\nhi,hello\n")
    report = inspect_file(path)
    assert report.format == "unknown"
    assert [(p.code, p.line) for p in report.problems] == [("invalid_json", 1), ("invalid_json", 2)]


def test_nan_and_big_integers_fall_back_to_the_standard_parser(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(chat(score=float("nan"), id=2**70)) + "\n")
    (example,) = read_examples(path)
    assert example.meta["id"] == 2**70
