"""The job folder's files and the backend's reading of them, with fake workers (no training, fast)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from ftrouter_local import LocalBackend
from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles, WorkerStatus, to_job_state
from ftrouter_local.launcher import process_alive

from ftrouter.errors import BackendError, NotFound, UsageError
from ftrouter.jobs.models import JobState, RemoteRef, utcnow


def fake_job(root: Path, *, state: str = "training", pid: int | None = None, log: str = "") -> RemoteRef:
    files = JobFiles(root)
    root.mkdir(parents=True, exist_ok=True)
    files.config.write_text(TrainConfig(model="/m").model_dump_json())
    files.write_status(WorkerStatus(state=state, step=5, total_steps=50))
    if pid is not None:
        files.launcher_pidfile.write_text(str(pid))
    files.log.write_text(log)
    return RemoteRef(backend="local", remote_id=root.name, local_id=root.name, extra={"job_dir": str(root)})


def sleeper(marker: Path) -> subprocess.Popen[bytes]:
    """A live process whose command line mentions ``marker`` (as a worker's names its job folder)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", str(marker)])


def dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_events_are_numbered_by_line_and_a_cut_off_line_is_skipped(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    files.append_event("one")
    files.append_event("two", type="metrics", data={"loss": 1.5})
    with files.events.open("a") as handle:
        handle.write('{"created_at": "2026-01-01T00:00:00Z", "mess')  # a worker killed mid-write
    events = files.read_events()
    assert [(e.id, e.message) for e in events] == [("1", "one"), ("2", "two")]
    assert events[1].data == {"loss": 1.5} and events[1].type == "metrics"
    assert [e.id for e in files.read_events(after="1")] == ["2"]
    assert files.read_events(after="2") == []
    with pytest.raises(BackendError, match="not a local event id"):
        files.read_events(after="evt_x")


def test_the_newest_complete_checkpoint_wins(tmp_path: Path) -> None:
    files = JobFiles(tmp_path)
    assert files.latest_checkpoint() is None
    for step, complete in ((5, True), (20, True), (30, False)):
        folder = files.checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert files.latest_checkpoint() == files.checkpoints / "checkpoint-20"


def test_worker_states_map_to_job_states_and_anything_else_is_unknown() -> None:
    assert to_job_state("training") is JobState.RUNNING
    assert to_job_state("cancelling") is JobState.RUNNING
    assert to_job_state("succeeded") is JobState.SUCCEEDED
    assert to_job_state("exploded") is JobState.UNKNOWN


def test_process_alive_checks_the_marker_and_treats_zombies_as_dead(tmp_path: Path) -> None:
    process = sleeper(tmp_path)
    try:
        assert process_alive(process.pid, str(tmp_path))
        assert not process_alive(process.pid, "/some/other/job")  # a recycled pid
        process.send_signal(signal.SIGKILL)
        time.sleep(0.2)  # not reaped yet: a zombie
        assert not process_alive(process.pid, str(tmp_path))
    finally:
        process.kill()
        process.wait()
    assert not process_alive(None, "x")


def test_a_dead_worker_is_marked_failed_once_with_its_log_tail(tmp_path: Path) -> None:
    lines = "\n".join(f"log line {n}" for n in range(40))
    ref = fake_job(tmp_path / "ftr-dead01", pid=dead_pid(), log=lines + "\nKilled\n")
    backend = LocalBackend()

    status = backend.status(ref)

    assert status.state is JobState.FAILED and status.error is not None
    assert status.error.code == "worker_died"
    assert "log line 39" in status.error.message and "Killed" in status.error.message
    assert "log line 10" not in status.error.message  # the tail, not the whole log
    assert backend.status(ref).state is JobState.FAILED
    assert [e.level for e in backend.events(ref)] == ["error"]  # marked once


def test_one_refresh_reads_the_status_then_the_events_it_may_have_added(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ref = fake_job(tmp_path / "ftr-refr01", pid=dead_pid())
    files = JobFiles(Path(ref.extra["job_dir"]))
    files.append_event("training started")
    folders: list[Path] = []
    make_files = LocalBackend._files
    monkeypatch.setattr(LocalBackend, "_files", lambda self, r: folders.append(r.local_id) or make_files(self, r))

    answer = LocalBackend().refresh(ref, after="1")

    assert folders == [ref.local_id]  # one look at the job folder
    assert answer.status.state is JobState.FAILED and answer.status.error is not None
    assert [(e.id, e.level) for e in answer.events] == [("2", "error")]  # the death it just recorded
    assert answer.events[0].message == answer.status.error.message


def test_the_log_tail_of_a_resumed_job_is_the_newest_attempts_only(tmp_path: Path) -> None:
    ref = fake_job(tmp_path / "ftr-dead03", pid=dead_pid(), log="attempt one\n" * 30)
    files = JobFiles(Path(ref.extra["job_dir"]))
    files.start_log_section("attempt 2, started now")
    with files.log.open("a") as handle:
        handle.write("attempt two started\nKilled\n")

    status = LocalBackend().status(ref)

    assert status.error is not None and "attempt two started\nKilled" in status.error.message
    assert "attempt one" not in status.error.message and "=== ftrouter-local" not in status.error.message


def test_a_dead_worker_after_a_cancel_request_is_cancelled(tmp_path: Path) -> None:
    ref = fake_job(tmp_path / "ftr-dead02", pid=dead_pid())
    files = JobFiles(Path(ref.extra["job_dir"]))
    (files.checkpoints / "checkpoint-5").mkdir(parents=True)
    (files.checkpoints / "checkpoint-5" / "trainer_state.json").write_text("{}")
    files.cancel_request.write_text("now")

    status = LocalBackend().status(ref)

    assert status.state is JobState.CANCELLED and status.error is None
    assert status.result is not None and status.result.checkpoint == str(files.checkpoints / "checkpoint-5")


def test_a_just_submitted_job_without_a_pid_is_pending_until_the_grace_period_ends(tmp_path: Path) -> None:
    ref = fake_job(tmp_path / "ftr-pend01", state="pending")
    backend = LocalBackend()
    assert backend.status(ref).state is JobState.PENDING
    files = JobFiles(Path(ref.extra["job_dir"]))
    stale = files.read_status()
    stale.updated_at = utcnow() - timedelta(minutes=5)
    files.status.write_text(stale.model_dump_json())  # bypass write_status, which stamps the time
    assert backend.status(ref).state is JobState.FAILED


def test_a_live_worker_reports_its_progress_and_a_cancel_shows_as_cancelling(tmp_path: Path) -> None:
    root = tmp_path / "ftr-live01"
    process = sleeper(root)
    try:
        ref = fake_job(root, pid=process.pid)
        files = JobFiles(root)
        files.cancel_request.write_text("now")
        status = LocalBackend().status(ref)
        assert status.state is JobState.RUNNING and status.raw_state == "cancelling"
        assert (status.progress.step, status.progress.total_steps) == (5, 50)
    finally:
        process.kill()
        process.wait()


def test_cancel_of_an_ended_job_changes_nothing_and_resume_needs_a_stopped_job(tmp_path: Path) -> None:
    backend = LocalBackend()
    done = fake_job(tmp_path / "ftr-done01", state="succeeded")
    assert backend.cancel(done).state is JobState.SUCCEEDED
    assert not JobFiles(Path(done.extra["job_dir"])).cancel_request.exists()
    with pytest.raises(UsageError, match="is succeeded; only cancelled or failed jobs can be resumed"):
        backend.resume(done)


def test_a_missing_job_is_not_found(tmp_path: Path) -> None:
    ref = RemoteRef(backend="local", remote_id="ftr-none01", local_id="ftr-none01",
                    extra={"job_dir": str(tmp_path / "nothing")})
    with pytest.raises(NotFound):
        LocalBackend().status(ref)
    with pytest.raises(NotFound):
        LocalBackend().events(ref)
    assert LocalBackend(jobs_root=tmp_path).find_by_local_id("ftr-none01") is None


def test_status_never_imports_torch(tmp_path: Path) -> None:
    ref = fake_job(tmp_path / "ftr-light1", pid=dead_pid())
    script = (
        "import json, sys\n"
        "from ftrouter.backends import get_backend\n"
        "from ftrouter.jobs.models import RemoteRef\n"
        f"ref = RemoteRef.model_validate_json({ref.model_dump_json()!r})\n"
        "backend = get_backend('local')\n"
        "status = backend.status(ref); backend.events(ref)\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules]\n"
        "print(json.dumps({'state': status.state.value, 'heavy': heavy}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"state": "failed", "heavy": []}


def test_resume_bookkeeping_before_the_new_worker_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = fake_job(tmp_path / "ftr-resum1", state="cancelled", pid=dead_pid())
    files = JobFiles(Path(ref.extra["job_dir"]))
    ended = files.read_status()
    ended.runtime = {"wall_time_s": 12.5, "train_time_s": 10.0}
    files.write_status(ended)
    files.cancel_request.write_text("then")
    started: list[list[str]] = []

    def fake_spawn(command: list[str], _files: JobFiles) -> int:
        started.append(command)
        return 1

    monkeypatch.setattr("ftrouter_local.backend.spawn_detached", fake_spawn)

    status = LocalBackend().resume(ref)

    assert status.state is JobState.PENDING  # the old, dead pid is gone: not mistaken for a dead new worker
    assert not files.cancel_request.exists()
    assert started and started[0][1:4] == ["-m", "ftrouter_local.worker", str(files.root)]
    now = files.read_status()
    assert (now.attempt, now.prior, now.resume_from) == (2, {"wall_time_s": 12.5, "train_time_s": 10.0}, None)
    assert backend_events(ref)[-1] == "resuming from the start (no checkpoint was saved)"


def backend_events(ref: RemoteRef) -> list[str]:
    return [event.message for event in LocalBackend().events(ref)]
