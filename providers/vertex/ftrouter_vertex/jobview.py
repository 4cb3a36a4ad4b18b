"""Read a Vertex ``TuningJob`` (REST JSON, camelCase) into ftrouter's ``JobStatus`` and ``JobEvent``s.

The parser works on the REST shape so that it reads exactly what the API sends (and what the cassettes
hold). Vertex sends every int64 as a JSON string (``"epochCount": "3"``); ``as_int`` accepts both
strings and numbers because the google-genai client converts some of them on the way.

Vertex has no event log for tuning jobs. What it does offer - create/start/end times, the data
statistics computed once the job starts, checkpoints, the error - is turned into events with stable
ids, so ``ftrouter events`` shows the same story on every call and ``after=`` works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ftrouter.jobs.models import JobError, JobEvent, JobResult, JobState, JobStatus, Progress
from ftrouter_vertex.states import map_state

# google.rpc.Code, for readable error codes (the API sends the number).
RPC_CODES: dict[int, str] = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
    10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
    15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


def as_int(value: Any) -> int | None:
    """An int64 field: ``"1234"`` or ``1234`` -> 1234; missing or malformed -> None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 (``2026-11-21T10:00:00.123456Z``) -> aware datetime; None when absent or malformed."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    # Python < 3.11.? rejects more than 6 fractional digits; Google sends up to 9.
    head, dot, tail = text.partition(".")
    if dot:
        digits = "".join(ch for ch in tail if ch.isdigit())
        tail = digits[:6] + tail[len(digits):]
        text = f"{head}.{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # Google's times are UTC


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: str
    epoch: int | None
    step: int | None
    endpoint: str | None


@dataclass(frozen=True)
class DataStats:
    """``tuningDataStats.supervisedTuningDataStats``, int64 fields parsed."""

    billable_tokens: int | None = None
    billable_characters: int | None = None
    example_count: int | None = None
    step_count: int | None = None
    truncated_examples: int | None = None
    dropped_reasons: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, stats: Mapping[str, Any] | None) -> DataStats | None:
        sft = (stats or {}).get("supervisedTuningDataStats")
        if not sft:
            return None
        return cls(
            billable_tokens=as_int(sft.get("totalBillableTokenCount")),
            billable_characters=as_int(sft.get("totalBillableCharacterCount")),
            example_count=as_int(sft.get("tuningDatasetExampleCount")),
            step_count=as_int(sft.get("tuningStepCount")),
            truncated_examples=as_int(sft.get("totalTruncatedExampleCount")),
            dropped_reasons=tuple(str(r) for r in sft.get("droppedExampleReasons") or ()),
        )


@dataclass(frozen=True)
class TuningJobView:
    """The parts of a TuningJob that ftrouter uses."""

    name: str
    raw_state: str | None
    base_model: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    epochs: int | None = None
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    update_time: datetime | None = None
    tuned_model: str | None = None
    endpoint: str | None = None
    checkpoints: tuple[Checkpoint, ...] = ()
    stats: DataStats | None = None
    error_code: int | None = None
    error_message: str | None = None

    @property
    def state(self) -> JobState:
        return map_state(self.raw_state)

    @property
    def job_id(self) -> str:
        return self.name.rsplit("/", 1)[-1]


def _checkpoints(tuned: Mapping[str, Any]) -> tuple[Checkpoint, ...]:
    return tuple(
        Checkpoint(
            checkpoint_id=str(c.get("checkpointId", "")),
            epoch=as_int(c.get("epoch")),
            step=as_int(c.get("step")),
            endpoint=c.get("endpoint"),
        )
        for c in tuned.get("checkpoints") or ()
    )


def parse_job(data: Mapping[str, Any]) -> TuningJobView:
    """Parse a TuningJob JSON object (REST field names)."""
    tuned = data.get("tunedModel") or {}
    hyper = (data.get("supervisedTuningSpec") or {}).get("hyperParameters") or {}
    error = data.get("error") or {}
    return TuningJobView(
        name=str(data.get("name", "")),
        raw_state=data.get("state"),
        base_model=data.get("baseModel"),
        labels=dict(data.get("labels") or {}),
        epochs=as_int(hyper.get("epochCount")),
        create_time=parse_time(data.get("createTime")),
        start_time=parse_time(data.get("startTime")),
        end_time=parse_time(data.get("endTime")),
        update_time=parse_time(data.get("updateTime")),
        tuned_model=tuned.get("model"),
        endpoint=tuned.get("endpoint"),
        checkpoints=_checkpoints(tuned),
        stats=DataStats.from_json(data.get("tuningDataStats")),
        error_code=as_int(error.get("code")),
        error_message=error.get("message"),
    )


# -- status ----------------------------------------------------------------------------------------


def _progress(job: TuningJobView) -> Progress:
    steps = [c.step for c in job.checkpoints if c.step is not None]
    epochs = [c.epoch for c in job.checkpoints if c.epoch is not None]
    total = job.stats.step_count if job.stats else None
    step = max(steps) if steps else None
    if job.state is JobState.SUCCEEDED and total is not None:
        step = total
    return Progress(step=step, total_steps=total, epoch=float(max(epochs)) if epochs else None)


def _error(job: TuningJobView) -> JobError | None:
    if not job.error_message and job.error_code is None:
        return None
    code = RPC_CODES.get(job.error_code, str(job.error_code)) if job.error_code is not None else None
    return JobError(code=code, message=job.error_message or code or "unknown error")


def _runtime(job: TuningJobView) -> dict[str, Any]:
    runtime: dict[str, Any] = {}
    stats = job.stats
    if stats is not None:
        facts = {
            "billable_tokens": stats.billable_tokens,
            "billable_characters": stats.billable_characters,
            "example_count": stats.example_count,
            "tuning_steps": stats.step_count,
            "truncated_examples": stats.truncated_examples,
        }
        runtime.update({k: v for k, v in facts.items() if v is not None})
    if job.epochs is not None:
        runtime["epochs"] = job.epochs
    if job.start_time and job.end_time:
        runtime["wall_time_s"] = round((job.end_time - job.start_time).total_seconds(), 3)
    return runtime


def trained_tokens(job: TuningJobView) -> int | None:
    """Tokens the training processed: the dataset's billable tokens times the epochs.

    ``totalBillableTokenCount`` counts the tuning DATASET once; Vertex bills it once per epoch, and
    OpenAI's ``trained_tokens`` (and the cost engine's ``billed_tokens``) mean the total over epochs,
    so this is what is comparable side by side. With no epoch count known the dataset count is used.
    """
    if job.stats is None or job.stats.billable_tokens is None:
        return None
    return job.stats.billable_tokens * (job.epochs or 1)


def to_status(job: TuningJobView) -> JobStatus:
    """A ``JobStatus`` in ftrouter's common form."""
    result = None
    if job.tuned_model or job.endpoint:
        result = JobResult(model_id=job.tuned_model, endpoint=job.endpoint)
    return JobStatus(
        state=job.state,
        raw_state=job.raw_state,
        progress=_progress(job),
        result=result,
        error=_error(job),
        trained_tokens=trained_tokens(job),
        runtime=_runtime(job),
    )


# -- events ----------------------------------------------------------------------------------------

_END_LEVEL = {JobState.FAILED: "error", JobState.CANCELLED: "warning", JobState.SUCCEEDED: "info"}


def _at(*candidates: datetime | None) -> datetime | None:
    return next((c for c in candidates if c is not None), None)


def _stats_event(job: TuningJobView, when: datetime) -> JobEvent | None:
    stats = job.stats
    if stats is None:
        return None
    parts = []
    if stats.example_count is not None:
        parts.append(f"{stats.example_count} examples")
    if stats.billable_tokens is not None:
        parts.append(f"{stats.billable_tokens} billable tokens")
    if stats.step_count is not None:
        parts.append(f"{stats.step_count} tuning steps")
    if stats.truncated_examples:
        parts.append(f"{stats.truncated_examples} examples truncated or dropped")
    data = {k: v for k, v in _runtime(job).items() if k not in ("epochs", "wall_time_s")}
    message = "tuning data statistics: " + (", ".join(parts) or "computed")
    return JobEvent(id="stats", created_at=when, message=message, type="metrics", data=data)


def _checkpoint_events(job: TuningJobView, when: datetime) -> list[JobEvent]:
    return [
        JobEvent(
            id=f"checkpoint-{c.checkpoint_id}",
            created_at=when,
            message=f"checkpoint {c.checkpoint_id} (epoch {c.epoch}, step {c.step})",
            type="checkpoint",
            data={k: v for k, v in {"epoch": c.epoch, "step": c.step, "endpoint": c.endpoint}.items() if v is not None},
        )
        for c in job.checkpoints
    ]


def _end_event(job: TuningJobView, when: datetime) -> JobEvent:
    state = job.state
    message = f"job {state.value} ({job.raw_state})"
    if job.error_message:
        message += f": {job.error_message}"
    data: dict[str, Any] = {"state": state.value, "raw_state": job.raw_state}
    if job.tuned_model:
        data["tuned_model"] = job.tuned_model
    if job.endpoint:
        data["endpoint"] = job.endpoint
    level = _END_LEVEL.get(state, "info")
    return JobEvent(id=f"state-{state.value}", created_at=when, level=level, message=message, type="state", data=data)  # type: ignore[arg-type]


def to_events(job: TuningJobView) -> list[JobEvent]:
    """The job's history as events, oldest first, with ids that stay the same between calls."""
    created = _at(job.create_time, job.update_time)
    if created is None:
        return []
    events = [JobEvent(id="state-created", created_at=created, message=f"tuning job {job.job_id} created "
                       f"for {job.base_model or 'an unknown base model'}", type="state",
                       data={"state": "pending", "name": job.name})]
    if job.start_time is not None:
        events.append(JobEvent(id="state-running", created_at=job.start_time, message="job running", type="state",
                               data={"state": "running"}))
    progress_time = _at(job.start_time, job.update_time, created)
    assert progress_time is not None
    stats = _stats_event(job, progress_time)
    if stats is not None:
        events.append(stats)
    events.extend(_checkpoint_events(job, _at(job.end_time, job.update_time, progress_time) or progress_time))
    if job.state.terminal or job.state is JobState.PAUSED:
        events.append(_end_event(job, _at(job.end_time, job.update_time, progress_time) or progress_time))
    return events


def events_after(events: list[JobEvent], after: str | None) -> list[JobEvent]:
    """The events that follow the one with id ``after`` (all of them when it is None or unknown)."""
    if after is None:
        return events
    for index, event in enumerate(events):
        if event.id == after:
            return events[index + 1:]
    return events
