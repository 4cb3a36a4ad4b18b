"""The Backend contract the core relies on: a typed estimate, one refresh call per poll, and a JobRecord
that embeds the status model (one definition, one way to apply a status) with an unchanged JSON shape."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from ftrouter.cost.types import TrainingEstimate
from ftrouter.jobs.models import (
    JobError,
    JobEstimate,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    PreparedJob,
    Progress,
    Refresh,
    RemoteRef,
    StatusFields,
)
from ftrouter.jobs.polling import PollSchedule
from ftrouter.jobs.record import JobRecord
from ftrouter.jobs.registry import Registry
from ftrouter.jobs.service import JobService

# `status --json` as documented in docs/jobs.md and printed before the status model was shared
STATUS_JSON_KEYS = ["id", "backend", "remote_id", "state", "raw_state", "progress", "metrics", "eta", "result",
                    "error", "trained_tokens", "estimate", "actual", "spec", "ref_extra", "files", "refresh_error",
                    "created_at", "updated_at"]


def _training_estimate(**changes: object) -> TrainingEstimate:
    values: dict[str, object] = dict(backend="openai", model="gpt-4.1-mini", method="sft", epochs=3,
                                     billed_tokens=30_000, cost_usd=None, hours=None, gpu=None, fits=True,
                                     assumptions={"price": "no training price in the catalog"},
                                     prices_as_of=date(2026, 8, 1))
    values.update(changes)
    return TrainingEstimate.model_validate(values)


def _service(backend: FakeBackend) -> JobService:
    return JobService(Registry(), sleep=lambda s: None, backend_factory=lambda name: backend)


def _spec(train_file: Path) -> JobSpec:
    return JobSpec(backend="fake", model="tiny", data=str(train_file))


# -- the typed estimate ------------------------------------------------------------------------------


def test_the_job_estimate_holds_every_field_of_the_cost_engines_estimate() -> None:
    assert set(JobEstimate.model_fields) == set(TrainingEstimate.model_fields)
    engine = _training_estimate(cost_usd=1.25)
    estimate = JobEstimate.from_training(engine)
    assert estimate.cost_usd == 1.25 and estimate.billed_tokens == 30_000 and estimate.prices_as_of == date(2026, 8, 1)
    # the JSON is what the plain dict was: every key, nulls kept, the date as ISO text
    assert estimate.as_dict() == engine.model_dump(mode="json")
    assert estimate.as_dict()["hours"] is None and estimate.as_dict()["prices_as_of"] == "2026-08-01"


def test_an_empty_estimate_prints_as_an_empty_object() -> None:
    assert JobEstimate().as_dict() == {}
    record = Registry().create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d"), local_id="ftr-empty2"))
    assert record.to_json()["estimate"] == {}


def test_a_third_party_backends_own_estimate_keys_survive_the_registry() -> None:
    registry = Registry()
    prepared = PreparedJob(spec=JobSpec(backend="fake", model="m", data="d"), local_id="ftr-third2",
                           estimate={"cost_usd": 2.0, "acme_credits": 40, "quote": {"id": "q-1"}})
    registry.create(prepared)
    stored = registry.get("ftr-third2")
    assert stored.estimate.cost_usd == 2.0
    assert stored.to_json()["estimate"] == {"cost_usd": 2.0, "acme_credits": 40, "quote": {"id": "q-1"}}


def test_rows_written_with_a_plain_dict_estimate_still_load(ftrouter_home: Path) -> None:
    """A row as an older ftrouter stored it (the estimate a TrainingEstimate dump, or {}) loads, reads
    typed, and prints exactly as it was stored."""
    registry = Registry()
    registry.create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d"), local_id="ftr-old222"))
    registry.create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d"), local_id="ftr-old333"))
    legacy = _training_estimate().model_dump(mode="json")
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        for local_id, estimate in (("ftr-old222", legacy), ("ftr-old333", {})):
            row = json.loads(conn.execute("SELECT record FROM jobs WHERE local_id = ?", (local_id,)).fetchone()[0])
            row["estimate"] = estimate
            conn.execute("UPDATE jobs SET record = ? WHERE local_id = ?", (json.dumps(row), local_id))

    old = registry.get("ftr-old222")
    assert old.estimate.billed_tokens == 30_000 and old.estimate.fits is True and old.estimate.cost_usd is None
    assert old.to_json()["estimate"] == legacy
    assert registry.get("ftr-old333").to_json()["estimate"] == {}


# -- one refresh call ---------------------------------------------------------------------------------


class OneCall(FakeBackend):
    """A backend whose provider answers status and events in one response: it overrides ``refresh``."""

    afters: list[str | None] = []  # noqa: RUF012 - what each refresh was asked for

    def refresh(self, ref: RemoteRef, after: str | None = None) -> Refresh:
        self.calls.append("refresh")
        self.afters.append(after)
        status = FakeBackend.status(self, ref)
        events = FakeBackend.events(self, ref, after)
        del self.calls[-2:]  # the fake's own bookkeeping: one provider call was made
        return Refresh(status=status, events=events)


def test_a_backend_that_overrides_refresh_is_asked_once_per_poll(train_file: Path) -> None:
    OneCall.afters = []
    service = _service(OneCall())
    record = service.submit(_spec(train_file))
    FakeBackend.calls.clear()
    seen: list[int] = []
    final = service.watch(record.id, lambda r, events: seen.append(len(events)), PollSchedule(initial_s=1))
    assert final.state is JobState.SUCCEEDED
    assert FakeBackend.calls == ["refresh"] * 3  # no separate status or events read
    assert sum(seen) == 4 and [e.id for e in service.registry.events(record.id)] == ["ev-1", "ev-2", "ev-3", "ev-4"]
    assert OneCall.afters == [None, "ev-1", "ev-2"]  # each poll asks only for what is new


def test_listing_jobs_refreshes_through_the_same_single_call(train_file: Path) -> None:
    service = _service(OneCall())
    record = service.submit(_spec(train_file))
    FakeBackend.calls.clear()
    [listed] = service.refresh_many(service.registry.list_jobs())
    assert FakeBackend.calls == ["refresh"] and listed.state is JobState.RUNNING
    assert [e.id for e in service.registry.events(record.id)] == ["ev-1"]  # its events are kept too


def test_the_default_refresh_asks_status_then_events_after_the_last_known_event(train_file: Path) -> None:
    afters: list[str | None] = []

    class Plain(FakeBackend):
        def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
            afters.append(after)
            return super().events(ref, after)

    service = _service(Plain())
    record = service.submit(_spec(train_file))
    FakeBackend.calls.clear()
    service.refresh(record.id)
    service.refresh(record.id)
    assert FakeBackend.calls == ["status", "events", "status", "events"]
    assert afters == [None, "ev-1"]
    answer = Plain().refresh(service.registry.get(record.id).ref(), after="ev-1")
    # status first: the step it advanced (to the end) is already among the events
    assert answer.status.state is JobState.SUCCEEDED and [e.id for e in answer.events] == ["ev-2", "ev-3", "ev-4"]


def test_refreshed_events_are_redacted_and_stored_once(train_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Leaky(FakeBackend):
        def refresh(self, ref: RemoteRef, after: str | None = None) -> Refresh:
            event = JobEvent(id="ev-x", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                             message="auth failed for key abc-TEST-0123456789abcdefghij")
            return Refresh(status=JobStatus(state=JobState.RUNNING), events=[event])

    monkeypatch.setenv("ACME_API_KEY", "abc-TEST-0123456789abcdefghij")
    service = _service(Leaky())
    record = service.submit(_spec(train_file))
    _, first = service.refresh(record.id)
    _, second = service.refresh(record.id)
    assert len(first) == 1 and "abc-TEST-0123456789abcdefghij" not in first[0].message
    assert second == [] and len(service.registry.events(record.id)) == 1


# -- JobRecord embeds the status model ----------------------------------------------------------------


def test_the_record_is_the_status_model_plus_the_jobs_own_facts() -> None:
    assert issubclass(JobRecord, StatusFields) and issubclass(JobStatus, StatusFields)
    assert set(StatusFields.model_fields) <= set(JobRecord.model_fields)


def test_status_json_keeps_its_keys_and_their_order() -> None:
    record = Registry().create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d"), local_id="ftr-order2"))
    assert list(record.to_json()) == STATUS_JSON_KEYS
    assert list(json.loads(record.model_dump_json())) == STATUS_JSON_KEYS


def test_applying_a_status_takes_every_status_field() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    record = JobRecord(id="ftr-apply2", backend="fake", state=JobState.RUNNING, trained_tokens=10,
                       spec=JobSpec(backend="fake", model="m", data="d"), refresh_error="timed out",
                       created_at=now, updated_at=now)
    status = JobStatus(state=JobState.RUNNING, raw_state="training", progress=Progress(step=2, total_steps=4),
                       metrics={"loss": 0.5}, eta=datetime(2026, 1, 2, tzinfo=UTC))
    record.apply_status(status)
    expected = status.model_dump(include=set(StatusFields.model_fields)) | {"trained_tokens": 10}
    assert record.model_dump(include=set(StatusFields.model_fields)) == expected  # unreported tokens are kept
    assert record.refresh_error is None and record.actual == {}
    status.metrics["loss"] = 9.0  # the record holds its own copy
    assert record.metrics == {"loss": 0.5}

    record.apply_status(JobStatus(state=JobState.SUCCEEDED, trained_tokens=40, runtime={"wall_time_s": 3.0},
                                  updated_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC)))
    assert record.trained_tokens == 40 and record.progress == Progress()
    assert record.actual == {"trained_tokens": 40, "wall_time_s": 3.0, "state": "succeeded",
                             "ended_at": "2026-01-01T00:01:00+00:00", "elapsed_s": 60.0}


@pytest.mark.parametrize("field", sorted(StatusFields.model_fields))
def test_a_change_in_any_status_field_is_logged(field: str) -> None:
    """The status history records a refresh that changed any status field (the list is not restated)."""
    registry = Registry()
    local_id = f"ftr-log{sorted(StatusFields.model_fields).index(field) + 22}"
    registry.create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d"), local_id=local_id))
    base = JobStatus(state=JobState.RUNNING)
    registry.record_status(local_id, base)
    changed = {"state": JobState.PAUSED, "raw_state": "x", "progress": Progress(step=1), "metrics": {"loss": 1.0},
               "eta": datetime(2030, 1, 1, tzinfo=UTC), "result": JobResult(model_id="m"),
               "error": JobError(message="e"), "trained_tokens": 5}[field]
    registry.record_status(local_id, base.model_copy(update={field: changed}))
    assert len(registry.history(local_id)) == 2


def test_progress_reads_the_same_in_the_cli_and_the_dashboard() -> None:
    from ftrouter.jobs.view import _progress_text
    from ftrouter.serve.facts import progress_text

    def with_progress(progress: Progress) -> JobRecord:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        return JobRecord(id="ftr-prog01", backend="fake", state=JobState.RUNNING, progress=progress,
                         spec=JobSpec(backend="fake", model="m", data="d"), created_at=now, updated_at=now)

    record = with_progress(Progress(step=1200, total_steps=4800, epoch=0.5))
    assert progress_text(record) == _progress_text(record) == "step 1,200/4,800 · epoch 0.5 · 25%"
    assert progress_text(with_progress(Progress())) == "" and _progress_text(with_progress(Progress())) is None
