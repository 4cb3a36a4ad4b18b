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
        try:
            text = self.status.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise NotFound(f"no local job in {self.root}", path=self.status) from exc
        try:
            return WorkerStatus.model_validate_json(text)
        except ValidationError as exc:
            raise BackendError(f"unreadable worker status: {exc.errors()[0]['msg']}", path=self.status,
                               code="corrupt_status") from exc

    def write_status(self, status: WorkerStatus) -> None:
        status.updated_at = utcnow()
        write_atomic(self.status, status.model_dump_json(indent=1))

    @contextmanager
    def locked(self) -> Any:
        """An exclusive lock for read-modify-write of status.json by CLI processes."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with self.lock.open("a") as handle:
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
        fd = os.open(self.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def read_events(self, after: str | None = None) -> list[JobEvent]:
        """Events in the order they happened; ``after`` is an event id (a line number)."""
        start = _event_index(after)
        try:
            raw_lines = self.events.read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            return []
        events: list[JobEvent] = []
        for number, raw in enumerate(raw_lines, start=1):
            if number <= start or not raw.strip():
                continue
            try:
                item = json.loads(raw)
                events.append(JobEvent(id=str(number), **item))
            except (ValueError, ValidationError, TypeError):
                continue  # a line cut short by a killed worker
        return events

    # -- logs, pids, checkpoints -------------------------------------------------------------------

    def start_log_section(self, title: str) -> None:
        """Mark where an attempt's output starts in worker.log (the log is kept across resumes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as handle:
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
