"""The flows the Together cassettes hold, shared by ``author_cassettes.py`` (which runs them against the
in-memory fake, moving the job along between calls, while vcrpy writes the cassette) and
``test_cassettes.py`` (which replays them with no fake and no network). ``advance`` is a no-op on replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_together_flows import prepared

from ftrouter.jobs.models import Hyperparameters, JobState

Advance = Callable[[str, str], None]  # (remote id, "run" | "complete" | "error")


def sft_lora_job_runs_to_success(backend: Any, advance: Advance) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgsft1", suffix="support",
                                  hyperparameters=Hyperparameters(epochs=2, lora_r=8),
                                  options={"n_checkpoints": "2"}))
    pending = backend.status(ref)
    advance(ref.remote_id, "run")
    running = backend.status(ref)
    advance(ref.remote_id, "complete")
    done = backend.status(ref)
    return {"ref": ref, "states": [pending.state, running.state, done.state], "running": running, "done": done,
            "events": backend.events(ref)}


def dpo_full_job_with_validation(backend: Any, advance: Advance) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgdpo1", method="dpo", adapter="full", val=True,
                                  hyperparameters=Hyperparameters(beta=0.1)))
    advance(ref.remote_id, "run")
    return {"ref": ref, "running": backend.status(ref)}


def failed_job_reports_the_error(backend: Any, advance: Advance) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgfail"))
    advance(ref.remote_id, "error")
    return {"ref": ref, "status": backend.status(ref)}


def cancel_a_job(backend: Any, advance: Advance) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgcanc"))
    return {"ref": ref, "cancelled": backend.cancel(ref)}


def find_a_job_by_its_local_id(backend: Any, advance: Advance) -> dict[str, Any]:
    ref = backend.submit(prepared(local_id="ftr-tgfind"))
    found = backend.find_by_local_id("ftr-tgfind")
    return {"ref": ref, "found": found, "missing": backend.find_by_local_id("ftr-none")}


FLOWS: dict[str, Callable[[Any, Advance], dict[str, Any]]] = {f.__name__: f for f in (
    sft_lora_job_runs_to_success, dpo_full_job_with_validation, failed_job_reports_the_error, cancel_a_job,
    find_a_job_by_its_local_id)}
DONE = JobState.SUCCEEDED
