"""Together's fine-tune objects -> ftrouter's JobStatus / JobEvent (FinetuneResponse, FineTuneEvent,
FineTuneCheckpoint and the metrics snapshots of Together's published OpenAPI spec).

Statuses (FinetuneJobStatus): anything not in the table maps to ``unknown`` with the raw value kept.
Events carry no id; their ``hash`` (required by the spec) identifies them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ftrouter.jobs.models import JobError, JobEvent, JobResult, JobState, JobStatus, Progress

STATE_MAP: dict[str, JobState] = {
    "pending": JobState.PENDING,
    "queued": JobState.PENDING,
    "running": JobState.RUNNING,
    "compressing": JobState.RUNNING,  # training done, the model is being packaged
    "uploading": JobState.RUNNING,
    "cancel_requested": JobState.RUNNING,  # still running until Together confirms `cancelled`
    "cancelled": JobState.CANCELLED,
    "error": JobState.FAILED,
    "completed": JobState.SUCCEEDED,
}
# statuses after which checkpoints and metrics can hold something worth fetching for `status`
HAS_TRAINING_DATA = frozenset({"running", "compressing", "uploading", "cancel_requested", "cancelled", "error",
                               "completed"})
_LEVELS = {"info": "info", "warning": "warning", "error": "error", "debug": "info"}
_EVENT_TYPES = {"checkpoint_save": "checkpoint", "epoch_complete": "metrics", "job_error": "state",
                "job_complete": "state", "job_start": "state", "job_stopped": "state", "cancel_requested": "state"}


def map_state(raw: str | None) -> JobState:
    return STATE_MAP.get(raw or "", JobState.UNKNOWN)


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def event_id(raw: dict[str, Any]) -> str:
    return str(raw.get("hash") or f"{raw.get('created_at')}:{raw.get('type')}:{raw.get('step')}")


def to_event(raw: dict[str, Any]) -> JobEvent:
    level = str(raw.get("level") or "info").lower()
    data = {k: raw[k] for k in ("step", "total_steps", "token_count", "checkpoint_path", "wandb_url")
            if raw.get(k) not in (None, "", 0)}
    return JobEvent(id=event_id(raw), created_at=_when(raw.get("created_at")) or datetime.now(UTC),
                    level=_LEVELS.get(level, "info"),  # type: ignore[arg-type]
                    message=str(raw.get("message") or raw.get("type") or ""),
                    type=_EVENT_TYPES.get(str(raw.get("type")), "message"), data=data)


def _metrics(snapshots: list[dict[str, Any]]) -> dict[str, float]:
    """The newest snapshot, ``train/loss`` -> ``train_loss``."""
    newest = snapshots[-1] if snapshots else {}
    return {key.replace("/", "_"): float(value) for key, value in newest.items()
            if isinstance(value, int | float) and not isinstance(value, bool)}


def _progress(job: dict[str, Any], events: list[dict[str, Any]]) -> Progress:
    stepped = [e for e in events if isinstance(e.get("step"), int) and e.get("step")]
    newest = stepped[-1] if stepped else {}
    total = newest.get("total_steps") if isinstance(newest.get("total_steps"), int) else None
    epochs = job.get("epochs_completed")
    return Progress(step=newest.get("step"), total_steps=total or None,
                    epoch=float(epochs) if isinstance(epochs, int | float) else None)


def _eta(job: dict[str, Any], state: JobState) -> datetime | None:
    progress = job.get("progress") or {}
    seconds = progress.get("seconds_remaining")
    if state is JobState.RUNNING and progress.get("estimate_available") and isinstance(seconds, int | float):
        return datetime.now(UTC) + timedelta(seconds=float(seconds))
    return None


def _error(events: list[dict[str, Any]], state: JobState) -> JobError | None:
    if state is not JobState.FAILED:
        return None
    failure = next((e for e in reversed(events) if e.get("type") == "job_error" or e.get("level") == "error"), None)
    return JobError(code="job_error", message=str(failure.get("message") if failure else "the job failed"))


def job_status(job: dict[str, Any], *, events: list[dict[str, Any]] | None = None,
               checkpoints: list[dict[str, Any]] | None = None,
               metrics: list[dict[str, Any]] | None = None) -> JobStatus:
    """A JobStatus from a fine-tune object (its ``events`` used when ``events`` is None), plus its
    checkpoints and metrics snapshots when they were read."""
    raw = str(job.get("status") or "")
    state = map_state(raw)
    events = list(job.get("events") or []) if events is None else events
    output = job.get("model_output_name")
    tokens = job.get("token_count")
    runtime: dict[str, Any] = {}
    if state.terminal:
        if checkpoints:
            runtime["checkpoints"] = [c["path"] for c in sorted(checkpoints, key=lambda c: c.get("step") or 0)
                                      if c.get("path")]
        if isinstance(job.get("total_price"), int | float):
            runtime["provider_total_price"] = job["total_price"]  # Together's figure, unit not documented
        if isinstance(job.get("epochs_completed"), int):
            runtime["epochs"] = job["epochs_completed"]
    return JobStatus(
        state=state, raw_state=raw or None, progress=_progress(job, events), metrics=_metrics(metrics or []),
        eta=_eta(job, state),
        result=JobResult(model_id=str(output)) if output and state is JobState.SUCCEEDED else None,
        error=_error(events, state), trained_tokens=tokens if isinstance(tokens, int) else None, runtime=runtime)
