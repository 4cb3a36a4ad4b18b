"""Issue 17, items 4 and 7: concurrent state changes of one local job, and damaged job files.

Fake jobs only (no training): the worker's files are written by hand and the worker start is replaced
by a recorder, so these run in well under a second each."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from ftrouter_local import LocalBackend
from ftrouter_local.jobfiles import JobFiles
from test_local_jobfiles import dead_pid, fake_job, sleeper

from ftrouter.errors import BackendError, UsageError
from ftrouter.jobs.models import JobState, RemoteRef


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Worker starts, recorded instead of run."""
    started: list[list[str]] = []

    def fake_spawn(command: list[str], _files: JobFiles) -> int:
        started.append(command)
        return 1

    monkeypatch.setattr("ftrouter_local.backend.spawn_detached", fake_spawn)
    return started


def test_concurrent_resumes_start_one_worker(tmp_path: Path, spawned: list[list[str]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ref = fake_job(tmp_path / "ftr-race01", state="cancelled", pid=dead_pid())
    # widen the window between "is it resumable?" and "it is pending now", as a slow disk would
    slow = JobFiles.latest_checkpoint

    def slow_checkpoint(self: JobFiles) -> Path | None:
        time.sleep(0.2)
        return slow(self)

    monkeypatch.setattr(JobFiles, "latest_checkpoint", slow_checkpoint)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def resume() -> None:
        barrier.wait()
        try:
            LocalBackend().resume(ref)
            outcomes.append("started")
        except UsageError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=resume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["not_resumable"] * 3 + ["started"]
    assert len(spawned) == 1
    assert JobFiles(Path(ref.extra["job_dir"])).read_status().attempt == 2


def test_a_cancel_racing_a_resume_is_seen_by_the_new_worker(tmp_path: Path, spawned: list[list[str]]) -> None:
    ref = fake_job(tmp_path / "ftr-race02", state="cancelled", pid=dead_pid())
    files = JobFiles(Path(ref.extra["job_dir"]))
    backend = LocalBackend(cancel_wait_s=0.3)
    assert backend.cancel(ref).state is JobState.CANCELLED  # ended: nothing to do
    assert not files.cancel_request.exists()
    backend.resume(ref)
    backend.cancel(ref)  # the new attempt is pending: the request stays for its worker to find
    assert files.cancel_request.exists() and len(spawned) == 1


@pytest.mark.parametrize("damage", ["bad-utf8", "folder", "not-json"])
def test_a_damaged_status_is_that_jobs_problem(tmp_path: Path, damage: str) -> None:
    ref = fake_job(tmp_path / "ftr-dmg001", pid=dead_pid())
    files = JobFiles(Path(ref.extra["job_dir"]))
    files.status.unlink()
    if damage == "folder":
        files.status.mkdir()
    else:
        files.status.write_bytes(b'{"state": "train\xff\xfeing"}' if damage == "bad-utf8" else b"{nope")

    with pytest.raises(BackendError) as caught:
        LocalBackend().status(ref)
    assert caught.value.code == "corrupt_status" and caught.value.path == str(files.status)
    assert LocalBackend().events(ref) == []  # the event log is still readable


def test_a_job_with_a_damaged_status_can_be_cancelled(tmp_path: Path) -> None:
    root = tmp_path / "ftr-dmg002"
    process = sleeper(root)  # a live "worker" that the cancel must stop
    try:
        ref = fake_job(root, pid=process.pid)
        files = JobFiles(root)
        files.status.unlink()
        files.status.mkdir()
        (files.status / "inside").write_text("kept")

        status = LocalBackend(cancel_wait_s=10).cancel(ref)

        assert status.state is JobState.CANCELLED
        assert process.wait(timeout=5) != 0  # it got the signal
        assert files.read_status().state == "cancelled"
        assert (root / "status.json.damaged-1" / "inside").read_text() == "kept"  # set aside, not deleted
        assert "damaged status file was kept" in LocalBackend().events(ref)[-1].message
    finally:
        process.kill()
        process.wait()


def test_bad_bytes_in_the_event_log_hide_no_event(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    files.append_event("one")
    with files.events.open("ab") as handle:
        handle.write(b'{"created_at": "2026-01-01T00:00:00Z", "message": "caf\xe9"}\n')
        handle.write(b"\x00\xff garbage\n")
    files.append_event("four")
    with files.events.open("ab") as handle:
        handle.write(b'{"created_at": "2026-01-01T00:00:00Z", "message": "half a pair \\ud800"}\n')
    with files.events.open("ab") as handle:
        handle.write(b'{"created_at": "2026-01-01T00:00:00Z", "mess')  # being written right now

    events = files.read_events()

    assert [e.id for e in events] == ["1", "2", "3", "4", "5"]
    assert events[0].message == "one" and events[3].message == "four"
    assert events[1].level == events[2].level == events[4].level == "warning"
    assert f"{files.events}:2: unreadable event line skipped (not UTF-8)" == events[1].message
    assert "(not UTF-8)" in events[2].message and "(not valid Unicode)" in events[4].message
    for event in events:
        event.model_dump_json()  # every event can be stored in the registry


def test_status_and_events_of_a_job_with_bad_event_bytes_work(tmp_path: Path) -> None:
    ref = fake_job(tmp_path / "ftr-dmg003", state="succeeded")
    files = JobFiles(Path(ref.extra["job_dir"]))
    with files.events.open("ab") as handle:
        handle.write(b"\xff\xff\n")
    files.append_event("later")
    backend = LocalBackend()
    assert backend.status(ref).state is JobState.SUCCEEDED
    assert [e.message for e in backend.events(ref, after="1")] == ["later"]




def _registered(ref: RemoteRef) -> str:
    """A registry row for a local job made by ``fake_job`` (as submit would have left it)."""
    from ftrouter.jobs.models import JobSpec, PreparedJob
    from ftrouter.jobs.registry import Registry

    registry = Registry()
    spec = JobSpec(backend="local", model="/m", data="train.jsonl")
    registry.create(PreparedJob(spec=spec, local_id=ref.local_id))
    registry.attach_remote(ref.local_id, ref)
    return ref.local_id


def test_jobs_lists_every_job_when_one_has_a_damaged_status(capsys: pytest.CaptureFixture[str],
                                                            ftrouter_home: Path) -> None:
    from clirun import run_cli

    jobs = ftrouter_home / "jobs"
    healthy = _registered(fake_job(jobs / "ftr-good01", state="succeeded"))
    damaged_ref = fake_job(jobs / "ftr-bad001", state="succeeded")
    JobFiles(jobs / "ftr-bad001").status.write_bytes(b'{"state": "\xff"}')
    damaged = _registered(damaged_ref)

    code, out, err = run_cli(capsys, "jobs", "--json")

    assert code == 0, err
    listed = {record["id"]: record for record in json.loads(out)}
    assert listed[healthy]["state"] == "succeeded" and listed[healthy]["refresh_error"] is None
    assert "corrupt_status" in listed[damaged]["refresh_error"]
    code, _, err = run_cli(capsys, "jobs")
    assert code == 0 and f"{damaged}: could not refresh" in err and "status.json" in err
    code, _, err = run_cli(capsys, "status", damaged)
    assert code == 3 and "corrupt_status" in err and "Traceback" not in err


def test_paths_in_a_moved_job_folder_point_into_the_new_place(tmp_path: Path) -> None:
    old_root = "/old/home/jobs/ftr-moved1"
    ref = fake_job(tmp_path / "copy" / "jobs" / "ftr-moved1", state="succeeded")
    files = JobFiles(Path(ref.extra["job_dir"]))
    written = files.read_status()
    written.adapter_path, written.checkpoint = f"{old_root}/output", f"{old_root}/checkpoints/checkpoint-5"
    files.write_status(written)

    result = LocalBackend().status(ref).result

    assert result is not None
    assert result.adapter_path == str(files.output)
    assert result.checkpoint == str(files.checkpoints / "checkpoint-5")
    assert files.here("/models/base") == "/models/base"  # a path outside any job folder is kept


def test_the_worker_writes_private_files_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import stat
    import sys

    from ftrouter_local.launcher import spawn_detached

    files = JobFiles(tmp_path / "ftr-umask1")
    files.root.mkdir()
    target = files.root / "checkpoint-like"
    previous = os.umask(0)
    try:
        spawn_detached([sys.executable, "-c", f"open({str(target)!r}, 'w').write('x')"], files)
    finally:
        os.umask(previous)
    deadline = time.monotonic() + 20
    while not (target.is_file() and target.read_text() == "x") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.log.stat().st_mode) == 0o600


def test_cancel_through_the_cli_works_for_a_job_with_a_damaged_status(capsys: pytest.CaptureFixture[str],
                                                                       ftrouter_home: Path) -> None:
    from clirun import run_cli

    root = ftrouter_home / "jobs" / "ftr-dmg004"
    local_id = _registered(fake_job(root, pid=dead_pid()))
    (root / "status.json").unlink()
    (root / "status.json").mkdir()

    code, out, err = run_cli(capsys, "cancel", local_id, "--json")

    assert code == 0, err
    assert json.loads(out)["state"] == "cancelled"
    assert (root / "status.json.damaged-1").is_dir()
