"""Submit, refresh, reconcile, watch and cancel jobs: the orchestration between a ``Backend`` and the
registry. The CLI calls this; so can any library user.

The one rule that keeps jobs from being lost or duplicated: the registry row (state ``submitting``)
is written BEFORE ``Backend.submit`` runs, and the local id travels with the remote job. If the
submitting process dies or the create call's answer is lost, the next command that sees the row asks
the backend for a job tagged with that local id (``Backend.find_by_local_id``) and either attaches it
or marks the submission failed — it never submits again on its own. A lost answer that even the
lookup cannot settle leaves the row ``unknown`` (no remote id, the request that was sent kept in
``ref_extra.unconfirmed_request``) until a later command's lookup settles it.

Everything written to the registry from a provider (errors, events, refresh failures) goes through
``ftrouter.redact`` first.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ftrouter.backends import Backend, get_backend
from ftrouter.errors import (
    AuthError,
    DataError,
    FtrouterError,
    InvalidRequest,
    ProviderUnavailable,
    QuotaError,
    RateLimited,
    SubmitUnconfirmed,
    UsageError,
)
from ftrouter.jobs.models import JobError, JobEvent, JobSpec, JobState, JobStatus, PreparedJob, utcnow
from ftrouter.jobs.paths import job_dir
from ftrouter.jobs.polling import PollSchedule, fingerprint
from ftrouter.jobs.record import JobRecord
from ftrouter.jobs.registry import Registry, new_local_id
from ftrouter.redact import redact

log = logging.getLogger("ftrouter.jobs")

# Errors after which the backend certainly created nothing: the submission simply failed.
_DEFINITIVE = (AuthError, InvalidRequest, DataError, UsageError, QuotaError)
# A row in `submitting` whose submitter we cannot check (another host) is presumed abandoned after this.
ABANDONED_AFTER = timedelta(hours=6)

BackendFactory = Callable[[str], Backend]
OnUpdate = Callable[[JobRecord, list[JobEvent]], None]


class JobService:
    def __init__(self, registry: Registry | None = None, *, backend_factory: BackendFactory | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_workers: int = 8) -> None:
        self.registry = registry or Registry()
        self._factory = backend_factory or get_backend
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()
        self.sleep = sleep
        self.max_workers = max_workers

    def backend(self, name: str) -> Backend:
        with self._lock:
            if name not in self._backends:
                self._backends[name] = self._factory(name)
            return self._backends[name]

    # -- submitting ------------------------------------------------------------------------------

    def _fresh_id(self) -> str:
        for _ in range(20):
            local_id = new_local_id()
            if not job_dir(local_id, create=False).exists():
                return local_id
        raise UsageError("could not find a free job id; is FTROUTER_HOME writable?")

    def plan(self, spec: JobSpec) -> PreparedJob:
        """Everything ``submit`` does locally (validate, convert, estimate, plan the requests), nothing
        remote and no registry row. The converted files are removed again: this is ``--dry-run``."""
        local_id = self._fresh_id()
        try:
            return self.backend(spec.backend).prepare(spec, local_id)
        finally:
            shutil.rmtree(job_dir(local_id, create=False), ignore_errors=True)

    def submit(self, spec: JobSpec, *, on_prepared: Callable[[PreparedJob], None] | None = None) -> JobRecord:
        """Prepare, record (state ``submitting``), then create remotely. ``on_prepared`` sees the prepared
        job before anything is sent — the CLI prints its warnings there. When no row could be written,
        the job folder this call created (converted copies of the data) is removed again."""
        backend = self.backend(spec.backend)
        local_id = self._fresh_id()
        try:
            prepared = backend.prepare(spec, local_id)
            if on_prepared is not None:
                on_prepared(prepared)
            self.registry.create(prepared)
        except BaseException:
            shutil.rmtree(job_dir(local_id, create=False), ignore_errors=True)
            raise
        try:
            ref = backend.submit(prepared)
        except Exception as exc:
            return self._after_failed_submit(backend, local_id, exc)
        return self.registry.attach_remote(local_id, ref)

    def _after_failed_submit(self, backend: Backend, local_id: str, exc: Exception) -> JobRecord:
        """``submit`` raised. Unless the error proves nothing was created, ask the backend whether the
        job exists anyway (the create went through but its answer was lost); when that cannot be
        settled, the row becomes ``unknown`` (never re-sent) and ``SubmitUnconfirmed`` is raised."""
        if isinstance(exc, SubmitUnconfirmed):
            self._mark_unconfirmed(local_id, exc)
            raise exc
        if not isinstance(exc, _DEFINITIVE) and not backend.confirms_creates:
            try:
                found = backend.find_by_local_id(local_id)
            except FtrouterError as lookup_error:
                unconfirmed = SubmitUnconfirmed(
                    f"submitting failed ({exc}) and looking the job up at {backend.name} failed too "
                    f"({lookup_error})")
                self._mark_unconfirmed(local_id, unconfirmed)
                raise unconfirmed from None
            if found is not None:
                log.warning("submit reported %s, but the job was created: %s", redact(str(exc)), found.remote_id)
                return self.registry.attach_remote(local_id, found)
        code = exc.code if isinstance(exc, FtrouterError) else "submit_failed"
        message = exc.message if isinstance(exc, FtrouterError) else f"{type(exc).__name__}: {exc}"
        self.registry.mark_submit_failed(local_id, JobError(code=code, message=redact(message)))
        raise exc

    def _mark_unconfirmed(self, local_id: str, exc: SubmitUnconfirmed) -> None:
        exc.message = redact(f"{exc.message}; job {local_id} is recorded as 'unknown': `ftrouter status "
                             f"{local_id}` looks it up again (do not submit it again before that)")
        self.registry.mark_submit_unconfirmed(local_id, JobError(code=exc.code, message=exc.message), exc.sent)

    # -- reconciling a row left in `submitting` or `unknown` ---------------------------------------

    def reconcile(self, record: JobRecord) -> JobRecord:
        """Resolve a job whose creation is unsettled (``submitting``, or ``unknown`` after a lost create
        answer): attach the remote job made for it, or mark it failed when its submitter is gone and the
        backend has no such job. Leaves it alone while a live process is still submitting it."""
        if not record.unsettled:
            return record
        if record.state is JobState.SUBMITTING and _submitter_alive(self.registry.submitter(record.id),
                                                                    record.created_at):
            return record
        backend = self.backend(record.backend)
        found = backend.find_by_local_id(record.id)
        if found is not None:
            log.info("reconciled %s with remote job %s", record.id, found.remote_id)
            return self.registry.attach_remote(record.id, found)
        return self.registry.mark_submit_failed(record.id, JobError(
            code="submit_interrupted",
            message=f"the submission stopped before {record.backend} created a job (nothing was created "
                    "remotely); submit it again"))

    # -- refreshing ------------------------------------------------------------------------------

    def refresh(self, job: str | JobRecord) -> tuple[JobRecord, list[JobEvent]]:
        """Ask the backend for the job's status and new events (one ``Backend.refresh``) and store them.
        Ended jobs are not asked again: their last state is final. Returns the record and the events
        that were new."""
        record = self.registry.get(job) if isinstance(job, str) else job
        if record.unsettled:
            record = self.reconcile(record)
        if record.remote_id is None or record.terminal:
            return record, []
        backend = self.backend(record.backend)
        asked_at = utcnow()  # the state may be as old as the question: a newer stored one wins
        answer = backend.refresh(record.ref(), after=self.registry.last_event_id(record.id))
        new_events = self._store_events(record, answer.events)
        status = _redacted_status(answer.status)
        return self.registry.record_status(record.id, status, observed_at=asked_at), new_events

    def _store_events(self, record: JobRecord, events: list[JobEvent]) -> list[JobEvent]:
        """Keep the events the registry does not have yet (redacted); returns those."""
        if not events:
            return []
        known = {event.id for event in self.registry.events(record.id)}
        fresh = [_redacted_event(event) for event in events if event.id not in known]
        if fresh:
            self.registry.add_events(record.id, fresh)
        return fresh

    def refresh_many(self, records: list[JobRecord]) -> list[JobRecord]:
        """Refresh the unfinished jobs concurrently; a job whose refresh fails keeps its last known state
        and gets ``refresh_error`` set (one unreachable backend does not hide the others)."""
        def one(record: JobRecord) -> JobRecord:
            try:
                return self.refresh(record)[0]
            except FtrouterError as exc:
                return self.note_refresh_error(record.id, exc)

        active = [record for record in records if not record.terminal]
        if not active:
            return records
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(active))) as pool:
            refreshed = {record.id: record for record in pool.map(one, active)}
        return [refreshed.get(record.id, record) for record in records]

    def note_refresh_error(self, local_id: str, exc: Exception) -> JobRecord:
        """Remember why a refresh failed (redacted); the last known state is kept."""
        return self.registry.record_refresh_error(local_id, redact(str(exc)))

    def pull_events(self, job: str) -> tuple[JobRecord, list[JobEvent]]:
        """Fetch new events from the backend into the registry; returns all stored events."""
        record = self.registry.get(job)
        if record.unsettled:
            record = self.reconcile(record)
        if record.remote_id is not None:
            backend = self.backend(record.backend)
            self._store_events(record, backend.events(record.ref(), after=self.registry.last_event_id(record.id)))
        return record, self.registry.events(record.id)

    # -- watching --------------------------------------------------------------------------------

    def watch(self, job: str, on_update: OnUpdate, schedule: PollSchedule | None = None) -> JobRecord:
        """Refresh until the job ends, calling ``on_update`` after each refresh. Backs off while
        nothing changes, honours Retry-After, and gives up after ``max_failures`` failures in a row."""
        schedule = schedule or PollSchedule()
        local_id = self.registry.get(job).id
        interval, failures, last = schedule.initial_s, 0, None
        backoff = interval  # grows over consecutive failures; the polling interval itself is kept
        while True:
            try:
                record, new_events = self.refresh(local_id)
                failures, backoff = 0, interval
            except (RateLimited, ProviderUnavailable) as exc:
                failures += 1
                if failures >= schedule.max_failures:
                    raise
                retry_after = getattr(exc, "retry_after", None)
                wait = schedule.after_failure(backoff, retry_after)
                backoff = backoff if retry_after is not None else wait
                log.info("refresh of %s failed (%s); trying again in %.0fs", local_id, exc, wait)
                self.sleep(wait)
                continue
            on_update(record, new_events)
            if record.terminal:
                return record
            changed = bool(new_events) or fingerprint(record) != last
            last = fingerprint(record)
            interval = schedule.next_interval(interval, changed)
            self.sleep(interval)

    # -- acting on a job -------------------------------------------------------------------------

    def cancel(self, job: str) -> JobRecord:
        record = self._reached_backend(job, "cancel")
        status = self.backend(record.backend).cancel(record.ref())
        # the state after the cancel
        return self.registry.record_status(record.id, _redacted_status(status), observed_at=utcnow())

    def pause(self, job: str) -> JobRecord:
        return self._optional_action(job, "pause")

    def resume(self, job: str) -> JobRecord:
        return self._optional_action(job, "resume")

    def _optional_action(self, job: str, action: str) -> JobRecord:
        record = self._reached_backend(job, action)
        backend = self.backend(record.backend)
        # Backend.pause / resume raise NotSupported unless the backend overrides them
        status = backend.pause(record.ref()) if action == "pause" else backend.resume(record.ref())
        # the state after the action; a resumed job may leave its ended state (the backend says so)
        return self.registry.record_status(record.id, _redacted_status(status), observed_at=utcnow(),
                                           reopen=action == "resume")

    def _reached_backend(self, job: str, action: str) -> JobRecord:
        """The job to ``action``: it must have reached its backend and (except for ``resume``, which
        may restart an ended local job) not have ended — cancel and pause refuse an ended job alike."""
        record = self.registry.get(job)
        if record.unsettled:
            record = self.reconcile(record)
        if record.terminal and action != "resume":
            raise UsageError(f"job {record.id} has already ended ({record.state.value}); there is nothing to "
                             f"{action}", code="job_ended")
        if record.remote_id is None:
            raise UsageError(f"job {record.id} never reached {record.backend} (state {record.state.value})",
                             code="not_submitted")
        return record

    # -- forgetting a job ------------------------------------------------------------------------

    def removable(self, job: str, *, force: bool = False) -> JobRecord:
        """The job ``remove`` may forget: one that ended, or never reached its backend and is not being
        submitted now. ``force`` also allows a job that may still run remotely (it is not cancelled)."""
        record = self.registry.get(job)
        if force or record.terminal:
            return record
        live_submitter = record.state is JobState.SUBMITTING and _submitter_alive(
            self.registry.submitter(record.id), record.created_at)
        if record.remote_id is None and not live_submitter and record.state is not JobState.UNKNOWN:
            return record
        hint = (f"cancel it first (`ftrouter cancel {record.id}`)" if record.remote_id else
                f"check it first (`ftrouter status {record.id}`)")
        raise UsageError(f"job {record.id} has not ended ({record.state.value}); {hint}, or pass --force to forget "
                         "it anyway (nothing is cancelled at the backend)", code="job_active")

    @staticmethod
    def job_folder(local_id: str) -> Path:
        return job_dir(local_id, create=False)

    def remove(self, record: JobRecord) -> None:
        """Forget the job: its registry row, history and events, and its folder under FTROUTER_HOME
        (converted data, a local job's logs, checkpoints and trained adapter)."""
        self.registry.remove(record.id)
        shutil.rmtree(job_dir(record.id, create=False), ignore_errors=True)


def _redacted_status(status: JobStatus) -> JobStatus:
    """A provider's status with its error message cleaned of secret fragments before it is stored."""
    if status.error is not None:
        status.error = status.error.model_copy(update={"message": redact(status.error.message)})
    return status


def _redacted_event(event: JobEvent) -> JobEvent:
    return event.model_copy(update={"message": redact(event.message)})


def _submitter_alive(submitter: str | None, created_at: datetime) -> bool:
    """Whether the process that was submitting a job may still be at it."""
    if not submitter:
        return False
    host, _, pid_text = submitter.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return datetime.now(UTC) - created_at < ABANDONED_AFTER
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
