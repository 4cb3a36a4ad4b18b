"""The job registry: one SQLite file under ``FTROUTER_HOME`` that remembers every job.

- A job gets a local id (``ftr-7k2m9q``) and a row in state ``submitting`` BEFORE any remote call;
  the remote id is attached when the backend's create call returns. A row left in ``submitting`` by a
  crashed process is reconciled later (``ftrouter.jobs.service``), never silently re-submitted.
- Every status refresh that changes something is appended to ``status_log`` and every event to
  ``events``, so ``ftrouter jobs`` works offline from the last known state and estimate-vs-actual
  can be reported per job.
- Several CLI processes may use the file at once: WAL journal, a busy timeout, and every
  read-modify-write inside ``BEGIN IMMEDIATE`` so no update is lost. Each call opens its own short
  connection, which also makes a ``Registry`` safe to share between threads.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ftrouter.errors import JobNotFound, RegistryError
from ftrouter.jobs.migrations import MIGRATIONS, SCHEMA_VERSION
from ftrouter.jobs.models import JobError, JobEvent, JobState, JobStatus, PreparedJob, RemoteRef
from ftrouter.jobs.paths import registry_path
from ftrouter.jobs.record import JobRecord

# Ids are read aloud and typed: no 0/o, 1/i/l. 31**6 ≈ 8.9e8 ids; collisions are retried anyway.
_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_ID_LENGTH = 6
ID_PREFIX = "ftr-"

DEFAULT_BUSY_TIMEOUT_S = 30.0
RECENT_JOBS = 20  # `ftrouter jobs` without --all: every unfinished job plus this many recent ones


def new_local_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def this_process() -> str:
    """``host:pid`` of the current process, stored while it submits a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """The job registry at ``path`` (default ``$FTROUTER_HOME/jobs.db``)."""

    def __init__(self, path: Path | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else registry_path()
        self.busy_timeout_s = busy_timeout_s
        self._ready = False

    # -- connections ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            if not self._ready:
                self._prepare_schema(conn)
                self._ready = True
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"cannot open the job registry: {exc}", path=self.path) from exc
        except OSError as exc:
            raise RegistryError(f"cannot create the job registry: {exc.strerror}", path=self.path) from exc
        return conn

    def _prepare_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")  # persistent; lets readers run beside one writer
        conn.execute("BEGIN IMMEDIATE")  # one process migrates, the others wait and then see it done
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RegistryError(
                    f"the job registry has schema version {version}, newer than this ftrouter knows "
                    f"({SCHEMA_VERSION}); upgrade ftrouter", path=self.path)
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its first statement (no lost updates)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"job registry write failed: {exc}", path=self.path) from exc
        finally:
            conn.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"job registry read failed: {exc}", path=self.path) from exc
        finally:
            conn.close()

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- creating and updating jobs --------------------------------------------------------------

    def create(self, prepared: PreparedJob) -> JobRecord:
        """Write the row for a job about to be submitted (state ``submitting``)."""
        now = _now()
        record = JobRecord(id=prepared.local_id, backend=prepared.spec.backend, state=JobState.SUBMITTING,
                           spec=prepared.spec, estimate=prepared.estimate, files=prepared.files,
                           created_at=now, updated_at=now)
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO jobs (local_id, backend, state, record, submitter, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (record.id, record.backend, record.state.value, record.model_dump_json(), this_process(),
                     now.isoformat(), now.isoformat()))
            except sqlite3.IntegrityError as exc:
                raise RegistryError(f"a job with id {record.id} already exists", path=self.path) from exc
        return record

    def add_imported(self, record: JobRecord) -> tuple[JobRecord, bool]:
        """Write the row of a job created outside ftrouter (``ftrouter import``). When the registry
        already has that backend's remote id, the existing row is returned with ``False``: an import
        never adds the same job twice, even when two imports run at once."""
        with self._write() as conn:
            row = conn.execute("SELECT record FROM jobs WHERE backend = ? AND remote_id = ?",
                               (record.backend, record.remote_id)).fetchone()
            if row is not None:
                return JobRecord.model_validate_json(row[0]), False
            try:
                conn.execute(
                    "INSERT INTO jobs (local_id, backend, remote_id, state, record, submitter, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                    (record.id, record.backend, record.remote_id, record.state.value, record.model_dump_json(),
                     record.created_at.isoformat(), record.updated_at.isoformat()))
            except sqlite3.IntegrityError as exc:
                raise RegistryError(f"a job with id {record.id} already exists", path=self.path) from exc
        return record, True

    def find_remote(self, backend: str, remote_id: str) -> JobRecord | None:
        """The job that ``backend`` knows as ``remote_id``, if the registry has it."""
        with self._read() as conn:
            row = conn.execute("SELECT record FROM jobs WHERE backend = ? AND remote_id = ?",
                               (backend, remote_id)).fetchone()
        return JobRecord.model_validate_json(row[0]) if row else None

    def attach_remote(self, local_id: str, ref: RemoteRef) -> JobRecord:
        """The backend created the job: remember where it lives. It is ``pending`` until refreshed."""

        def change(record: JobRecord) -> None:
            record.remote_id = ref.remote_id
            record.ref_extra = dict(ref.extra)
            if record.state is JobState.SUBMITTING:
                record.state = JobState.PENDING

        return self._update(local_id, change, clear_submitter=True)

    def record_status(self, local_id: str, status: JobStatus) -> JobRecord:
        """Store a status refresh; when the job has ended, copy the measured facts into ``actual``."""

        def change(record: JobRecord) -> None:
            _apply_status(record, status)

        return self._update(local_id, change, log_status=status)

    def mark_submit_failed(self, local_id: str, error: JobError) -> JobRecord:
        """The job never reached its backend: it ends here, as ``failed`` with the reason."""

        def change(record: JobRecord) -> None:
            record.state = JobState.FAILED
            record.error = error
            record.actual.setdefault("ended_at", _now().isoformat())

        return self._update(local_id, change, clear_submitter=True)

    def release_submitter(self, local_id: str) -> None:
        """The submitting process gives up on a row it could not resolve; the next command reconciles it."""
        self._update(local_id, lambda record: None, clear_submitter=True, touch=False)

    def record_refresh_error(self, local_id: str, message: str | None) -> JobRecord:
        """Remember (or clear, with ``None``) why the last refresh failed; the state is kept as is."""

        def change(record: JobRecord) -> None:
            record.refresh_error = message

        return self._update(local_id, change, touch=False)

    def _update(self, local_id: str, change: Callable[[JobRecord], None], *, log_status: JobStatus | None = None,
                clear_submitter: bool = False, touch: bool = True) -> JobRecord:
        with self._write() as conn:
            record = self._get_by_local_id(conn, local_id)
            before = record.model_copy(deep=True)
            change(record)
            if touch:
                record.updated_at = _now()
            conn.execute(
                "UPDATE jobs SET remote_id = ?, state = ?, record = ?, updated_at = ?"
                + (", submitter = NULL" if clear_submitter else "") + " WHERE local_id = ?",
                (record.remote_id, record.state.value, record.model_dump_json(), record.updated_at.isoformat(),
                 local_id))
            if log_status is not None and _status_changed(before, record):
                conn.execute("INSERT INTO status_log (local_id, recorded_at, state, status) VALUES (?, ?, ?, ?)",
                             (local_id, _now().isoformat(), log_status.state.value, log_status.model_dump_json()))
        return record

    def add_events(self, local_id: str, events: list[JobEvent]) -> int:
        """Append events not seen before (by event id); returns how many were new."""
        added = 0
        with self._write() as conn:
            self._get_by_local_id(conn, local_id)
            for event in events:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO events (local_id, event_id, created_at, event) VALUES (?, ?, ?, ?)",
                    (local_id, event.id, event.created_at.isoformat(), event.model_dump_json()))
                added += cursor.rowcount
        return added

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _get_by_local_id(conn: sqlite3.Connection, local_id: str) -> JobRecord:
        row = conn.execute("SELECT record FROM jobs WHERE local_id = ?", (local_id,)).fetchone()
        if row is None:
            raise JobNotFound(f"no job {local_id!r} in the registry (see `ftrouter jobs --all`)")
        return JobRecord.model_validate_json(row[0])

    def get(self, job: str) -> JobRecord:
        """A job by local id (``ftr-7k2m9q``, the ``ftr-`` may be left out) or by its remote id."""
        with self._read() as conn:
            candidates = [job] if job.startswith(ID_PREFIX) else [job, ID_PREFIX + job]
            for local_id in candidates:
                row = conn.execute("SELECT record FROM jobs WHERE local_id = ?", (local_id,)).fetchone()
                if row:
                    return JobRecord.model_validate_json(row[0])
            rows = conn.execute("SELECT record FROM jobs WHERE remote_id = ?", (job,)).fetchall()
        if len(rows) == 1:
            return JobRecord.model_validate_json(rows[0][0])
        if len(rows) > 1:
            raise JobNotFound(f"remote id {job!r} matches {len(rows)} jobs; use the local id", code="ambiguous_job")
        raise JobNotFound(f"no job {job!r} in the registry (see `ftrouter jobs --all`)")

    def list_jobs(self, *, include_all: bool = False, recent: int = RECENT_JOBS) -> list[JobRecord]:
        """Newest first: every job with ``include_all``, else unfinished jobs plus the ``recent`` newest."""
        terminal = tuple(state.value for state in JobState if state.terminal)
        with self._read() as conn:
            if include_all:
                rows = conn.execute("SELECT record FROM jobs ORDER BY created_at DESC, rowid DESC").fetchall()
            else:
                rows = conn.execute(
                    "SELECT record FROM jobs WHERE state NOT IN (?, ?, ?) OR local_id IN "
                    "(SELECT local_id FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?) "
                    "ORDER BY created_at DESC, rowid DESC", (*terminal, recent)).fetchall()
        return [JobRecord.model_validate_json(row[0]) for row in rows]

    def submitting(self) -> list[tuple[JobRecord, str | None]]:
        """Jobs still in ``submitting`` with the ``host:pid`` that was submitting them."""
        with self._read() as conn:
            rows = conn.execute("SELECT record, submitter FROM jobs WHERE state = ?",
                                (JobState.SUBMITTING.value,)).fetchall()
        return [(JobRecord.model_validate_json(record), submitter) for record, submitter in rows]

    def submitter(self, local_id: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT submitter FROM jobs WHERE local_id = ?", (local_id,)).fetchone()
        return row[0] if row else None

    def events(self, local_id: str) -> list[JobEvent]:
        """Stored events, oldest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT event FROM events WHERE local_id = ? ORDER BY created_at, seq",
                                (local_id,)).fetchall()
        return [JobEvent.model_validate_json(row[0]) for row in rows]

    def last_event_id(self, local_id: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT event_id FROM events WHERE local_id = ? ORDER BY created_at DESC, seq DESC"
                               " LIMIT 1", (local_id,)).fetchone()
        return row[0] if row else None

    def history(self, local_id: str) -> list[JobStatus]:
        """Every stored status of a job, oldest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT status FROM status_log WHERE local_id = ? ORDER BY seq",
                                (local_id,)).fetchall()
        return [JobStatus.model_validate_json(row[0]) for row in rows]

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


def _apply_status(record: JobRecord, status: JobStatus) -> None:
    record.state = status.state
    record.raw_state = status.raw_state
    record.progress = status.progress
    record.metrics = dict(status.metrics)
    record.eta = status.eta
    record.result = status.result
    record.error = status.error
    record.refresh_error = None
    if status.trained_tokens is not None:
        record.trained_tokens = status.trained_tokens
        record.actual["trained_tokens"] = status.trained_tokens
    if status.state.terminal:
        record.actual.update(status.runtime)
        record.actual["state"] = status.state.value
        ended = record.actual.setdefault("ended_at", status.updated_at.isoformat())
        record.actual.setdefault(
            "elapsed_s", round((datetime.fromisoformat(ended) - record.created_at).total_seconds(), 3))


def _status_changed(before: JobRecord, after: JobRecord) -> bool:
    fields = ("state", "raw_state", "progress", "metrics", "eta", "result", "error", "trained_tokens")
    return any(getattr(before, name) != getattr(after, name) for name in fields) or before.actual != after.actual
