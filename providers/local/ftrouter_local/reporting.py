"""How the worker reports: the stop flag (signal + request file) and the status/events writer.

Light on purpose (no torch): the worker installs these before it starts the slow imports, so a
cancel that arrives while the model is still loading is not lost, and the status says "loading".
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from ftrouter.jobs.models import utcnow
from ftrouter_local.jobfiles import JobFiles, WorkerStatus

STATUS_INTERVAL_S = 0.25  # at most this often, except on state changes


class StopFlag:
    """Set by SIGTERM/SIGINT or by ``cancel.request`` in the job folder."""

    def __init__(self, files: JobFiles) -> None:
        self.files = files
        self.signalled = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True

    @property
    def requested(self) -> bool:
        return self.signalled or self.files.cancel_request.exists()


class StatusWriter:
    """Owns ``status.json`` and ``events.jsonl`` for one worker attempt (rank 0 writes, others no-op)."""

    def __init__(self, files: JobFiles, *, enabled: bool = True) -> None:
        self.files = files
        self.enabled = enabled
        self.status = self._initial()
        self._last_write = 0.0

    def _initial(self) -> WorkerStatus:
        try:
            return self.files.read_status()
        except Exception:  # a missing or unreadable file: start a fresh one rather than not report
            return WorkerStatus()

    def update(self, *, force: bool = False, **fields: Any) -> None:
        changed_state = "state" in fields and fields["state"] != self.status.state
        for name, value in fields.items():
            setattr(self.status, name, value)
        now = time.monotonic()
        if self.enabled and (force or changed_state or now - self._last_write >= STATUS_INTERVAL_S):
            self.files.write_status(self.status)
            self._last_write = now

    def event(self, message: str, *, type: str = "message", level: str = "info",
              data: dict[str, Any] | None = None) -> None:
        if self.enabled:
            self.files.append_event(message, type=type, level=level, data=data)

    def set_state(self, state: str, message: str, *, level: str = "info", **fields: Any) -> None:
        self.update(state=state, force=True, **fields)
        self.event(message, type="state", level=level, data={"state": state})

    def fail(self, code: str, message: str, *, with_log: bool = True) -> None:
        """End the attempt as failed; ``with_log`` appends the log tail (the traceback) to the error."""
        tail = self.files.log_tail(12) if with_log else ""
        self.set_state("failed", f"training failed: {message}", level="error", error_code=code,
                       error_message=message + (f"\nlast lines of {self.files.log}:\n{tail}" if tail else ""))


def eta_from(step: int, total: int, seconds: float, steps_done: int) -> datetime | None:
    """Remaining steps times the average step time of this attempt (None until a step finished)."""
    if steps_done <= 0 or total <= step:
        return None
    return utcnow() + timedelta(seconds=(total - step) * seconds / steps_done)


def peak_rss_gb() -> float:
    """Peak resident memory of this process (the CPU-training counterpart of GPU peak memory)."""
    import resource

    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return round(kilobytes * 1024 / 1e9, 3) if os.uname().sysname == "Linux" else round(kilobytes / 1e9, 3)
