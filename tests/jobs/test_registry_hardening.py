"""Issue 17, items 6, 10, 11, 12 and 16: stale observations, private files, read-only use, a new
registry opened by many processes at once, and a relocatable FTROUTER_HOME."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_backend import FakeBackend

from ftrouter.errors import RegistryError
from ftrouter.jobs.migrations import MIGRATIONS, SCHEMA_VERSION
from ftrouter.jobs.models import JobSpec, JobState, JobStatus, PreparedJob, RemoteRef
from ftrouter.jobs.registry import Registry, new_local_id
from ftrouter.jobs.service import JobService


def _job(registry: Registry, **extra: Any) -> str:
    local_id = new_local_id()
    registry.create(PreparedJob(spec=JobSpec(backend="fake", model="m", data="d.jsonl"), local_id=local_id))
    registry.attach_remote(local_id, RemoteRef(backend="fake", remote_id="r-" + local_id, local_id=local_id,
                                               extra=extra))
    return local_id


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- item 6: an older observation never replaces a newer one ------------------------------------


def test_an_older_observation_never_replaces_a_newer_state() -> None:
    registry = Registry()
    local_id = _job(registry)
    t0 = datetime.now(UTC)
    registry.record_status(local_id, JobStatus(state=JobState.CANCELLED), observed_at=t0 + timedelta(seconds=2))
    stale = registry.record_status(local_id, JobStatus(state=JobState.PENDING), observed_at=t0 + timedelta(seconds=1))
    assert stale.state is JobState.CANCELLED and registry.get(local_id).state is JobState.CANCELLED
    assert [s.state for s in registry.history(local_id)] == [JobState.CANCELLED]


def test_an_ended_job_stays_ended_unless_the_backend_reopens_it() -> None:
    registry = Registry()
    local_id = _job(registry)
    t0 = datetime.now(UTC)
    registry.record_status(local_id, JobStatus(state=JobState.SUCCEEDED), observed_at=t0)
    later = registry.record_status(local_id, JobStatus(state=JobState.RUNNING), observed_at=t0 + timedelta(seconds=1))
    assert later.state is JobState.SUCCEEDED
    reopened = registry.record_status(local_id, JobStatus(state=JobState.PENDING), reopen=True,
                                      observed_at=t0 + timedelta(seconds=2))
    assert reopened.state is JobState.PENDING  # `resume`: the backend itself started it again


def test_a_slow_refresh_does_not_undo_a_cancel_made_meanwhile(train_file: Path) -> None:
    """Interleaved writers: a refresh asks the backend, a cancel is recorded while the answer is on its
    way, then the refresh's (older) answer arrives."""
    asked, release = threading.Event(), threading.Event()

    class Slow(FakeBackend):
        def status(self, ref: RemoteRef) -> JobStatus:
            answer = super().status(ref)  # the provider's state when it was asked: running
            asked.set()
            release.wait(10)
            return answer

    slow = Slow()
    service = JobService(Registry(), backend_factory=lambda name: slow)
    record = service.submit(JobSpec(backend="fake", model="m", data=str(train_file)))
    refresh = threading.Thread(target=service.refresh, args=(record.id,))
    refresh.start()
    assert asked.wait(10)
    assert JobService(Registry(), backend_factory=lambda name: FakeBackend()).cancel(record.id).state \
        is JobState.CANCELLED
    release.set()
    refresh.join()

    assert Registry().get(record.id).state is JobState.CANCELLED


def _mixed_writer(args: tuple[str, list[str], int]) -> None:
    home, ids, seed = args
    import random

    os.environ["FTROUTER_HOME"] = home
    registry = Registry()
    rng = random.Random(seed)
    for _ in range(30):
        local_id = rng.choice(ids)
        asked = datetime.now(UTC)  # what a refresh does: note the time, ask, then write
        state = rng.choice([JobState.RUNNING, JobState.PENDING, JobState.SUCCEEDED])
        if state is JobState.SUCCEEDED:
            registry.record_status(local_id, JobStatus(state=state), observed_at=asked)
        else:
            registry.record_status(local_id, JobStatus(state=state), observed_at=asked - timedelta(seconds=5))


@pytest.mark.slow
def test_processes_writing_stale_and_fresh_states_never_leave_an_ended_job(ftrouter_home: Path) -> None:
    registry = Registry()
    ids = [_job(registry) for _ in range(5)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        pool.map(_mixed_writer, [(str(ftrouter_home), ids, seed) for seed in range(8)])
    for local_id in ids:
        states = [s.state for s in registry.history(local_id)]
        if JobState.SUCCEEDED in states:  # once it ended, nothing was stored after it
            assert states[-1] is JobState.SUCCEEDED and registry.get(local_id).state is JobState.SUCCEEDED


# -- item 10: private state -----------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_home_registry_and_job_files_are_private_whatever_the_umask(
        umask: int, tmp_path: Path, train_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "fresh" / "home"
    monkeypatch.setenv("FTROUTER_HOME", str(home))
    train_file.chmod(0o600)
    previous = os.umask(umask)
    try:
        record = JobService(Registry()).submit(JobSpec(backend="fake", model="m", data=str(train_file)))
        Registry().events(record.id)  # the journals exist while a connection is open, too
    finally:
        os.umask(previous)

    assert _mode(home) == 0o700
    assert _mode(home / "jobs.db") == 0o600 and _mode(home / "jobs.db.lock") == 0o600
    for journal in (home / "jobs.db-wal", home / "jobs.db-shm"):
        assert not journal.exists() or _mode(journal) == 0o600
    folder = home / "jobs" / record.id
    assert _mode(home / "jobs") == _mode(folder) == 0o700
    assert _mode(folder / "train.jsonl") == 0o600  # the copy of the training data


def test_an_older_registry_file_is_made_private(ftrouter_home: Path) -> None:
    Registry().count()
    (ftrouter_home / "jobs.db").chmod(0o644)
    Registry().count()
    assert _mode(ftrouter_home / "jobs.db") == 0o600


def test_the_tokenizer_cache_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter.data.encodings import _ensure_cached

    folder = tmp_path / "cache" / "tiktoken"
    previous = os.umask(0)
    try:
        _ensure_cached("cl100k_base", folder)
    finally:
        os.umask(previous)
    assert _mode(folder) == 0o700 and {_mode(p) for p in folder.iterdir()} == {0o600}


# -- item 11: read-only use ---------------------------------------------------------------------


def test_a_read_only_registry_never_writes(ftrouter_home: Path) -> None:
    reader = Registry(read_only=True)
    assert reader.list_jobs(include_all=True) == [] and reader.count() == 0  # no registry yet: empty
    assert list(ftrouter_home.iterdir()) == []  # and nothing was created
    local_id = _job(Registry())
    assert Registry(read_only=True).get(local_id).state is JobState.PENDING
    with pytest.raises(RegistryError) as caught:
        Registry(read_only=True).record_status(local_id, JobStatus(state=JobState.RUNNING))
    assert caught.value.code == "registry_read_only"


def test_a_read_only_registry_refuses_a_newer_schema(ftrouter_home: Path) -> None:
    Registry().count()
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RegistryError, match="newer"):
        Registry(read_only=True).count()


# -- item 12: a brand-new registry opened by many processes at once -----------------------------


def _open_new_registries(args: tuple[str, int, Any]) -> list[str]:
    base, rounds, barrier = args
    errors = []
    for n in range(rounds):
        barrier.wait()  # every process opens the same brand-new file at the same moment
        try:
            Registry(Path(base) / f"home-{n}" / "jobs.db").count()
        except RegistryError as exc:
            errors.append(str(exc))
    return errors


@pytest.mark.slow
def test_many_processes_opening_a_new_registry_all_succeed(tmp_path: Path) -> None:
    processes, rounds = 8, 80
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            results = pool.map(_open_new_registries, [(str(tmp_path), rounds, barrier)] * processes)
    assert [error for errors in results for error in errors] == []
    for n in range(rounds):
        assert Registry(tmp_path / f"home-{n}" / "jobs.db").schema_version == SCHEMA_VERSION


# -- item 16: a relocatable home ------------------------------------------------------------------


def test_a_copied_home_uses_its_own_job_folders(ftrouter_home: Path, tmp_path: Path, train_file: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    record = JobService(Registry()).submit(JobSpec(backend="fake", model="m", data=str(train_file)))
    local_id = _job(Registry(), job_dir=str(ftrouter_home / "jobs" / "x"))
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        stored = dict(conn.execute("SELECT local_id, record FROM jobs").fetchall())
    assert json.loads(stored[record.id])["files"]["train"] == f"jobs/{record.id}/train.jsonl"
    assert json.loads(stored[local_id])["ref_extra"]["job_dir"] == "jobs/x"

    copy = tmp_path / "copied-home"
    shutil.copytree(ftrouter_home, copy)
    monkeypatch.setenv("FTROUTER_HOME", str(copy))
    assert Registry().get(record.id).files["train"] == str(copy / "jobs" / record.id / "train.jsonl")
    assert Registry().get(local_id).ref().extra["job_dir"] == str(copy / "jobs" / "x")


def test_migration_makes_stored_paths_under_the_home_relative(ftrouter_home: Path) -> None:
    """A registry written by the previous schema (version 1, absolute paths) is upgraded in place."""
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        conn.executescript(str(MIGRATIONS[0]))
        conn.execute("PRAGMA user_version = 1")
        now = datetime.now(UTC).isoformat()
        record = {"id": "ftr-old001", "backend": "local", "remote_id": "ftr-old001", "state": "succeeded",
                  "spec": {"backend": "local", "model": "/models/m", "data": "/data/train.jsonl"},
                  "files": {"train": str(ftrouter_home / "jobs/ftr-old001/data/train.jsonl"),
                            "elsewhere": "/srv/shared/train.jsonl"},
                  "ref_extra": {"job_dir": str(ftrouter_home / "jobs/ftr-old001")},
                  "result": {"adapter_path": str(ftrouter_home / "jobs/ftr-old001/output")},
                  "created_at": now, "updated_at": now}
        conn.execute("INSERT INTO jobs (local_id, backend, remote_id, state, record, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     ("ftr-old001", "local", "ftr-old001", "succeeded", json.dumps(record), now, now))

    registry = Registry()
    assert registry.schema_version == SCHEMA_VERSION
    with sqlite3.connect(ftrouter_home / "jobs.db") as conn:
        stored = json.loads(conn.execute("SELECT record FROM jobs").fetchone()[0])
        assert "observed_at" in {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    assert stored["files"] == {"train": "jobs/ftr-old001/data/train.jsonl", "elsewhere": "/srv/shared/train.jsonl"}
    assert stored["ref_extra"]["job_dir"] == "jobs/ftr-old001"
    assert stored["result"]["adapter_path"] == "jobs/ftr-old001/output"
    loaded = registry.get("ftr-old001")
    assert loaded.files["train"] == str(ftrouter_home / "jobs/ftr-old001/data/train.jsonl")
    assert loaded.result is not None and loaded.result.adapter_path == str(ftrouter_home / "jobs/ftr-old001/output")
