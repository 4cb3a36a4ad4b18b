"""``LocalBackend``: fine-tuning on this machine's GPU(s) — or CPU — behind the common Backend API.

``submit`` starts a detached worker process (``ftrouter_local.worker``) that owns the run and
outlives the CLI; ``refresh`` (``status``, ``events``) reads the files it writes in the job folder; ``cancel``
signals it (it checkpoints, then ends ``cancelled``); ``resume`` starts a new worker from the last
checkpoint. A worker that died without a final word is marked ``failed`` with its log tail at the
next ``status``. Nothing here imports torch: ``ftrouter status`` on a local job stays fast.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from ftrouter.backends import Backend
from ftrouter.errors import BackendError, NotFound, UsageError
from ftrouter.jobs.models import (
    JobError,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    PreparedJob,
    Progress,
    Refresh,
    RemoteRef,
    utcnow,
)
from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles, WorkerStatus, write_atomic
from ftrouter_local.launcher import (
    START_TIMEOUT_S,
    launcher_pid,
    process_alive,
    signal_workers,
    spawn_detached,
    worker_command,
)
from ftrouter_local.preparation import prepare_job

RESUMABLE = frozenset({JobState.CANCELLED, JobState.FAILED})


class LocalBackend(Backend):
    """Supervised fine-tuning and DPO with TRL + PEFT in a detached local worker."""

    name: ClassVar[str] = "local"

    def __init__(self, *, cancel_wait_s: float = 15.0, jobs_root: Path | None = None, **_: Any) -> None:
        self.cancel_wait_s = cancel_wait_s  # how long cancel() waits for the checkpoint before returning
        self.jobs_root = jobs_root

    # -- where jobs live --------------------------------------------------------------------------

    def _job_root(self, local_id: str) -> Path:
        if self.jobs_root is not None:
            return self.jobs_root / local_id
        from ftrouter.jobs.paths import job_dir

        return job_dir(local_id, create=False)

    def _files(self, ref: RemoteRef) -> JobFiles:
        root = ref.extra.get("job_dir") or self._job_root(ref.local_id)
        return JobFiles(Path(root))

    def _ref(self, files: JobFiles, local_id: str) -> RemoteRef:
        return RemoteRef(backend=self.name, remote_id=local_id, local_id=local_id,
                         extra={"job_dir": str(files.root)})

    # -- the contract -------------------------------------------------------------------------------

    def prepare(self, spec: JobSpec, local_id: str) -> PreparedJob:
        files = JobFiles(self._job_root(local_id))
        return prepare_job(spec, local_id, files)

    def submit(self, prepared: PreparedJob) -> RemoteRef:
        files = JobFiles(Path(prepared.files["config"]).parent)
        config = _read_config(files)
        files.write_status(WorkerStatus(state="pending"))
        recipe = f" with recipe {config.recipe_file}" if config.recipe_file else ""
        files.append_event(f"submitted: {config.adapter} fine-tuning of {config.model}{recipe}", type="state",
                           data={"state": "pending", "recipe_file": config.recipe_file})
        for warning in prepared.warnings:  # a real submit prints no plan: the events carry prepare's warnings
            files.append_event(warning, type="warning", level="warning")
        self._spawn(files, config, resume_from=None)
        return self._ref(files, prepared.local_id)

    def status(self, ref: RemoteRef) -> JobStatus:
        return self._status(self._files(ref))

    def refresh(self, ref: RemoteRef, after: str | None = None) -> Refresh:
        """The status, then the events (the status read may add one: a dead worker's), from one job folder."""
        files = self._files(ref)
        status = self._status(files)
        return Refresh(status=status, events=files.read_events(after))

    def _status(self, files: JobFiles) -> JobStatus:
        current = files.read_status()
        if not current.job_state.terminal and not self._worker_alive(files, current):
            with files.locked():
                current = files.read_status()  # it may have finished between the two looks
                if not current.job_state.terminal and not self._worker_alive(files, current):
                    current = _mark_dead(files, current, launcher_pid(files))
        return _to_job_status(current, files)

    def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
        files = self._files(ref)
        if not files.status.exists() and not files.events.exists():
            raise NotFound(f"no local job in {files.root}")
        return files.read_events(after)

    def cancel(self, ref: RemoteRef) -> JobStatus:
        """Ask the worker to checkpoint and stop, and wait up to ``cancel_wait_s`` for it. The check and
        the request happen under the job's lock, so a concurrent ``resume`` sees one or the other.
        A job whose status file is damaged can still be cancelled (see ``_cancel_damaged``)."""
        self._settle_dead_worker(ref)
        files = self._files(ref)
        with files.locked():
            try:
                current: WorkerStatus | None = files.read_status()
            except BackendError as exc:
                if exc.code != "corrupt_status":
                    raise
                current = None
            if current is not None and current.job_state.terminal:
                return _to_job_status(current, files)
            write_atomic(files.cancel_request, utcnow().isoformat())
            files.append_event("cancel requested", type="state", data={"state": "cancelling"})
        signal_workers(files, launcher_pid(files))
        if current is None:
            return self._cancel_damaged(files)
        deadline = time.monotonic() + self.cancel_wait_s
        status = self.status(ref)
        while not status.state.terminal and time.monotonic() < deadline:
            time.sleep(0.2)
            status = self.status(ref)
        return status

    def _cancel_damaged(self, files: JobFiles) -> JobStatus:
        """The status file cannot be read: once no worker of the job is left (signalled above), set the
        damaged file aside (kept, not deleted) and record the job as cancelled."""
        deadline = time.monotonic() + self.cancel_wait_s
        while self._any_worker_alive(files) and time.monotonic() < deadline:
            time.sleep(0.2)
        with files.locked():
            try:
                return _to_job_status(files.read_status(), files)  # the worker wrote its own end meanwhile
            except BackendError:
                pass
            if self._any_worker_alive(files):
                raise BackendError("the worker has not stopped yet; its status file is damaged, try again",
                                   path=files.status, code="corrupt_status")
            moved = files.set_damaged_status_aside()
            checkpoint = files.latest_checkpoint()
            status = WorkerStatus(state="cancelled", checkpoint=str(checkpoint) if checkpoint else None)
            files.write_status(status)
        files.append_event(f"cancelled; the damaged status file was kept as {moved.name if moved else '(none)'}",
                           type="state", level="warning", data={"state": "cancelled"})
        return _to_job_status(status, files)

    def resume(self, ref: RemoteRef) -> JobStatus:
        """Continue a cancelled or failed job from its newest checkpoint (from the start if none) in a
        new worker; returns the job's status right after the worker was started (pending).

        The check and the switch to ``pending`` are one step under the job's lock: of two concurrent
        resumes exactly one starts a worker, the other finds the job pending and is refused."""
        self._settle_dead_worker(ref)
        files = self._files(ref)
        config = _read_config(files)
        with files.locked():
            previous = files.read_status()
            if previous.job_state not in RESUMABLE:
                raise UsageError(f"job {ref.local_id} is {previous.job_state.value}; only cancelled or failed "
                                 "jobs can be resumed", code="not_resumable")
            checkpoint = files.latest_checkpoint()
            files.cancel_request.unlink(missing_ok=True)
            files.clear_rank_pids()
            # the old worker's pid must go before "pending" is written, or a status call in between
            # would find a dead pid and mark the fresh attempt failed
            files.launcher_pidfile.unlink(missing_ok=True)
            files.write_status(WorkerStatus(state="pending", attempt=previous.attempt + 1,
                                            prior=_carry_over(previous), step=previous.step,
                                            total_steps=previous.total_steps, checkpoint=previous.checkpoint,
                                            resume_from=str(checkpoint) if checkpoint else None))
        what = f"from {checkpoint.name}" if checkpoint else "from the start (no checkpoint was saved)"
        files.append_event(f"resuming {what}", type="state", data={"state": "pending", "checkpoint":
                           str(checkpoint) if checkpoint else None})
        self._spawn(files, config, resume_from=checkpoint)
        return self.status(ref)

    def find_by_local_id(self, local_id: str) -> RemoteRef | None:
        files = JobFiles(self._job_root(local_id))
        return self._ref(files, local_id) if files.status.exists() else None

    # -- helpers ------------------------------------------------------------------------------------

    def _spawn(self, files: JobFiles, config: TrainConfig, *, resume_from: Path | None) -> None:
        files.start_log_section(f"attempt {files.read_status().attempt}, started {utcnow().isoformat()}")
        try:
            spawn_detached(worker_command(files, config, resume_from), files)
        except Exception as exc:
            with files.locked():
                status = files.read_status()
                status.state, status.error_code, status.error_message = "failed", "worker_start_failed", str(exc)
                files.write_status(status)
            files.append_event(f"the worker did not start: {exc}", type="state", level="error",
                               data={"state": "failed"})
            raise

    def _settle_dead_worker(self, ref: RemoteRef) -> None:
        """A worker that died without its final word is marked failed first (what ``status`` does), so
        that cancel and resume decide on the job's real state. A damaged status is left to the caller."""
        try:
            self.status(ref)
        except BackendError as exc:
            if exc.code != "corrupt_status":
                raise

    @staticmethod
    def _any_worker_alive(files: JobFiles) -> bool:
        marker = str(files.root)
        return any(process_alive(pid, marker) for pid in [*files.rank_pids(), launcher_pid(files)])

    @staticmethod
    def _worker_alive(files: JobFiles, status: WorkerStatus) -> bool:
        pid = launcher_pid(files)
        if pid is None:  # submit writes the status just before it starts the worker
            return status.state == "pending" and utcnow() - status.updated_at < timedelta(seconds=START_TIMEOUT_S)
        return process_alive(pid, str(files.root))


def _read_config(files: JobFiles) -> TrainConfig:
    try:
        return TrainConfig.model_validate_json(files.config.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFound(f"no prepared local job in {files.root}", path=files.config) from exc


def _carry_over(previous: WorkerStatus) -> dict[str, float]:
    """Time spent by earlier attempts, so wall time adds up across resumes. An attempt that died
    without a final status left no runtime: its time is lost, not guessed."""
    carried = dict(previous.prior)
    for key in ("wall_time_s", "train_time_s"):
        if key in previous.runtime:
            carried[key] = float(previous.runtime[key])
    return carried


def _mark_dead(files: JobFiles, status: WorkerStatus, pid: int | None) -> WorkerStatus:
    """The worker is gone without a final state: cancelled if a cancel was asked for, else failed."""
    tail = files.log_tail(20)
    if files.cancel_request.exists():
        checkpoint = files.latest_checkpoint()
        status.state = "cancelled"
        status.checkpoint = str(checkpoint) if checkpoint else status.checkpoint
        message = "cancelled: the worker stopped before it reported"
        level = "info"
    else:
        status.state = "failed"
        status.error_code = "worker_died"
        status.error_message = (f"the worker process{f' (pid {pid})' if pid else ''} ended without a final "
                                f"status (killed, or out of memory?); last lines of {files.log}:\n{tail or '(empty)'}")
        message = status.error_message
        level = "error"
    files.write_status(status)
    files.append_event(message, type="state", level=level, data={"state": status.state})
    return status


def _to_job_status(status: WorkerStatus, files: JobFiles) -> JobStatus:
    state = status.job_state
    raw = status.state
    if not state.terminal and files.cancel_request.exists():
        raw = "cancelling"
    result = None
    if state == JobState.SUCCEEDED or status.checkpoint:
        result = JobResult(adapter_path=files.here(status.adapter_path), checkpoint=files.here(status.checkpoint))
    error = JobError(code=status.error_code, message=status.error_message) if status.error_message else None
    return JobStatus(
        state=state,
        raw_state=raw,
        progress=Progress(step=status.step, total_steps=status.total_steps, epoch=status.epoch),
        metrics=status.metrics,
        eta=status.eta if not state.terminal else None,
        result=result,
        error=error if state == JobState.FAILED else None,
        trained_tokens=status.trained_tokens,
        runtime=status.runtime if state.terminal else {},
        updated_at=status.updated_at,
    )
