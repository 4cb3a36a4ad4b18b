"""Labelled data (classification, multi-label, pairs, token classification, embeddings): detection,
validation with line numbers, ``data inspect`` figures and stratified splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.data.labelled import bio_problem, labelled_format
from ftrouter.data.labelled_inspect import inspect_labelled
from ftrouter.data.split import split_file
from tests.clirun import run_cli

CLS = [{"text": f"message {i}", "label": "spam" if i % 4 == 0 else "ham"} for i in range(40)]


@pytest.mark.parametrize(("row", "fmt"), [
    ({"text": "t", "label": "a"}, "classification"),
    ({"text": "t", "label": 3}, "classification"),
    ({"text": "t", "labels": ["a", "b"]}, "multi-label"),
    ({"text1": "a", "text2": "b", "label": "entailment"}, "pairs"),
    ({"tokens": ["Ada", "wrote"], "tags": ["B-PER", "O"]}, "token-classification"),
    ({"anchor": "q", "positive": "d"}, "embedding"),
    ({"anchor": "q", "positive": "d", "negative": "n"}, "embedding"),
])
def test_formats_are_detected_and_read(row: dict, fmt: str, write_jsonl) -> None:
    path = write_jsonl([row, row | {}])
    assert labelled_format(path) == fmt
    result = inspect_labelled(path)
    assert result.train.format == fmt and result.train.examples == 2 and result.errors == 0


def test_chat_files_are_not_labelled(write_jsonl) -> None:
    path = write_jsonl([{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
                         "label": "a", "text": "t"}])
    assert labelled_format(path) is None


CASES = [
    ("missing_field", [{"text": "a", "label": "x"}, {"text": 5, "label": "x"}], 2),
    ("invalid_label", [{"text": "a", "label": "x"}, {"text": "b", "label": True}], 2),
    ("invalid_label", [{"text": "a", "labels": ["x"]}, {"text": "b", "labels": "x"}], 2),
    ("length_mismatch", [{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["O"]}], 2),
    ("invalid_bio", [{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["O", "I-PER"]}], 2),
    ("invalid_bio", [{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a"], "tags": ["PER"]}], 2),
    ("mixed_formats", [{"text": "a", "label": "x"}, {"text": "a", "labels": ["x"]}, {"text": "c", "label": "y"}], 2),
    ("unknown_format", [{"text": "a", "label": "x"}, {"body": "a"}], 2),
]


@pytest.mark.parametrize(("code", "rows", "line"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_problems_name_the_line(code: str, rows: list, line: int, write_jsonl) -> None:
    result = inspect_labelled(write_jsonl(rows))
    found = {(p.code, p.line, p.severity) for p in result.train.problems}
    assert (code, line, "error") in found, found


def test_bio_transitions() -> None:
    assert bio_problem(["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC"]) is None
    assert bio_problem(["B-PER", "I-LOC"]) is not None  # I- of another type
    assert bio_problem(["I-PER"]) is not None  # an entity that never began
    assert bio_problem(["B-"]) is not None


def test_inspect_json_reports_labels_imbalance_val_only_and_lengths(write_jsonl, capsys) -> None:
    train = write_jsonl(CLS)
    val = write_jsonl([{"text": "new", "label": "ham"}, {"text": "other", "label": "phishing"}])
    code, out, _ = run_cli(capsys, "data", "inspect", str(train), "--val", str(val), "--json")
    report = json.loads(out)
    assert code == 0, out
    assert report["format"] == "classification"
    assert report["labels"] == {"ham": 30, "spam": 10}
    assert report["imbalance_ratio"] == 3.0
    assert report["labels_only_in_val"] == ["phishing"]
    assert report["val"]["problem_counts"] == {"label_only_in_val": 1}
    from ftrouter.data.encodings import get_encoding

    lengths = sorted(len(get_encoding("o200k_base").encode_ordinary(row["text"])) for row in CLS)
    assert (report["tokens"]["p50"], report["tokens"]["max"]) == (lengths[19], lengths[-1])
    assert report["tokenizer"]["encoding"] == "o200k_base"


def test_inspect_counts_with_a_local_tokenizer(write_jsonl, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from ftrouter_local.tiny_encoder import build_tiny_encoder

    folder = build_tiny_encoder(tmp_path / "enc")
    pairs = write_jsonl([{"text1": "message one", "text2": "message two", "label": "x"}])
    result = inspect_labelled(pairs, model=str(folder))
    # [CLS] a [SEP] b [SEP]: the pair as the classifier reads it, special tokens included
    assert result.train.token_json()["max"] >= 7
    assert result.train.tokenizer["method"] == "tokenizer"


def test_token_classification_labels_and_val_only_entity_types(write_jsonl) -> None:
    train = write_jsonl([{"tokens": ["Ada", "Lovelace"], "tags": ["B-PER", "I-PER"]}])
    val = write_jsonl([{"tokens": ["Paris"], "tags": ["B-LOC"]}, {"tokens": ["Ada"], "tags": ["B-PER"]}])
    result = inspect_labelled(train, val=val)
    assert result.only_in_val == ["LOC"]


def test_inspect_exits_1_with_file_and_line(write_jsonl, capsys) -> None:
    path = write_jsonl([{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["O"]}])
    code, out, err = run_cli(capsys, "data", "inspect", str(path))
    assert code == 1
    assert f"{path}:2: error: length_mismatch: 2 tokens but 1 tags" in out + err


def test_duplicates_with_a_different_label_are_said_so(write_jsonl) -> None:
    result = inspect_labelled(write_jsonl([{"text": "a", "label": "x"}, {"text": "a", "label": "y"}]))
    assert [p.message for p in result.train.problems if p.code == "duplicate"] == [
        "same input as the example at line 1 (with a different label)"]


def test_split_stratifies_on_the_label(write_jsonl, tmp_path: Path) -> None:
    path = write_jsonl(CLS)
    result = split_file(path, tmp_path / "out", val=0.25, stratify="label")
    assert result.strata == {"ham": {"train": 22, "val": 8}, "spam": {"train": 8, "val": 2}}
    lines = (tmp_path / "out" / "val.jsonl").read_text().splitlines()
    assert len(lines) == 10 and all(json.loads(line)["text"].startswith("message") for line in lines)


def test_split_refuses_a_broken_labelled_line(write_jsonl, tmp_path: Path) -> None:
    from ftrouter.errors import DataError

    path = write_jsonl([*CLS[:3], {"text": "x", "label": None}])
    with pytest.raises(DataError) as info:
        split_file(path, tmp_path / "out", stratify="label", fmt="classification")
    assert info.value.line == 4


def test_inspect_val_is_refused_for_chat_data(write_jsonl, capsys) -> None:
    chat = write_jsonl([{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}])
    code, _out, err = run_cli(capsys, "data", "inspect", str(chat), "--val", str(chat))
    assert code == 2 and "--val applies to labelled data" in err


def test_validate_checks_labelled_data_for_the_local_backend_only(write_jsonl, capsys) -> None:
    bad = write_jsonl([{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a"], "tags": ["I-PER"]}])
    code, out, err = run_cli(capsys, "data", "validate", str(bad), "--backend", "local", "--json")
    assert code == 1 and json.loads(out)["problem_counts"] == {"invalid_bio": 1}
    code, _out, err = run_cli(capsys, "data", "validate", str(bad), "--backend", "openai")
    assert code == 2 and "on the local backend only" in err
