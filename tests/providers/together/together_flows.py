"""The flows the Together cassettes hold, shared by ``author_cassettes.py`` (the in-memory fake, moving the
job along between calls), ``together_record.py`` (the live API, polling the real job until it gets there)
and ``together_replay.py`` (the cassette, with no fake and no network; ``advance`` is then a no-op).

Every flow takes the model (the replay reads it from the cassette, so a recording made with
``--model`` replays too) and the folder its data files come from (the recorder hands the failing flow
data Together rejects, under the same file names, since uploads are matched by file name).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_together_flows import MODEL, prepared
from together_shared import DATA

from ftrouter.jobs.models import Hyperparameters

Advance = Callable[[str, str], None]  # (remote id, "run" | "complete" | "error")
Flow = Callable[..., dict[str, Any]]  # (backend, advance, *, model=MODEL, data_dir=DATA) -> what the checks read


def sft_lora_job_runs_to_success(backend: Any, advance: Advance, *, model: str = MODEL,
                                 data_dir: Path = DATA) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgsft1", suffix="support", model=model, data_dir=data_dir,
                                  hyperparameters=Hyperparameters(epochs=2, lora_r=8),
                                  options={"n_checkpoints": "2"}))
    pending = backend.status(ref)
    advance(ref.remote_id, "run")
    running = backend.status(ref)
    advance(ref.remote_id, "complete")
    done = backend.status(ref)
    return {"ref": ref, "states": [pending.state, running.state, done.state], "running": running, "done": done,
            "events": backend.events(ref)}


def dpo_full_job_with_validation(backend: Any, advance: Advance, *, model: str = MODEL,
                                 data_dir: Path = DATA) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgdpo1", method="dpo", adapter="full", val=True, model=model,
                                  data_dir=data_dir, hyperparameters=Hyperparameters(beta=0.1)))
    advance(ref.remote_id, "run")
    return {"ref": ref, "running": backend.status(ref)}


def failed_job_reports_the_error(backend: Any, advance: Advance, *, model: str = MODEL,
                                 data_dir: Path = DATA) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgfail", model=model, data_dir=data_dir))
    advance(ref.remote_id, "error")
    return {"ref": ref, "status": backend.status(ref)}


def cancel_a_job(backend: Any, advance: Advance, *, model: str = MODEL, data_dir: Path = DATA) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgcanc", model=model, data_dir=data_dir))
    return {"ref": ref, "cancelled": backend.cancel(ref)}


def find_a_job_by_its_local_id(backend: Any, advance: Advance, *, model: str = MODEL,
                               data_dir: Path = DATA) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgfind", model=model, data_dir=data_dir))
    found = backend.find_by_local_id("ftr-tgfind")
    return {"ref": ref, "found": found, "missing": backend.find_by_local_id("ftr-none")}


FLOWS: dict[str, Flow] = {f.__name__: f for f in (
    sft_lora_job_runs_to_success, dpo_full_job_with_validation, failed_job_reports_the_error, cancel_a_job,
    find_a_job_by_its_local_id)}
