"""OpenAI's job objects -> ftrouter's JobStatus / JobEvent.

OpenAI's spec lists six statuses, but ``paused`` (the spec's own /pause example) and ``pending`` (Azure
OpenAI) are seen in the wild; anything else maps to ``unknown`` with the raw value kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ftrouter.jobs.models import JobError, JobEvent, JobResult, JobState, JobStatus, Progress

STATE_MAP: dict[str, JobState] = {
    "validating_files": JobState.PENDING,
    "queued": JobState.PENDING,
    "pending": JobState.PENDING,
    "running": JobState.RUNNING,
    "paused": JobState.PAUSED,
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}

# Statuses after which events and checkpoints can hold something worth fetching for `status`.
HAS_TRAINING_DATA = frozenset({"running", "paused", "succeeded", "failed", "cancelled"})

_LEVELS = {"info": "info", "warn": "warning", "warning": "warning", "error": "error"}
_METRIC_KEYS = ("train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
                "full_valid_loss", "full_valid_mean_token_accuracy")


def map_state(raw: str | None) -> JobState:
    return STATE_MAP.get(raw or "", JobState.UNKNOWN)


def _when(timestamp: Any) -> datetime | None:
    if isinstance(timestamp, int | float) and timestamp > 0:
        return datetime.fromtimestamp(timestamp, UTC)
    return None


def to_event(raw: dict[str, Any]) -> JobEvent:
    return JobEvent(
        id=str(raw["id"]),
        created_at=_when(raw.get("created_at")) or datetime.now(UTC),
        level=_LEVELS.get(str(raw.get("level", "info")), "info"),  # type: ignore[arg-type]
        message=str(raw.get("message", "")),
        type=str(raw.get("type") or "message"),
        data=dict(raw.get("data") or {}),
    )


def latest_metrics_event(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest ``type: metrics`` event's data (events come newest first from the API)."""
    for event in events:
        if event.get("type") == "metrics" and isinstance(event.get("data"), dict):
            return dict(event["data"])
    return None


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(values[k]) for k in _METRIC_KEYS if isinstance(values.get(k), int | float)}


def _epochs(job: dict[str, Any]) -> int | None:
    method = job.get("method") or {}
    kind = method.get("type")
    hyper = (method.get(kind) or {}).get("hyperparameters") if kind else None
    hyper = hyper or job.get("hyperparameters") or {}
    epochs = hyper.get("n_epochs")
    return epochs if isinstance(epochs, int) else None


def _progress(job: dict[str, Any], metrics: dict[str, Any] | None, checkpoint: dict[str, Any] | None) -> Progress:
    step = total = None
    if metrics:
        step, total = metrics.get("step"), metrics.get("total_steps")
    if step is None and checkpoint:
        step = checkpoint.get("step_number")
    epochs = _epochs(job)
    epoch = None
    if isinstance(step, int | float) and isinstance(total, int | float) and total and epochs:
        epoch = round(step / total * epochs, 2)
    return Progress(step=int(step) if isinstance(step, int | float) else None,
                    total_steps=int(total) if isinstance(total, int | float) else None, epoch=epoch)


def job_status(job: dict[str, Any], *, events: list[dict[str, Any]] | None = None,
               checkpoints: list[dict[str, Any]] | None = None, training_usd_per_1m: float | None = None) -> JobStatus:
    """A JobStatus from a FineTuningJob object plus (optionally) its newest events and checkpoints."""
    raw = str(job.get("status") or "")
    state = map_state(raw)
    metrics_data = latest_metrics_event(events or [])
    newest_checkpoint = max(checkpoints or [], key=lambda c: c.get("step_number") or 0, default=None)
    metrics = _numbers(newest_checkpoint.get("metrics") or {}) if newest_checkpoint else {}
    metrics.update(_numbers(metrics_data or {}))
    error = job.get("error")
    trained = job.get("trained_tokens")
    return JobStatus(
        state=state,
        raw_state=raw or None,
        progress=_progress(job, metrics_data, newest_checkpoint),
        metrics=metrics,
        eta=_when(job.get("estimated_finish")) if state is JobState.RUNNING else None,
        result=JobResult(model_id=job["fine_tuned_model"]) if job.get("fine_tuned_model") else None,
        error=JobError(code=error.get("code"), message=_error_message(error)) if error else None,
        trained_tokens=trained if isinstance(trained, int) else None,
        runtime=_runtime(job, checkpoints or [], training_usd_per_1m) if state.terminal else {},
    )


def _error_message(error: dict[str, Any]) -> str:
    message = str(error.get("message") or "the job failed")
    param = error.get("param")
    return f"{message} (in {param})" if param else message


def _runtime(job: dict[str, Any], checkpoints: list[dict[str, Any]], usd_per_1m: float | None) -> dict[str, Any]:
    """What the job actually took: wall time, epochs, checkpoints, and the cost of its trained tokens."""
    runtime: dict[str, Any] = {}
    created, finished = job.get("created_at"), job.get("finished_at")
    if isinstance(created, int) and isinstance(finished, int) and finished >= created:
        runtime["wall_time_s"] = finished - created
    epochs = _epochs(job)
    if epochs:
        runtime["epochs"] = epochs
    trained = job.get("trained_tokens")
    if isinstance(trained, int) and usd_per_1m is not None:
        runtime["cost_usd"] = round(trained / 1_000_000 * usd_per_1m, 6)
    names = [c["fine_tuned_model_checkpoint"] for c in sorted(checkpoints, key=lambda c: c.get("step_number") or 0)
             if c.get("fine_tuned_model_checkpoint")]
    if names:
        runtime["checkpoints"] = names
    if job.get("result_files"):
        runtime["result_files"] = list(job["result_files"])
    return runtime
