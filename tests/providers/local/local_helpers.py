"""Helpers shared by the local backend's tests (imported as a plain module; pytest puts this folder on
sys.path because it has a conftest.py and no __init__.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftrouter_local import LocalBackend
from ftrouter_local.jobfiles import JobFiles

from ftrouter.jobs.models import Hyperparameters, JobSpec, JobState, JobStatus, RemoteRef

# Lean settings so each run takes a few seconds on a shared 2-core machine.
FAST_OPTIONS: dict[str, Any] = {"logging_steps": 5, "activation_checkpointing": False, "max_length": 96,
                                "save_steps": 1000}


def cuda_devices() -> int:
    """CUDA GPUs visible to the tests (CI has none; the GPU check runs this suite on one)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def make_spec(model: Path, data: Path, *, max_steps: int, **options: Any) -> JobSpec:
    return JobSpec(backend="local", model=str(model), data=str(data),
                   hyperparameters=Hyperparameters(max_steps=max_steps, learning_rate=3e-3, batch_size=8),
                   options={**FAST_OPTIONS, **options})


def wait_until(backend: LocalBackend, ref: RemoteRef, done: Callable[[JobStatus], bool], *,
               timeout: float = 90.0, every: float = 0.05) -> JobStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = backend.status(ref)
        if done(status):
            return status
        if status.state.terminal or time.monotonic() > deadline:
            log = JobFiles(Path(ref.extra["job_dir"])).log_tail(30)
            raise AssertionError(f"gave up waiting; last status {status.state}/{status.raw_state}\n{log}")
        time.sleep(every)


def ended(status: JobStatus) -> bool:
    return status.state.terminal


def running(status: JobStatus) -> bool:
    return status.state is JobState.RUNNING
