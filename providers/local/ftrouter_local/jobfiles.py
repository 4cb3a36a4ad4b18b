"""The files of one local job, in its folder under ``$FTROUTER_HOME/jobs/<local-id>/``.

The worker process and the CLI never talk directly: the worker writes, the CLI reads.

    config.json            the merged TrainConfig (written by prepare; resume reuses it)
    data/train.jsonl       TRL prompt-completion records (and data/val.jsonl)
    status.json            the worker's last word: state, progress, metrics (atomic rewrite)
    events.jsonl           append-only event log; an event's id is its line number
    worker.log             the worker's stdout and stderr (its tail explains a crash)
    worker.pid             pid of the detached process (the worker, or `accelerate launch`)
    pids/rank-N            pid of each training process (cancel signals these)
    cancel.request         written by cancel: the durable form of the signal
    checkpoints/           Trainer checkpoints (checkpoint-<step>), for resume
    output/                the adapter (or full model), tokenizer, summary.json
    tensorboard/           TensorBoard event files

This module is imported by ``ftrouter status``: it must stay light (no torch, no transformers).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftrouter.errors import BackendError, NotFound
from ftrouter.jobs.models import JobEvent, JobState, utcnow

# The first line of each attempt's section of worker.log (written before the worker starts).
LOG_SECTION = "=== ftrouter-local "

# The worker's own states (``raw_state``) and what they mean in ftrouter's one state enum.
WORKER_STATES: dict[str, JobState] = {
    "pending": JobState.PENDING,  # spawned, not yet started
    "loading": JobState.RUNNING,  # loading the model, tokenizing the data
    "training": JobState.RUNNING,
    "cancelling": JobState.RUNNING,  # stop requested; saving a checkpoint
    "saving": JobState.RUNNING,  # writing the adapter and summary
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def to_job_state(raw: str) -> JobState:
    return WORKER_STATES.get(raw, JobState.UNKNOWN)


class WorkerStatus(BaseModel):
    """``status.json``. Unknown keys are ignored so an older CLI can read a newer worker's file."""

    model_config = ConfigDict(extra="ignore")

    state: str = "pending"
    pid: int | None = None  # the detached top process: the worker, or `accelerate launch`
    attempt: int = 1
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    eta: datetime | None = None
    checkpoint: str | None = None  # the newest checkpoint folder
    resume_from: str | None = None
    adapter_path: str | None = None
    trained_tokens: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    runtime: dict[str, Any] = Field(default_factory=dict)
    prior: dict[str, float] = Field(default_factory=dict)  # tokens / seconds of earlier attempts
    started_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def job_state(self) -> JobState:
        return to_job_state(self.state)


@dataclass(frozen=True)
class JobFiles:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def train_data(self) -> Path:
        return self.data_dir / "train.jsonl"

    @property
    def val_data(self) -> Path:
        return self.data_dir / "val.jsonl"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def log(self) -> Path:
        return self.root / "worker.log"

    @property
    def launcher_pidfile(self) -> Path:
        return self.root / "worker.pid"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def cancel_request(self) -> Path:
        return self.root / "cancel.request"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def accelerate_config(self) -> Path:
        return self.root / "accelerate.yaml"

    @property
    def lock(self) -> Path:
        return self.root / ".status.lock"

    # -- status ----------------------------------------------------------------------------------

    def read_status(self) -> WorkerStatus:
        """The worker's last word. A damaged file (bad bytes, not JSON, a folder in its place) is this
        job's problem, raised as ``corrupt_status`` naming the file: it must not stop ``jobs`` from
        listing the others."""
        try:
            raw = self.status.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"no local job in {self.root}", path=self.status) from exc
        except OSError as exc:  # a folder where the file should be, no permission...
            raise BackendError(f"unreadable worker status: {exc.strerror}", path=self.status,
                               code="corrupt_status") from exc
        try:
            return WorkerStatus.model_validate_json(raw)  # invalid UTF-8 is a ValidationError here
        except ValidationError as exc:
            raise BackendError(f"unreadable worker status: {exc.errors()[0]['msg']}", path=self.status,
                               code="corrupt_status") from exc

    def set_damaged_status_aside(self) -> Path | None:
        """Move an unreadable ``status.json`` (file or folder) to ``status.json.damaged-N`` so a fresh
        status can be written; nothing is deleted. Returns where it went."""
        if not self.status.exists() and not self.status.is_symlink():
            return None
        for n in range(1, 1000):
            target = self.root / f"{self.status.name}.damaged-{n}"
            if not target.exists():
                self.status.rename(target)
                return target
        raise BackendError("too many damaged status files", path=self.status, code="corrupt_status")

    def write_status(self, status: WorkerStatus) -> None:
        status.updated_at = utcnow()
        write_atomic(self.status, status.model_dump_json(indent=1))

    @contextmanager
    def locked(self) -> Any:
        """An exclusive lock for read-modify-write of status.json by CLI processes."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(self.lock, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- events ----------------------------------------------------------------------------------

    def append_event(self, message: str, *, type: str = "message", level: str = "info",
                     data: dict[str, Any] | None = None) -> None:
        line = json.dumps({"created_at": utcnow().isoformat(), "level": level, "type": type,
                           "message": message, "data": data or {}}, ensure_ascii=False)
        # one write() of one line with O_APPEND: concurrent writers never interleave lines
        fd = os.open(self.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def read_events(self, after: str | None = None) -> list[JobEvent]:
        """Events in the order they happened; ``after`` is an event id (a line number).

        The last line, while it has no newline yet, may be half written: it is left for a later read.
        A complete line that cannot be read (bad bytes, not an event) becomes a warning event naming
        the line, so a damaged line neither hides the others nor disappears unnoticed."""
        start = _event_index(after)
        try:
            raw_lines = self.events.read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise BackendError(f"unreadable event log: {exc.strerror}", path=self.events,
                               code="corrupt_events") from exc
        events: list[JobEvent] = []
        for number, raw in enumerate(raw_lines[:-1], start=1):  # the part after the last newline is unfinished
            if number > start and raw.strip():
                events.append(self._event(number, raw))
        return events

    def _event(self, number: int, raw: bytes) -> JobEvent:
        try:
            text = raw.decode("utf-8")
            item = json.loads(text)
            json.dumps(item, ensure_ascii=False).encode("utf-8")  # a "\ud800" escape cannot be stored
            return JobEvent(id=str(number), **item)
        except (ValueError, ValidationError, TypeError) as exc:
            reason = {UnicodeDecodeError: "not UTF-8", UnicodeEncodeError: "not valid Unicode"}.get(
                type(exc), "not an event")
            return JobEvent(id=str(number), created_at=utcnow(), level="warning", type="message",
                            message=f"{self.events}:{number}: unreadable event line skipped ({reason})")

    # -- logs, pids, checkpoints -------------------------------------------------------------------

    def start_log_section(self, title: str) -> None:
        """Mark where an attempt's output starts in worker.log (the log is kept across resumes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(f"{LOG_SECTION}{title} ===\n")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the newest attempt's output: an earlier attempt's lines never explain
        why this one ended."""
        tail: deque[str] = deque(maxlen=lines)
        try:
            with self.log.open("r", encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if line.startswith(LOG_SECTION):
                        tail.clear()
                    else:
                        tail.append(line)
        except FileNotFoundError:
            return ""
        return "".join(tail).rstrip()

    def write_rank_pid(self, rank: int, pid: int) -> None:
        self.pids.mkdir(parents=True, exist_ok=True)
        write_atomic(self.pids / f"rank-{rank}", str(pid))

    def rank_pids(self) -> list[int]:
        pids: list[int] = []
        for path in sorted(self.pids.glob("rank-*")) if self.pids.is_dir() else []:
            try:
                pids.append(int(path.read_text().strip()))
            except (OSError, ValueError):
                continue
        return pids

    def clear_rank_pids(self) -> None:
        for path in self.pids.glob("rank-*") if self.pids.is_dir() else []:
            path.unlink(missing_ok=True)

    def here(self, recorded: str | None) -> str | None:
        """A path the worker recorded inside its job folder, pointing into this folder even after
        ``FTROUTER_HOME`` was copied or moved (status.json keeps the path of the run that wrote it)."""
        if recorded is None:
            return None
        path = Path(recorded)
        if path.is_relative_to(self.root) or self.root.name not in path.parts:
            return recorded
        parts = path.parts
        inside = parts[len(parts) - parts[::-1].index(self.root.name):]  # after the last job-id component
        return str(self.root.joinpath(*inside))

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint (one the Trainer finished writing)."""
        found: list[tuple[int, Path]] = []
        for path in self.checkpoints.iterdir() if self.checkpoints.is_dir() else []:
            match = _CHECKPOINT.match(path.name)
            if match and (path / "trainer_state.json").is_file():
                found.append((int(match.group(1)), path))
        return max(found)[1] if found else None


def _event_index(after: str | None) -> int:
    if after is None or after == "":
        return 0
    try:
        return int(after)
    except ValueError as exc:
        raise BackendError(f"not a local event id: {after!r}", code="invalid_event_id") from exc


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
