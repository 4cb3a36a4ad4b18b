"""split_file: deterministic, no example in two splits, duplicates together, stratified, atomic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.data import split_file
from ftrouter.errors import DataError, UsageError

from .helpers import chat


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def dataset(write_jsonl) -> Path:
    rows = [chat(user=f"q{i}", label="a" if i % 4 else "b") for i in range(200)]
    rows += [chat(user="q7", label="a")] * 5  # duplicates of line 8
    return write_jsonl(rows)


def test_same_seed_same_split_other_seed_other_split(dataset: Path, tmp_path: Path) -> None:
    a = split_file(dataset, tmp_path / "a", val=0.1, test=0.1, seed=1)
    b = split_file(dataset, tmp_path / "b", val=0.1, test=0.1, seed=1)
    c = split_file(dataset, tmp_path / "c", val=0.1, test=0.1, seed=2)
    for name in ("train", "val", "test"):
        assert lines(tmp_path / "a" / f"{name}.jsonl") == lines(tmp_path / "b" / f"{name}.jsonl")
    assert lines(tmp_path / "a" / "val.jsonl") != lines(tmp_path / "c" / "val.jsonl")
    assert a.counts == b.counts and sum(a.counts.values()) == 205 and sum(c.counts.values()) == 205


def test_every_line_lands_in_exactly_one_split_and_duplicates_stay_together(dataset: Path, tmp_path: Path) -> None:
    result = split_file(dataset, tmp_path, val=0.2, test=0.1, seed=0)
    splits = {name: lines(tmp_path / f"{name}.jsonl") for name in ("train", "val", "test")}
    assert sorted(r for rows in splits.values() for r in rows) == sorted(lines(dataset))  # nothing lost or added
    holders = [name for name, rows in splits.items() if any('"q7"' in r for r in rows)]
    assert len(holders) == 1 and sum('"q7"' in r for r in splits[holders[0]]) == 6
    assert result.groups == 200
    assert abs(result.counts["val"] - 41) <= 6 and abs(result.counts["test"] - 20) <= 6


def test_stratify_keeps_proportions(dataset: Path, tmp_path: Path) -> None:
    result = split_file(dataset, tmp_path, val=0.2, seed=3, stratify="label")
    assert set(result.strata) == {"a", "b"}
    assert result.strata["b"]["val"] == 10  # 50 "b" examples * 0.2
    val_labels = [json.loads(r)["label"] for r in lines(tmp_path / "val.jsonl")]
    assert val_labels.count("b") == 10
    assert not (tmp_path / "test.jsonl").exists()


def test_stratify_on_a_field_nobody_has(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no example has a top-level field 'topic'"):
        split_file(dataset, tmp_path / "out", stratify="topic")


def test_bad_fractions_are_usage_errors(dataset: Path, tmp_path: Path) -> None:
    for val, test in ((1.2, 0.0), (0.6, 0.5), (-0.1, 0.0)):
        with pytest.raises(UsageError):
            split_file(dataset, tmp_path, val=val, test=test)


def test_a_file_with_errors_is_refused_and_nothing_is_written(write_jsonl, tmp_path: Path) -> None:
    path = write_jsonl([chat(), "{oops", chat(user="x")])
    out = tmp_path / "out"
    with pytest.raises(DataError) as info:
        split_file(path, out)
    assert info.value.line == 2 and info.value.code == "invalid_json"
    assert not out.exists() or list(out.iterdir()) == []


def test_split_copies_original_lines_byte_for_byte(write_jsonl, tmp_path: Path) -> None:
    path = write_jsonl(['{"prompt":  "a",   "completion": "b", "extra": [1,2]}', '{"prompt": "c", "completion": "d"}'])
    split_file(path, tmp_path / "o", val=0.5, seed=0)
    got = lines(tmp_path / "o" / "train.jsonl") + lines(tmp_path / "o" / "val.jsonl")
    assert sorted(got) == sorted(lines(path))


def test_stratified_fractions_add_up_over_small_strata(write_jsonl, tmp_path: Path) -> None:
    # 3 strata of 4: 10% test is 0.4 of each stratum, but 1.2 of the file: one test example, not none
    rows = [chat(user=f"q{t}{i}", topic=t) for t in ("a", "b", "c") for i in range(4)]
    result = split_file(write_jsonl(rows), tmp_path, val=0.2, test=0.1, seed=0, stratify="topic")
    assert result.counts == {"train": 9, "val": 2, "test": 1}
    assert sum(result.strata[t]["val"] for t in "abc") == 2
    assert all(result.strata[t]["val"] <= 1 for t in "abc")


def test_split_refuses_to_overwrite_its_own_input(tmp_path: Path) -> None:
    src = tmp_path / "train.jsonl"
    original = "".join(json.dumps(chat(user=f"q{i}")) + "\n" for i in range(20))
    src.write_text(original)
    with pytest.raises(UsageError, match="holds the input file itself"):
        split_file(src, tmp_path, val=0.2)
    assert src.read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]
