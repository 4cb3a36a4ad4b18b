"""The job registry: one SQLite file under ``FTROUTER_HOME`` that remembers every job.

- A job gets a local id (``ftr-7k2m9q``) and a row in state ``submitting`` BEFORE any remote call;
  the remote id is attached when the backend's create call returns. A row left in ``submitting`` by a
  crashed process is reconciled later (``ftrouter.jobs.service``), never silently re-submitted.
- Every status refresh that changes something is appended to ``status_log`` and every event to
  ``events``, so ``ftrouter jobs`` works offline from the last known state and estimate-vs-actual
  can be reported per job.
- Several CLI processes may use the file at once: WAL journal, a busy timeout, and every
  read-modify-write inside ``BEGIN IMMEDIATE`` so no update is lost. Each call opens its own short
  connection, which also makes a ``Registry`` safe to share between threads. A new registry is created
  and migrated under an exclusive file lock (``jobs.db.lock``): switching a fresh file to WAL while
  another process does the same fails "database is locked" rather than waiting.
- A status is stored with the time it was observed: an older observation (a slow refresh) never
  replaces a newer one, and an ended job stays ended unless the backend reports a later transition
  itself (``resume``).
- The home, the file and its journals are private (0700 / 0600) whatever the umask. Paths of a job's
  own files are stored relative to the registry's folder (``FTROUTER_HOME``), so a copied or moved
  home works on its own job folders.
- ``Registry(read_only=True)`` never writes: it opens the file with ``mode=ro`` (or, on a read-only
  file system where SQLite cannot make its shared-memory file, as an immutable snapshot), so listing
  and showing jobs work on a read-only or full disk.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftrouter.errors import JobNotFound, RegistryError
from ftrouter.jobs.migrations import MIGRATIONS, SCHEMA_VERSION, relative_job_paths
from ftrouter.jobs.models import JobError, JobEvent, JobState, JobStatus, PreparedJob, RemoteRef
from ftrouter.jobs.paths import PRIVATE_FILE, from_home_relative, make_private, private_dir, registry_path
from ftrouter.jobs.record import JobRecord

# Ids are read aloud and typed: no 0/o, 1/i/l. 31**6 ≈ 8.9e8 ids; collisions are retried anyway.
_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_ID_LENGTH = 6
ID_PREFIX = "ftr-"

DEFAULT_BUSY_TIMEOUT_S = 30.0
RECENT_JOBS = 20  # `ftrouter jobs` without --all: every unfinished job plus this many recent ones
_READ_ONLY_HINT = " (on a read-only or full disk, `jobs`, `status` and `events` still work with --offline)"


def new_local_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def this_process() -> str:
    """``host:pid`` of the current process, stored while it submits a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """The job registry at ``path`` (default ``$FTROUTER_HOME/jobs.db``); ``read_only`` never writes."""

    def __init__(self, path: Path | None = None, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
                 read_only: bool = False) -> None:
        self.path = (Path(path) if path is not None else registry_path()).absolute()
        self.home = self.path.parent  # stored job paths are relative to it
        self.busy_timeout_s = busy_timeout_s
        self.read_only = read_only
        self._ready = False

    # -- connections ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        try:
            if not self._ready:
                self._create_and_migrate()
                self._ready = True
            return self._open()
        except sqlite3.DatabaseError as exc:
            hint = _READ_ONLY_HINT if isinstance(exc, sqlite3.OperationalError) else ""
            raise RegistryError(f"cannot open the job registry: {exc}{hint}", path=self.path) from exc
        except OSError as exc:
            raise RegistryError(f"cannot write the job registry: {exc.strerror}{_READ_ONLY_HINT}",
                                path=self.path) from exc

    def _open(self, uri: str | None = None) -> sqlite3.Connection:
        conn = sqlite3.connect(uri or self.path, timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False, uri=uri is not None)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        return conn

    def _create_and_migrate(self) -> None:
        """Make the file (private), switch it to WAL and migrate it, one process at a time: the lock
        file makes the others wait instead of failing "database is locked" on a brand-new registry."""
        import fcntl

        private_dir(self.home)
        lock_fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
            _make_private(self.path)  # SQLite gives -wal and -shm the mode of the database file
            conn = self._open()
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")  # persistent; lets readers run beside one writer
                self._migrate(conn)
            finally:
                conn.close()
        finally:
            os.close(lock_fd)  # releases the lock

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(conn)
            for number in range(version + 1, SCHEMA_VERSION + 1):
                migration = MIGRATIONS[number - 1]
                if isinstance(migration, str):
                    for statement in migration.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                else:
                    migration(conn, self.home)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"the job registry has schema version {version}, newer than this ftrouter knows "
                f"({SCHEMA_VERSION}); upgrade ftrouter", path=self.path)
        return version

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write. No registry yet (or one still being created) reads as empty."""
        try:
            if not self.path.is_file() or self.path.stat().st_size == 0:
                return _empty_registry()
            conn = self._open_read_only()
            try:
                version = self._check_version(conn)
            except BaseException:
                conn.close()
                raise
            if version == 0:
                conn.close()
                return _empty_registry()
            return conn
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"cannot open the job registry: {exc}", path=self.path) from exc
        except OSError as exc:
            raise RegistryError(f"cannot read the job registry: {exc.strerror}", path=self.path) from exc

    def _open_read_only(self) -> sqlite3.Connection:
        from urllib.parse import quote

        uri = f"file:{quote(str(self.path))}?mode=ro"
        conn: sqlite3.Connection | None = None
        try:
            conn = self._open(uri)
            conn.execute("PRAGMA user_version").fetchone()
            return conn
        except sqlite3.OperationalError:
            if conn is not None:
                conn.close()
            # Even to read a WAL database SQLite makes its -shm file, which a read-only or full file
            # system refuses. When no write is pending in the -wal file, the database file alone is the
            # whole registry: read it as immutable.
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise
            return self._open(uri + "&immutable=1")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its first statement (no lost updates)."""
        if self.read_only:
            raise RegistryError("the job registry was opened read-only", path=self.path, code="registry_read_only")
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
                    (record.id, record.backend, record.state.value, self._dump(record), this_process(),
                     now.isoformat(), now.isoformat()))
            except sqlite3.IntegrityError as exc:
                raise RegistryError(f"a job with id {record.id} already exists", path=self.path) from exc
        folder = self.home / "jobs" / record.id
        if folder.is_dir():  # the backend's copies of the training data: private whatever the umask
            make_private(folder)
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

    def record_status(self, local_id: str, status: JobStatus, *, observed_at: datetime | None = None,
                      reopen: bool = False) -> JobRecord:
        """Store a status the backend reported at ``observed_at`` (default: now); when the job has
        ended, copy the measured facts into ``actual``.

        Kept only if it is news: a status observed before the stored one is dropped (a slow refresh
        must not undo a cancel written meanwhile), and an ended job stays ended unless ``reopen`` says
        the backend itself started it again (``resume``). Returns the stored record either way."""
        observed = observed_at or _now()

        def change(record: JobRecord, stored_observed_at: datetime | None) -> bool:
            if stored_observed_at is not None and observed < stored_observed_at:
                return False
            if record.terminal and not reopen and status.state is not record.state:
                return False
            record.apply_status(status)
            return True

        return self._update(local_id, change, log_status=status, observed_at=observed)

    def mark_submit_failed(self, local_id: str, error: JobError) -> JobRecord:
        """The job never reached its backend: it ends here, as ``failed`` with the reason."""

        def change(record: JobRecord) -> None:
            record.state = JobState.FAILED
            record.error = error
            record.actual.setdefault("ended_at", _now().isoformat())

        return self._update(local_id, change, clear_submitter=True)

    def mark_submit_unconfirmed(self, local_id: str, error: JobError, sent: dict[str, Any]) -> JobRecord:
        """The create call's outcome is unknown and could not be looked up: state ``unknown`` without a
        remote id, with the error and what was sent. The next command looks it up again."""

        def change(record: JobRecord) -> None:
            record.state = JobState.UNKNOWN
            record.error = error
            record.ref_extra = {"unconfirmed_request": sent} if sent else {}

        return self._update(local_id, change, clear_submitter=True)

    def remove(self, local_id: str) -> None:
        """Forget a job: its row, status history and events (its files are the caller's business)."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE local_id = ?", (local_id,)).fetchone() is None:
                raise JobNotFound(f"no job {local_id!r} in the registry (see `ftrouter jobs --all`)")
            for table in ("events", "status_log", "jobs"):
                conn.execute(f"DELETE FROM {table} WHERE local_id = ?", (local_id,))  # fixed table names

    def record_refresh_error(self, local_id: str, message: str | None) -> JobRecord:
        """Remember (or clear, with ``None``) why the last refresh failed; the state is kept as is."""

        def change(record: JobRecord) -> None:
            record.refresh_error = message

        return self._update(local_id, change, touch=False)

    def _update(self, local_id: str, change: Callable[..., bool | None], *, log_status: JobStatus | None = None,
                clear_submitter: bool = False, touch: bool = True, observed_at: datetime | None = None) -> JobRecord:
        """Read, change and write one row in one transaction. ``change(record)`` edits the record; with
        ``observed_at`` it is called as ``change(record, stored_observed_at)`` and may return False to
        keep the row as it is."""
        with self._write() as conn:
            row = conn.execute("SELECT record, observed_at FROM jobs WHERE local_id = ?", (local_id,)).fetchone()
            if row is None:
                raise JobNotFound(f"no job {local_id!r} in the registry (see `ftrouter jobs --all`)")
            record = self._load(row[0])
            before = record.model_copy(deep=True)
            if observed_at is not None:
                stored = datetime.fromisoformat(row[1]) if row[1] else None
                if change(record, stored) is False:
                    return before
            else:
                change(record)
            if touch:
                record.updated_at = _now()
            conn.execute(
                "UPDATE jobs SET remote_id = ?, state = ?, record = ?, updated_at = ?"
                + (", observed_at = ?" if observed_at is not None else "")
                + (", submitter = NULL" if clear_submitter else "") + " WHERE local_id = ?",
                (record.remote_id, record.state.value, self._dump(record), record.updated_at.isoformat(),
                 *([observed_at.isoformat()] if observed_at is not None else []), local_id))
            if log_status is not None and _status_changed(before, record):
                conn.execute("INSERT INTO status_log (local_id, recorded_at, state, status) VALUES (?, ?, ?, ?)",
                             (local_id, _now().isoformat(), log_status.state.value, log_status.model_dump_json()))
        return record

    # -- how a record is stored: job paths relative to the home --------------------------------

    def _dump(self, record: JobRecord) -> str:
        return json.dumps(relative_job_paths(record.model_dump(mode="json"), self.home), ensure_ascii=False)

    def _load(self, text: str) -> JobRecord:
        record = JobRecord.model_validate_json(text)
        home = self.home
        record.files = {role: from_home_relative(path, home) for role, path in record.files.items()}
        if isinstance(record.ref_extra.get("job_dir"), str):
            record.ref_extra["job_dir"] = from_home_relative(record.ref_extra["job_dir"], home)
        if record.result is not None:
            for key in ("adapter_path", "checkpoint"):
                value = getattr(record.result, key)
                if value is not None:
                    setattr(record.result, key, from_home_relative(value, home))
        return record

    def add_events(self, local_id: str, events: list[JobEvent]) -> int:
        """Append events not seen before (by event id); returns how many were new."""
        added = 0
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE local_id = ?", (local_id,)).fetchone() is None:
                raise JobNotFound(f"no job {local_id!r} in the registry (see `ftrouter jobs --all`)")
            for event in events:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO events (local_id, event_id, created_at, event) VALUES (?, ?, ?, ?)",
                    (local_id, event.id, event.created_at.isoformat(), event.model_dump_json()))
                added += cursor.rowcount
        return added

    # -- reading ---------------------------------------------------------------------------------

    def get(self, job: str) -> JobRecord:
        """A job by local id (``ftr-7k2m9q``, the ``ftr-`` may be left out) or by its remote id."""
        with self._read() as conn:
            candidates = [job] if job.startswith(ID_PREFIX) else [job, ID_PREFIX + job]
            for local_id in candidates:
                row = conn.execute("SELECT record FROM jobs WHERE local_id = ?", (local_id,)).fetchone()
                if row:
                    return self._load(row[0])
            rows = conn.execute("SELECT record FROM jobs WHERE remote_id = ?", (job,)).fetchall()
        if len(rows) == 1:
            return self._load(rows[0][0])
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
        return [self._load(row[0]) for row in rows]

    def submitting(self) -> list[tuple[JobRecord, str | None]]:
        """Jobs still in ``submitting`` with the ``host:pid`` that was submitting them."""
        with self._read() as conn:
            rows = conn.execute("SELECT record, submitter FROM jobs WHERE state = ?",
                                (JobState.SUBMITTING.value,)).fetchall()
        return [(self._load(record), submitter) for record, submitter in rows]

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


def _status_changed(before: JobRecord, after: JobRecord) -> bool:
    return before.status_fields() != after.status_fields() or before.actual != after.actual


def _make_private(path: Path) -> None:
    """0600 for the registry and its journals (an older ftrouter made them 0644); a file someone else
    owns is left alone."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = candidate.stat()
        except FileNotFoundError:
            continue
        if info.st_mode & 0o777 != PRIVATE_FILE and info.st_uid == os.getuid():
            os.chmod(candidate, PRIVATE_FILE)


def _empty_registry() -> sqlite3.Connection:
    """An in-memory registry with the current schema: what a read-only reader sees before the first job."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    for migration in MIGRATIONS:
        if isinstance(migration, str):
            conn.executescript(migration)
    return conn
