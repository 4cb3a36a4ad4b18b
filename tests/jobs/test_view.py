"""The human views render the facts they promise (the live view of `status --watch` included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from ftrouter.jobs import view
from ftrouter.jobs.models import (
    JobError,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    PlannedRequest,
    PreparedJob,
    Progress,
)
from ftrouter.jobs.record import JobRecord


def text(renderable: object) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def record(**fields: object) -> JobRecord:
    now = datetime.now(UTC)
    base = {"id": "ftr-abc234", "backend": "openai", "remote_id": "ftjob-1", "state": JobState.RUNNING,
            "raw_state": "running", "spec": JobSpec(backend="openai", model="gpt-x", data="d.jsonl"),
            "created_at": now, "updated_at": now}
    return JobRecord.model_validate({**base, **fields})


def test_watch_view_shows_state_progress_loss_eta_and_events() -> None:
    job = record(progress=Progress(step=30, total_steps=120, epoch=0.75), metrics={"train_loss": 0.8123},
                 eta=datetime.now(UTC) + timedelta(minutes=42))
    events = [JobEvent(id="e", created_at=datetime(2026, 1, 1, tzinfo=UTC), message="Step 30/120")]
    out = text(view.watch_view(job, events))
    assert "running" in out and "step 30/120" in out and "25%" in out and "train_loss 0.8123" in out
    assert "(in 0h4" in out and "Step 30/120" in out
    assert view.watch_line(job) == "ftr-abc234 running step 30/120 · epoch 0.75 · 25% loss 0.8123"


def test_jobs_table_shows_results_errors_and_stale_rows() -> None:
    done = record(id="ftr-done22", state=JobState.SUCCEEDED, result=JobResult(model_id="ft:gpt-x:1"))
    failed = record(id="ftr-fail22", state=JobState.FAILED, error=JobError(message="bad file"),
                    refresh_error="timeout")
    out = text(view.jobs_table([done, failed]))
    assert "ft:gpt-x:1" in out and "bad file" in out and "stale" in out


def test_jobs_table_shows_only_the_first_line_of_a_long_error() -> None:
    failed = record(state=JobState.FAILED,
                    error=JobError(message="worker died (signal 9)\nlast lines of worker.log:\n  Traceback here"))
    out = text(view.jobs_table([failed]))
    assert "worker died (signal 9)" in out and "Traceback" not in out


def test_plan_shows_stats_estimate_warnings_and_requests() -> None:
    plan = PreparedJob(spec=JobSpec(backend="openai", model="gpt-x", data="d.jsonl"), local_id="ftr-x",
                       stats={"examples": 12}, estimate={"cost_usd": 0.0454, "assumptions": {"epochs_rule": "auto"}},
                       requests=[PlannedRequest(method="POST", url="https://x/v1/files", body={"purpose": "fine-tune"},
                                                note="upload")], warnings=["line 3: long"])
    out = text(view.plan(plan))
    assert "examples" in out and "$0.0454" in out and "epochs rule" in out and "line 3: long" in out
    assert "POST https://x/v1/files" in out and '"purpose": "fine-tune"' in out


def test_job_detail_estimate_leaves_out_unknown_values() -> None:
    job = record(estimate={"epochs": 2, "billed_tokens": 2268, "cost_usd": 0.01134, "hours": None})
    out = text(view.record_detail(job))
    assert "epochs 2, billed_tokens 2,268, cost_usd 0.01134" in out and "None" not in out


def test_plan_header_names_the_local_task_instead_of_a_chat_method() -> None:
    spec = JobSpec(backend="local", model="./enc", data="d.jsonl", options={"task": "classification"})
    header = text(view.plan(PreparedJob(spec=spec, local_id="ftr-x"))).splitlines()[0]
    assert "local · ./enc · classification" in header and "sft" not in header
    chat = JobSpec(backend="local", model="./lm", data="d.jsonl", method="dpo")
    assert "· dpo" in text(view.plan(PreparedJob(spec=chat, local_id="ftr-y"))).splitlines()[0]
