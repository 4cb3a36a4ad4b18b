"""The containers people have (gzip, JSON arrays, CSV/TSV, Parquet, datasets folders, pipes and FIFOs)
read like the JSON Lines they hold, through the one reader entry point (``FileScan``), with meaningful
line numbers; a container that cannot be read is one clear line."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

from ftrouter.data import containers, convert_file, inspect_file, read_examples, split_file, validate_file
from ftrouter.errors import DataError, UsageError

from .helpers import chat

ROWS = [chat(f"question {i}", f"answer {i}", system="Be brief.") for i in range(12)]
JSONL = "".join(json.dumps(r) + "\n" for r in ROWS)


def plain_tokens(tmp_path: Path) -> int:
    path = tmp_path / "plain.jsonl"
    path.write_text(JSONL, encoding="utf-8")
    return inspect_file(path).tokens.total


def write_gz(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl.gz"
    path.write_bytes(gzip.compress(JSONL.encode()))
    return path


def test_jsonl_gz_reads_like_the_jsonl_it_holds(tmp_path: Path) -> None:
    report = inspect_file(write_gz(tmp_path))
    assert report.examples == 12 and report.errors == 0
    assert report.container == "gzip-compressed JSON Lines"
    assert report.tokens.total == plain_tokens(tmp_path)


def test_a_pretty_printed_json_array_keeps_its_line_numbers(tmp_path: Path) -> None:
    items = [*ROWS[:2], {"messages": "not a list"}]
    path = tmp_path / "train.json"
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    report = inspect_file(path)
    assert report.container.startswith("a JSON array") and report.examples == 2
    text = path.read_text().splitlines()
    (problem,) = [p for p in report.problems if p.severity == "error"]
    assert problem.code == "missing_messages"
    assert text[problem.line - 1].strip() == "{" and '"not a list"' in text[problem.line]


@pytest.mark.parametrize(("content", "message"), [
    ('[{"messages": []}, {"bad": ]', "not valid JSON"),
    ('[{"a": 1} {"b": 2}]', "expected ',' or ']'"),
    ('[{"a": 1}] [2]', "after the closing"),
])
def test_a_broken_json_array_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        inspect_file(path)
    assert info.value.code == "unsupported_container" and info.value.line == 1


def test_csv_prompt_completion_with_rows_at_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text('prompt,completion,id\nhi,"hello\nthere",1\n"x",,2\n', encoding="utf-8")
    report = inspect_file(path)
    assert report.format == "prompt-completion" and report.examples == 2
    assert report.container == "CSV (prompt/completion columns, one example per row)"
    empty = [p for p in report.problems if p.code == "empty_content"]
    assert [p.line for p in empty] == [4]  # the row starts at line 4 (the one before spans two lines)
    (example, _) = read_examples(path)
    assert example.messages[1].content == "hello\nthere" and example.meta == {"id": "1"}


@pytest.mark.parametrize(("header", "row", "fmt"), [
    ("instruction\tinput\toutput", "Sum\t2 2\t4", "alpaca"),
])
def test_tsv_layouts(tmp_path: Path, header: str, row: str, fmt: str) -> None:
    path = tmp_path / "data.tsv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    report = inspect_file(path)
    assert (report.format, report.examples, report.errors) == (fmt, 1, 0)


@pytest.mark.parametrize(("content", "message"), [
    ("question,reply\na,b\n", "are none of the layouts"),
    ("prompt,completion\na,b,c\n", "row has 3 cells"),
])
def test_an_unreadable_csv_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        inspect_file(path)


def _hf_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"messages": r["messages"]} for r in ROWS]
    rows[0]["messages"][1]["name"] = "alice"  # a struct field most messages do not have: null elsewhere
    return rows


def test_parquet_in_the_hugging_face_layout(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(_hf_rows()), path)
    report = inspect_file(path)
    assert report.container == "Parquet, one example per row"
    assert (report.format, report.examples, report.errors) == ("openai", 12, 0)


SAVE = """
import json, sys
import datasets
rows = json.loads(sys.argv[2])
datasets.Dataset.from_list(rows).save_to_disk(sys.argv[1] + "/saved")
datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(sys.argv[1] + "/dd")
"""


def test_a_datasets_folder_saved_with_save_to_disk(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    # in a child process: importing datasets starts threads, which would keep later tests from forking
    subprocess.run([sys.executable, "-c", SAVE, str(tmp_path), json.dumps(_hf_rows())], check=True, timeout=300)
    report = inspect_file(tmp_path / "saved")
    assert report.container.startswith("a datasets folder")
    assert (report.format, report.examples, report.errors) == ("openai", 12, 0)
    with pytest.raises(UsageError, match="splits train"):
        inspect_file(tmp_path / "dd")


def test_missing_pyarrow_is_one_line_with_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "train.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 20)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(UsageError, match="pip install pyarrow"):
        inspect_file(path)


@pytest.mark.parametrize(("content", "message"), [
    (b"\x1f\x8b\x08\x00garbage", "not a readable gzip file"),
    (b"\x28\xb5\x2f\xfd\x00\x00", "zstd-compressed"),
    (b"PAR1 not really parquet", "not a readable Parquet"),
])
def test_unreadable_containers_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        inspect_file(path)


@pytest.mark.parametrize("command", [
    "data inspect {src}", "data validate --backend openai {src}", "data convert --to gemini -o {out} {src}",
    "data split -o {out} {src}", "estimate --data {src} --backend openai",
    "compare --data {src} --backend openai --format json --set monthly_requests=1000",
])
def test_every_data_command_reads_containers(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_gz(tmp_path)
    args = [a.format(src=src, out=tmp_path / "out") for a in command.split()]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, (out, err)


def test_convert_and_split_write_json_lines_from_a_container(tmp_path: Path) -> None:
    src = write_gz(tmp_path)
    result = convert_file(src, tmp_path / "out.jsonl", "openai")
    assert result.examples == 12 and result.source_container == "gzip-compressed JSON Lines"
    assert (tmp_path / "out.jsonl").read_text() == JSONL.replace(", ", ",").replace(": ", ":")
    split = split_file(src, tmp_path / "splits", val=0.25)
    assert sum(split.counts.values()) == 12
    assert validate_file(src, backend="openai").ok


def test_no_temporary_copy_is_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    inspect_file(write_gz(tmp_path))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_data_inspect_reads_dev_stdin_from_a_pipe(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for data in (JSONL.encode(), gzip.compress(JSONL.encode())):
        proc = subprocess.run([sys.executable, "-m", "ftrouter", "data", "inspect", "/dev/stdin", "--json"],
                              input=data, capture_output=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["examples"] == 12


def test_compare_prices_labelled_data_from_a_pipe_like_a_file() -> None:
    """A pipe is copied once when it is opened, so compare sniffs it for labelled data as it does a file."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    data = "".join(json.dumps(r) + "\n" for r in LABELLED_ROWS).encode()
    proc = subprocess.run([sys.executable, "-m", "ftrouter", "compare", "--data", "/dev/stdin", "--format", "json"],
                          input=data, capture_output=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["data"]["examples"] == 40 and doc["data"]["format"].startswith("classification")
    assert any(o["name"].startswith("encoder classifier") for o in doc["options"])


def test_a_fifo_with_a_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "data.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        time.sleep(0.3)  # the reader is waiting for a writer by then
        with fifo.open("w") as f:
            f.write(JSONL)

    thread = threading.Thread(target=writer)
    thread.start()
    report = inspect_file(fifo)
    thread.join()
    assert report.examples == 12 and report.container == "JSON Lines from a pipe"
    # read again in the same process (submit validates, then converts): the copy, not an empty FIFO
    assert validate_file(fifo, backend="openai").report.examples == 12


def test_a_fifo_without_a_writer_gives_up_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "nobody.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(containers, "FIFO_WAIT_SECONDS", 0.3)
    started = time.monotonic()
    code, _, err = run_cli(capsys, "data", "inspect", str(fifo))
    assert code == 2 and "no_writer" in err and time.monotonic() - started < 10


@pytest.mark.parametrize(("name", "sep"), [("labels.csv", ","), ("labels.tsv", "\t")])
def test_text_label_columns_are_classification_data_numbered_as_in_the_file(tmp_path: Path, name: str,
                                                                            sep: str) -> None:
    """text/label rows are what {"text","label"} lines are: a classification file (issue 15). Problems carry
    the line where their row starts, and an empty row is reported, not dropped in silence."""
    from ftrouter.data.labelled_inspect import inspect_labelled

    path = tmp_path / name
    path.write_text(f'text{sep}label\n"great\nbike"{sep}positive\nslow delivery{sep}\n{sep}\nfine{sep}positive\n',
                    encoding="utf-8")
    report = inspect_labelled(path).train
    assert (report.format, report.examples, dict(report.labels)) == ("classification", 2, {"positive": 2})
    problems = sorted((p.line, p.code) for p in report.problems)
    assert problems == [(4, "invalid_label"), (5, "blank_line")]  # row 2 spans lines 2-3


@pytest.mark.parametrize("command", [["inspect"], ["validate", "--backend", "openai"]])
def test_a_container_is_unpacked_once_per_data_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """``data inspect`` / ``validate`` sniff for labelled data, then read the chat file: one gunzip, not two."""
    path = tmp_path / "chat.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(json.dumps(chat(user=f"q{i}")).encode() + b"\n" for i in range(50))))
    unpacked: list[Path] = []
    real = containers._gunzip
    monkeypatch.setattr(containers, "_gunzip", lambda src, shown: unpacked.append(shown) or real(src, shown))
    code, out, err = run_cli(capsys, "data", command[0], str(path), *command[1:], "--json")
    assert code == 0, err
    assert json.loads(out)["examples"] == 50 and unpacked == [path]


LABELLED_ROWS = [{"text": f"ticket {i} about {'brakes' if i % 2 else 'delivery'}", "label": "a" if i % 2 else "b"}
                 for i in range(40)]
CHAT_ROWS = [chat(user=f"q{i}") for i in range(40)]


@pytest.mark.parametrize(("rows", "command"), [
    (LABELLED_ROWS, ["data", "inspect", "{}", "--json"]),
    (LABELLED_ROWS, ["data", "split", "{}", "--stratify", "label", "-o", "{out}"]),
    (LABELLED_ROWS, ["estimate", "--data", "{}", "--task", "classification", "--json"]),
    (LABELLED_ROWS, ["compare", "--data", "{}", "--format", "json"]),
    (CHAT_ROWS, ["estimate", "--data", "{}", "--json"]),  # a tiktoken pass and a Gemini pass
    (CHAT_ROWS, ["compare", "--data", "{}", "--format", "json"]),
])
def test_every_command_that_reads_a_container_unpacks_it_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        rows: list[dict[str, Any]], command: list[str]) -> None:
    """The format sniff (chat or labelled), the counts of each tokenizer and the reading all use one copy."""
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    unpacked: list[Path] = []
    real = containers._gunzip
    monkeypatch.setattr(containers, "_gunzip", lambda src, shown: unpacked.append(shown) or real(src, shown))
    args = [a.format(path, out=tmp_path / "out") for a in command]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert unpacked == [path]
    if "split" not in args:  # the report counts every example of the file
        assert '"examples": 40' in out
