"""``-o`` never destroys what is there: not the input, not a device, FIFO or link (one shared helper,
``ftrouter.data.atomic``, behind convert, split and compare)."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from clirun import run_cli

from .helpers import chat

ROWS = "".join(json.dumps(chat(f"q{i}", f"a{i}")) + "\n" for i in range(12))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text(ROWS, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [
    "data convert --to gemini {data} -o {out}",
    "compare --data {data} --format json -o {out} --set monthly_requests=1000",
])
@pytest.mark.parametrize("alias", ["same", "link", "dot"])
def test_the_input_as_output_is_refused(command: str, alias: str, data: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = {"same": data, "link": tmp_path / "link.jsonl", "dot": data.parent / "." / data.name}[alias]
    if alias == "link":
        out.symlink_to(data)
    args = command.format(data=data, out=out).split()
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "output_is_input" in err
    assert data.read_text(encoding="utf-8") == ROWS


def test_a_symlink_is_written_through_and_stays_a_link(data: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(real)
    code, _, err = run_cli(capsys, "data", "convert", "--to", "gemini", str(data), "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and "contents" in real.read_text()


def test_a_fifo_is_written_in_place(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, err = run_cli(capsys, "data", "convert", "--to", "gemini", str(data), "-o", str(fifo))
    reader.join(timeout=10)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # not replaced by a regular file
    assert received and received[0].count(b"\n") == 12


def test_dev_null_stays_a_device(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "data", "convert", "--to", "gemini", str(data), "-o", os.devnull)
    assert code == 0, err
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_split_refuses_to_rename_over_a_non_regular_file(kind: str, data: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "splits"
    out.mkdir()
    if kind == "fifo":
        os.mkfifo(out / "val.jsonl")
    else:
        (tmp_path / "elsewhere.jsonl").write_text("keep\n")
        (out / "val.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    code, _, err = run_cli(capsys, "data", "split", str(data), "-o", str(out))
    assert code == 2 and "not_a_regular_file" in err
    assert not (out / "train.jsonl").exists()
    assert (out / "val.jsonl").is_symlink() or stat.S_ISFIFO(os.lstat(out / "val.jsonl").st_mode)
