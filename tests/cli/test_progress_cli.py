"""The progress bar of long data work: only on a terminal (stderr), only for big inputs, never on stdout."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter.cli import progress as progress_mod
from ftrouter.cli.progress import data_progress, wants_bar

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "configs" / "examples" / "chat.jsonl"
TASK = ROOT / "configs" / "tasks" / "invoice-extraction.yaml"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class ClosedStream(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def test_a_bar_only_on_a_terminal_and_for_big_inputs() -> None:
    big = progress_mod.MIN_BYTES
    assert wants_bar(FakeTerminal(), big)
    assert not wants_bar(FakeTerminal(), big - 1)
    assert not wants_bar(io.StringIO(), big)  # a pipe, a file, CI's log
    assert not wants_bar(ClosedStream(), big)
    assert not wants_bar(object(), big)  # type: ignore[arg-type]  # no isatty at all
    assert wants_bar(FakeTerminal(), 10, min_bytes=10)


def test_no_terminal_gives_no_callback_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"{}\n" * 10)
    stream = io.StringIO()
    with data_progress("inspecting", path, stream=stream, min_bytes=0) as progress:
        assert progress is None
    with data_progress("inspecting", path, stream=FakeTerminal(), min_bytes=10**9) as progress:
        assert progress is None  # small input
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_bar_of_bytes_that_is_removed_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 3000)
    stream = FakeTerminal()
    threads = threading.active_count()
    with data_progress("inspecting", path, None, stream=stream, min_bytes=0) as progress:
        assert progress is not None
        assert threading.active_count() == threads  # no refresh thread: big files are still read in forks
        progress(0, 3000)
        progress(3000, 3000)
    drawn = stream.getvalue()
    assert "inspecting" in drawn and "3.0/3.0 kB" in drawn
    assert drawn.rstrip().endswith("\x1b[2K")  # transient: the bar is erased when the work ends


def test_an_error_still_removes_the_bar(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 3000)
    stream = FakeTerminal()
    with pytest.raises(RuntimeError), data_progress("splitting", path, stream=stream, min_bytes=0) as progress:
        assert progress is not None
        raise RuntimeError("boom")
    assert stream.getvalue().rstrip().endswith("\x1b[2K")


COMMANDS = {
    "inspect": ["data", "inspect", str(CHAT), "--json"],
    "validate": ["data", "validate", str(CHAT), "--backend", "openai", "--json",  # a val file that does not leak
                 "--val", str(CHAT.parent / "prompt_completion.jsonl")],
    "convert": ["data", "convert", str(CHAT), "--to", "gemini", "-o", "{tmp}/out.jsonl", "--json"],
    "split": ["data", "split", str(CHAT), "--val", "0.25", "-o", "{tmp}/split", "--json"],
    "estimate": ["estimate", "--data", str(CHAT), "--json", "--set", "today=2026-11-21"],
    "compare": ["compare", "--data", str(CHAT), "--format", "json", "--set", "today=2026-11-21"],
    "advise": ["advise", str(TASK), "--data", str(CHAT), "--json", "--today=2026-11-21"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_stdout_is_the_same_with_or_without_a_terminal(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[name]]
    monkeypatch.setattr(progress_mod, "MIN_BYTES", 0)  # the example file counts as big here
    code, piped, err = run(capsys, *args)
    assert code in (0, 1) and err == ""  # stderr is not a terminal: nothing at all
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code_tty, on_terminal, _ = run(capsys, *args)
    assert (code_tty, on_terminal) == (code, piped)
    assert "━" in terminal.getvalue() and " kB" in terminal.getvalue()  # the bar went to stderr


def test_the_bar_ends_full_when_the_file_is_read_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """estimate on every backend reads the file once per tokenizer: one bar over both passes."""
    from ftrouter.catalog import default_catalog
    from ftrouter.cost.report import estimate_for_file

    calls: list[tuple[int, int]] = []
    estimate_for_file(CHAT, catalog=default_catalog(), assumptions={"today": "2026-11-21"},
                      progress=lambda d, t: calls.append((d, t)))
    total = 2 * CHAT.stat().st_size
    done = [d for d, _ in calls]
    assert done == sorted(done) and {t for _, t in calls} == {total} and calls[-1] == (total, total)
