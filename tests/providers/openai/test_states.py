"""OpenAI's statuses, job objects, events and checkpoints -> ftrouter's JobStatus / JobEvent."""

from __future__ import annotations

import pytest
from ftrouter_openai.errors import is_wind_down
from ftrouter_openai.requests import method_body
from ftrouter_openai.states import STATE_MAP, job_status, map_state, to_event

from ftrouter.jobs.models import JobSpec, JobState


@pytest.mark.parametrize(("raw", "state"), [
    ("validating_files", JobState.PENDING), ("queued", JobState.PENDING), ("pending", JobState.PENDING),
    ("running", JobState.RUNNING), ("paused", JobState.PAUSED), ("succeeded", JobState.SUCCEEDED),
    ("failed", JobState.FAILED), ("cancelled", JobState.CANCELLED), ("archived", JobState.UNKNOWN),
    ("", JobState.UNKNOWN), (None, JobState.UNKNOWN),
])
def test_every_status_has_an_explicit_mapping(raw: str | None, state: JobState) -> None:
    assert map_state(raw) is state


def test_the_table_covers_the_spec_enum_and_what_is_seen_in_the_wild() -> None:
    spec_enum = {"validating_files", "queued", "running", "succeeded", "failed", "cancelled"}
    assert spec_enum | {"paused", "pending"} == set(STATE_MAP)


def test_unknown_status_keeps_the_raw_value() -> None:
    status = job_status({"status": "migrating", "model": "m"})
    assert status.state is JobState.UNKNOWN and status.raw_state == "migrating"


def test_running_job_progress_metrics_and_eta() -> None:
    job = {"status": "running", "estimated_finish": 1_800_000_000,
           "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}}}
    events = [{"id": "e2", "type": "metrics", "data": {"step": 50, "total_steps": 200, "train_loss": 0.9}},
              {"id": "e1", "type": "metrics", "data": {"step": 40, "total_steps": 200, "train_loss": 1.1}}]
    checkpoints = [{"step_number": 25, "metrics": {"full_valid_loss": 1.3, "train_loss": 1.2}}]
    status = job_status(job, events=events, checkpoints=checkpoints)
    assert (status.progress.step, status.progress.total_steps, status.progress.epoch) == (50, 200, 1.0)
    assert status.metrics == {"train_loss": 0.9, "full_valid_loss": 1.3}  # newest event wins, checkpoint adds
    assert status.eta is not None and status.eta.year == 2027


def test_finished_job_result_tokens_and_runtime() -> None:
    job = {"status": "succeeded", "model": "gpt-4.1-mini-2025-04-14", "fine_tuned_model": "ft:x", "created_at": 100,
           "finished_at": 460, "trained_tokens": 2_000_000, "hyperparameters": {"n_epochs": 3},
           "result_files": ["file-r"]}
    ckpts = [{"step_number": 2, "fine_tuned_model_checkpoint": "ft:x:ckpt-step-2", "metrics": {}},
             {"step_number": 1, "fine_tuned_model_checkpoint": "ft:x:ckpt-step-1", "metrics": {}}]
    status = job_status(job, checkpoints=ckpts, training_usd_per_1m=5.0)
    assert status.result and status.result.model_id == "ft:x" and status.trained_tokens == 2_000_000
    assert status.runtime == {"wall_time_s": 360, "epochs": 3, "cost_usd": 10.0,
                              "checkpoints": ["ft:x:ckpt-step-1", "ft:x:ckpt-step-2"], "result_files": ["file-r"]}


def test_failed_job_error_names_the_parameter() -> None:
    status = job_status({"status": "failed", "error": {"code": "invalid_file", "message": "bad", "param": "val"}})
    assert status.error and status.error.code == "invalid_file" and status.error.message == "bad (in val)"


def test_events_levels_and_types() -> None:
    event = to_event({"id": "ev", "created_at": 1_763_700_000, "level": "warn", "message": "m", "type": "metrics",
                      "data": {"step": 1}})
    assert event.level == "warning" and event.type == "metrics" and event.data == {"step": 1}
    assert event.created_at.year == 2025


def test_method_body_sends_only_what_was_chosen() -> None:
    assert method_body(JobSpec(backend="openai", model="m", data="d")) == {"type": "supervised"}
    spec = JobSpec(backend="openai", model="m", data="d", method="dpo",
                   hyperparameters={"beta": 0.5, "batch_size": 8, "learning_rate_multiplier": 0.5})
    assert method_body(spec) == {"type": "dpo", "dpo": {"hyperparameters": {
        "batch_size": 8, "learning_rate_multiplier": 0.5, "beta": 0.5}}}


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("fine_tuning_unavailable", "anything", True),
    (None, "Fine-tuning is no longer available for your organization", True),
    (None, "OpenAI is winding down fine tuning", True),
    ("invalid_n_examples", "Training file has 3 examples, but must have at least 10", False),
    (None, "Rate limit reached", False),
])
def test_wind_down_detection(code: str | None, message: str, expected: bool) -> None:
    assert is_wind_down(code, message) is expected
