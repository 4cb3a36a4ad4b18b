"""The SQLite job registry: schema, ids, records, history, events, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ftrouter.errors import JobNotFound, RegistryError
from ftrouter.jobs.migrations import SCHEMA_VERSION
from ftrouter.jobs.models import (
    JobError,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    PreparedJob,
    Progress,
    RemoteRef,
)
from ftrouter.jobs.paths import registry_path
from ftrouter.jobs.registry import ID_PREFIX, Registry, new_local_id


def _prepared(local_id: str | None = None, backend: str = "fake") -> PreparedJob:
    spec = JobSpec(backend=backend, model="m", data="train.jsonl")
    return PreparedJob(spec=spec, local_id=local_id or new_local_id(), estimate={"usd": 1.5, "tokens": 100})


def test_registry_lives_under_ftrouter_home_with_wal_and_schema(ftrouter_home: Path) -> None:
    registry = Registry()
    assert registry.count() == 0
    assert registry.path == ftrouter_home / "jobs.db" == registry_path()
    assert registry.schema_version == SCHEMA_VERSION
    with sqlite3.connect(registry.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"jobs", "status_log", "events"} <= tables


def test_local_ids_are_short_readable_and_distinct() -> None:
    ids = {new_local_id() for _ in range(2000)}
    assert len(ids) == 2000
    for local_id in list(ids)[:50]:
        assert local_id.startswith(ID_PREFIX) and len(local_id) == len(ID_PREFIX) + 6
        assert not set(local_id[4:]) & set("01ilo")


def test_job_lifecycle_is_recorded() -> None:
    registry = Registry()
    prepared = _prepared()
    record = registry.create(prepared)
    assert record.state is JobState.SUBMITTING and record.remote_id is None
    assert registry.submitter(record.id)

    record = registry.attach_remote(record.id, RemoteRef(backend="fake", remote_id="r-1", local_id=record.id,
                                                         extra={"project": "p"}))
    assert record.state is JobState.PENDING and record.remote_id == "r-1"
    assert registry.submitter(record.id) is None
    assert record.ref().extra == {"project": "p"}

    running = JobStatus(state=JobState.RUNNING, raw_state="running", progress=Progress(step=5, total_steps=10),
                        metrics={"train_loss": 0.7})
    registry.record_status(record.id, running)
    registry.record_status(record.id, running)  # an unchanged refresh adds no history row
    done = JobStatus(state=JobState.SUCCEEDED, raw_state="succeeded", result=JobResult(model_id="ft:m:x"),
                     trained_tokens=4321, runtime={"wall_time_s": 12.5, "tokens_per_second": 345.6},
                     updated_at=datetime(2030, 1, 1, tzinfo=UTC))
    record = registry.record_status(record.id, done)

    assert record.state is JobState.SUCCEEDED and record.result and record.result.model_id == "ft:m:x"
    assert record.estimate.as_dict() == {"usd": 1.5, "tokens": 100}
    assert record.actual["trained_tokens"] == 4321
    assert record.actual["wall_time_s"] == 12.5 and record.actual["tokens_per_second"] == 345.6
    assert record.actual["state"] == "succeeded" and record.actual["elapsed_s"] > 0
    assert [s.state for s in registry.history(record.id)] == [JobState.RUNNING, JobState.SUCCEEDED]
    assert registry.get(record.id) == record


def test_status_json_contract_has_the_documented_keys() -> None:
    registry = Registry()
    record = registry.create(_prepared())
    data = record.to_json()
    for key in ("id", "backend", "remote_id", "state", "raw_state", "progress", "metrics", "result", "error",
                "estimate", "actual"):
        assert key in data
    assert data["state"] == "submitting"


def test_get_by_local_id_short_id_or_remote_id() -> None:
    registry = Registry()
    record = registry.create(_prepared("ftr-abcdef"))
    registry.attach_remote(record.id, RemoteRef(backend="fake", remote_id="ftjob-xyz", local_id=record.id))
    assert registry.get("ftr-abcdef").id == registry.get("abcdef").id == registry.get("ftjob-xyz").id
    with pytest.raises(JobNotFound, match="ftr-nope"):
        registry.get("ftr-nope")


def test_duplicate_local_id_is_refused() -> None:
    registry = Registry()
    registry.create(_prepared("ftr-aaaaaa"))
    with pytest.raises(RegistryError, match="already exists"):
        registry.create(_prepared("ftr-aaaaaa"))


def test_events_are_appended_once_and_kept_in_order() -> None:
    registry = Registry()
    record = registry.create(_prepared())
    t = datetime(2026, 1, 1, tzinfo=UTC)
    first = [JobEvent(id="e1", created_at=t, message="a"), JobEvent(id="e2", created_at=t, message="b")]
    assert registry.add_events(record.id, first) == 2
    assert registry.add_events(record.id, [*first, JobEvent(id="e3", created_at=t, message="c")]) == 1
    assert [e.id for e in registry.events(record.id)] == ["e1", "e2", "e3"]
    assert registry.last_event_id(record.id) == "e3"


def test_failed_submission_ends_the_job() -> None:
    registry = Registry()
    record = registry.create(_prepared())
    record = registry.mark_submit_failed(record.id, JobError(code="auth_error", message="no key"))
    assert record.state is JobState.FAILED and record.error and record.error.code == "auth_error"
    assert registry.submitting() == []


def test_list_shows_unfinished_and_recent_jobs_unless_all() -> None:
    registry = Registry()
    old_running = registry.create(_prepared())
    registry.record_status(old_running.id, JobStatus(state=JobState.RUNNING))
    for _ in range(4):
        done = registry.create(_prepared())
        registry.record_status(done.id, JobStatus(state=JobState.SUCCEEDED))
    assert len(registry.list_jobs(include_all=True)) == 5
    recent = registry.list_jobs(recent=2)
    assert old_running.id in {r.id for r in recent} and len(recent) == 3
    assert registry.list_jobs(include_all=True)[0].created_at >= registry.list_jobs(include_all=True)[-1].created_at


def test_newer_schema_is_refused(ftrouter_home: Path) -> None:
    Registry().count()
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RegistryError, match="newer"):
        Registry().count()


def test_corrupt_registry_is_a_clear_error(ftrouter_home: Path) -> None:
    (ftrouter_home / "jobs.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(RegistryError, match=r"jobs\.db"):
        Registry().count()


def _writer(args: tuple[str, int, int]) -> list[str]:
    home, worker, jobs = args
    import os

    os.environ["FTROUTER_HOME"] = home
    registry = Registry()
    ids = []
    for n in range(jobs):
        record = registry.create(_prepared())
        registry.attach_remote(record.id, RemoteRef(backend="fake", remote_id=f"r-{worker}-{n}", local_id=record.id))
        for step in range(3):
            registry.record_status(record.id, JobStatus(state=JobState.RUNNING, progress=Progress(step=step)))
        registry.add_events(record.id, [JobEvent(id=f"e{n}", created_at=datetime.now(UTC), message="x")])
        ids.append(record.id)
    return ids


@pytest.mark.slow
def test_concurrent_processes_lose_no_rows(ftrouter_home: Path) -> None:
    workers, jobs = 6, 15
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        results = pool.map(_writer, [(str(ftrouter_home), w, jobs) for w in range(workers)])
    written = [local_id for ids in results for local_id in ids]
    registry = Registry()
    assert registry.count() == workers * jobs == len(set(written))
    for local_id in written:
        record = registry.get(local_id)
        assert record.state is JobState.RUNNING and record.progress.step == 2
        assert len(registry.history(local_id)) == 3
        assert len(registry.events(local_id)) == 1
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
