"""Fixtures for the local backend: a tiny model built on the spot (no hub), chat data, and cleanup of
any worker a test leaves behind."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ftrouter_local")

from ftrouter_local import LocalBackend
from ftrouter_local.jobfiles import JobFiles
from ftrouter_local.tiny import synthetic_conversations, write_jsonl

REPO_RECIPES = Path(__file__).resolve().parents[3] / "configs" / "recipes"


@pytest.fixture(autouse=True)
def _repo_recipes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recipe names resolve to the repository's configs/recipes wherever pytest runs from."""
    monkeypatch.setenv("FTROUTER_RECIPES", str(REPO_RECIPES))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~130k-parameter Qwen2 model + BPE tokenizer with a ChatML template, saved like any model folder."""
    from ftrouter_local.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def chat_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(synthetic_conversations(64, seed=1), tmp_path_factory.mktemp("data") / "train.jsonl")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalBackend]:
    """A LocalBackend whose workers are all killed when the test ends, whatever happened in it.

    Workers inherit OMP_NUM_THREADS=1: on a shared 2-core machine, torch's default of one thread
    per core makes the tiny model's steps many times slower under contention, not faster."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    instance = LocalBackend(cancel_wait_s=60.0)
    yield instance
    jobs = Path(os.environ["FTROUTER_HOME"]) / "jobs"
    for root in jobs.iterdir() if jobs.is_dir() else []:
        _kill_job(JobFiles(root))


def _kill_job(files: JobFiles) -> None:
    from ftrouter_local.launcher import launcher_pid, process_alive

    for pid in [*files.rank_pids(), launcher_pid(files)]:
        if pid and process_alive(pid, str(files.root)):
            os.kill(pid, signal.SIGKILL)
