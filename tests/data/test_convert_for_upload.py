"""``convert_for_upload``: the converted files a managed backend's ``prepare`` sends, and the refusal of
one the provider would not take (named on its source file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftrouter.data.convert import convert_for_upload
from ftrouter.errors import DataError

from .helpers import chat


def test_train_and_val_are_converted_into_the_job_folder(write_jsonl, tmp_path: Path) -> None:
    train, val = write_jsonl([chat(), chat(user="other")]), write_jsonl([chat(user="held out")])
    files = convert_for_upload(train, val, tmp_path, "gemini", name="{role}.gemini.jsonl")
    assert files == {"train": tmp_path / "train.gemini.jsonl", "val": tmp_path / "val.gemini.jsonl"}
    assert [json.loads(line)["contents"][0]["role"] for line in files["train"].read_text().splitlines()] == ["user"] * 2
    (tmp_path / "alone").mkdir()
    assert convert_for_upload(train, None, tmp_path / "alone", "openai").keys() == {"train"}


def test_a_converted_file_over_the_limit_is_refused_on_its_source(write_jsonl, tmp_path: Path) -> None:
    train, val = write_jsonl([chat()]), write_jsonl([chat(user="q " * 2000)])
    with pytest.raises(DataError) as caught:
        convert_for_upload(train, val, tmp_path, "openai", max_bytes=2_000, limit="the provider takes at most 2 KB")
    assert caught.value.code == "file_too_large" and str(caught.value.path) == str(val)
    assert "the converted val file is" in str(caught.value) and "the provider takes at most 2 KB" in str(caught.value)
