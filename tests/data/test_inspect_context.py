"""``data inspect`` names the examples past the model's own context window (issue 15, long context): the
catalog's context_length for a catalog model, a local folder's config (tests/providers/local), counted the
same on the parallel path."""

from __future__ import annotations

import threading

import pytest

from ftrouter.data import inspect_file
from ftrouter.data import parallel as parallel_mod
from ftrouter.data.local_tokens import model_context
from ftrouter.data.tokens import TiktokenCounter

from .helpers import chat


def _counter(context: int) -> TiktokenCounter:
    counter = TiktokenCounter("o200k_base")
    counter.context, counter.context_source = context, "a test"
    return counter


def test_a_catalog_model_is_checked_against_its_context_length(write_jsonl) -> None:
    report = inspect_file(write_jsonl([chat(), chat(user="other")]), model="gpt-4.1-mini-2025-04-14")
    assert report.to_json()["over_context"] == {"context_length": 1_047_576, "examples": 0, "first_lines": [],
                                                "source": "the model catalog (context_length)"}
    assert inspect_file(write_jsonl([chat()])).to_json()["over_context"] is None  # no model: no window


def test_examples_past_the_context_are_counted_with_their_first_lines(write_jsonl) -> None:
    rows = [chat(user="short") if i % 3 else chat(user="long " * 40) for i in range(40)]
    report = inspect_file(write_jsonl(rows), counter=_counter(30))
    found = report.to_json()["over_context"]
    assert (found["context_length"], found["examples"]) == (30, 14)
    assert found["first_lines"] == [1, 4, 7, 10, 13, 16, 19, 22, 25, 28]  # the first 10 of 14


def test_the_parallel_path_counts_the_same(write_jsonl, monkeypatch: pytest.MonkeyPatch) -> None:
    if threading.active_count() > 1:
        pytest.skip("the test process runs other threads")
    rows = [chat(user=f"q{i} " + "long " * (40 if i % 7 == 0 else 1)) for i in range(300)]
    path = write_jsonl(rows)
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "1")
    sequential = inspect_file(path, counter=_counter(30))
    monkeypatch.setenv("FTROUTER_DATA_WORKERS", "3")
    monkeypatch.setattr(parallel_mod, "PARALLEL_MIN_BYTES", 0)
    parallel = inspect_file(path, counter=_counter(30))
    assert parallel.to_json()["over_context"] == sequential.to_json()["over_context"]
    assert sequential.over_context == 43 and sequential.over_context_lines[:3] == [1, 8, 15]


@pytest.mark.parametrize(("config", "context"), [
    ('{"max_position_embeddings": 4096}', 4096),
    ('{"n_positions": 1024}', 1024),  # GPT-2 style
    ('{"max_position_embeddings": 4096, "rope_parameters": {"rope_type": "linear", "factor": 4.0}}', 16384),
    ('{"max_position_embeddings": 32768, "rope_scaling": {"type": "yarn", "factor": 4.0,'
     ' "original_max_position_embeddings": 32768}}', 131072),  # transformers 4.x key
    ('{"max_position_embeddings": 8192, "rope_parameters": {"rope_type": "default"}}', 8192),
    ('{"hidden_size": 8}', None), ("not json", None),
])
def test_a_local_folders_context_comes_from_its_config(tmp_path, config: str, context: int | None) -> None:
    (tmp_path / "config.json").write_text(config)
    assert model_context(tmp_path) == context


@pytest.mark.parametrize(("context", "max_length", "limit"), [(512, None, 512), (4096, None, 1024),
                                                              (512, 900, 900), (None, None, 1024)])
def test_a_local_models_training_length_is_lowered_to_its_window_as_the_trainer_does(
        context: int | None, max_length: int | None, limit: int) -> None:
    """With no --max-length the local trainer trains at min(1,024, the model's window): the limit that
    ``data inspect --model DIR`` reports is that length, not the 1,024 default."""
    from ftrouter.data.inspect import _limit_to_training_length

    counter = TiktokenCounter("o200k_base")
    counter.context = context
    _limit_to_training_length(counter, max_length)
    assert counter.limit == limit and counter.limit_label == "the training length"
