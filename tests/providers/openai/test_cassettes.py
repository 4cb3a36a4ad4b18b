"""The OpenAI adapter against cassettes (cassettes/openai/, one per test): submit -> running ->
succeeded with events and checkpoints, a failed job, cancel, lookup by local id, a DPO job.

The assertions hold for a real recording too (ids and exact numbers are not pinned where a live
run would differ), so re-recording with ``--record-mode=rewrite`` keeps these tests meaningful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openai_shared import DATA

from ftrouter.jobs.models import JobSpec, JobState, JobStatus, PreparedJob, RemoteRef
from ftrouter.jobs.polling import PollSchedule
from ftrouter.jobs.registry import Registry
from ftrouter.jobs.service import JobService

pytestmark = pytest.mark.vcr
MODEL = "gpt-4.1-mini-2025-04-14"
MAX_POLLS = 240  # live re-recording: up to ~2 hours at 30 s


def prepared(local_id: str, data: str, **spec: Any) -> PreparedJob:
    path = DATA / data
    job_spec = JobSpec(backend="openai", model=MODEL, data=str(path), **spec)
    return PreparedJob(spec=job_spec, local_id=local_id, files={"train": str(path)}, estimate={"cost_usd": 0.1})


def poll(backend: Any, ref: RemoteRef, until: set[JobState]) -> JobStatus:
    for _ in range(MAX_POLLS):
        status = backend.status(ref)
        if status.state in until or status.state.terminal:
            return status
        backend.sleep(30)
    raise AssertionError(f"{ref.remote_id} did not reach {until}")


def test_sft_job_runs_to_success(openai_backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    job = prepared("ftr-cas5ft", "chat_train.jsonl", suffix="support-bot", seed=42,
                   hyperparameters={"epochs": 3})
    monkeypatch.setattr(openai_backend, "prepare", lambda spec, local_id: job)
    monkeypatch.setattr("ftrouter.jobs.service.new_local_id", lambda: job.local_id)
    service = JobService(Registry(), backend_factory=lambda name: openai_backend, sleep=openai_backend.sleep)

    record = service.submit(job.spec)
    assert record.id == "ftr-cas5ft" and record.remote_id and record.remote_id.startswith("ftjob-")
    seen: list[tuple[JobState, int | None]] = []
    final = service.watch(record.id, lambda r, events: seen.append((r.state, r.progress.step)),
                          PollSchedule(initial_s=30, max_s=120, max_failures=10))

    assert final.state is JobState.SUCCEEDED and final.raw_state == "succeeded"
    assert seen[0][0] is JobState.PENDING and JobState.RUNNING in {state for state, _ in seen}
    assert final.result and final.result.model_id and final.result.model_id.startswith(f"ft:{MODEL}:")
    assert final.trained_tokens and final.actual["trained_tokens"] == final.trained_tokens
    assert final.actual["cost_usd"] == pytest.approx(final.trained_tokens / 1e6 * 5.0)
    assert final.actual["wall_time_s"] > 0 and final.actual["epochs"] == 3
    assert final.actual["checkpoints"] and all(":ckpt-step-" in name for name in final.actual["checkpoints"])
    assert {"train_loss", "full_valid_loss"} <= set(final.metrics)
    assert final.progress.step == final.progress.total_steps  # the last metrics event is the last step
    assert final.estimate.as_dict() == {"cost_usd": 0.1}
    events = service.registry.events(record.id)
    assert events[0].message.startswith("Created fine-tuning job")
    assert len({e.id for e in events}) == len(events)
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)
    assert any(e.type == "metrics" and "train_loss" in e.data for e in events)


def test_failed_job_reports_the_error(openai_backend: Any) -> None:
    ref = openai_backend.submit(prepared("ftr-casfai", "too_few.jsonl"))
    status = poll(openai_backend, ref, set())
    assert status.state is JobState.FAILED and status.result is None
    assert status.error and status.error.code and "(in training_file)" in status.error.message
    events = openai_backend.events(ref)
    assert events[0].message.startswith("Created fine-tuning job") and events[-1].level == "error"


def test_cancel_a_job(openai_backend: Any) -> None:
    ref = openai_backend.submit(prepared("ftr-cascan", "chat_train.jsonl", seed=99))
    status = openai_backend.cancel(ref)
    assert status.state is JobState.CANCELLED and status.raw_state == "cancelled"
    assert "cancel" in openai_backend.events(ref)[-1].message.lower()


def test_find_a_job_by_its_local_id(openai_backend: Any) -> None:
    """Crash reconciliation asks OpenAI for the job tagged with the local id (recorded after the SFT test)."""
    ref = openai_backend.find_by_local_id("ftr-cas5ft")
    assert ref is not None and ref.remote_id.startswith("ftjob-") and ref.local_id == "ftr-cas5ft"
    assert openai_backend.find_by_local_id("ftr-nojob2") is None


def test_dpo_job_reports_progress(openai_backend: Any) -> None:
    job = prepared("ftr-casdpo", "dpo_train.jsonl", method="dpo", seed=7,
                   hyperparameters={"epochs": 2, "beta": 0.1})
    ref = openai_backend.submit(job)
    status = poll(openai_backend, ref, {JobState.RUNNING})
    assert status.state is JobState.RUNNING
    assert status.progress.step and status.progress.total_steps and status.progress.epoch is not None
    assert "train_loss" in status.metrics and status.eta is not None
    assert openai_backend.cancel(ref).state is JobState.CANCELLED  # leaves nothing running on the account


def test_an_unplayed_interaction_fails_the_check(tmp_path: Path) -> None:
    """The guard behind every cassette test: interactions a test never used are reported."""
    import vcr
    from openai_shared import CASSETTES, assert_all_played

    recorder = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none")
    import vcr_support

    vcr_support.configure(recorder)
    with (recorder.use_cassette("test_cancel_a_job.yaml", **vcr_support.vcr_config()) as cassette,
          pytest.raises(AssertionError, match="never played: #1 POST")):
        assert_all_played(cassette)
