"""``JobRecord``: one job as the registry knows it — the last known status plus what was asked,
what was estimated and what actually happened. It is what ``status --json`` and ``jobs --json`` print.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ftrouter.errors import UsageError
from ftrouter.jobs.models import JobError, JobResult, JobSpec, JobState, Progress, RemoteRef


class JobRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str  # the local id, e.g. ftr-7k2m9q
    backend: str
    remote_id: str | None = None
    state: JobState
    raw_state: str | None = None
    progress: Progress = Field(default_factory=Progress)
    metrics: dict[str, float] = Field(default_factory=dict)
    eta: datetime | None = None
    result: JobResult | None = None
    error: JobError | None = None
    trained_tokens: int | None = None
    estimate: dict[str, Any] = Field(default_factory=dict)  # the cost engine's estimate at submit time
    actual: dict[str, Any] = Field(default_factory=dict)  # measured facts once the job ended
    spec: JobSpec
    ref_extra: dict[str, Any] = Field(default_factory=dict)  # RemoteRef.extra (project, job dir, ...)
    files: dict[str, str] = Field(default_factory=dict)  # the converted files that were sent
    refresh_error: str | None = None  # why the last refresh failed (the state above is then stale)
    created_at: datetime
    updated_at: datetime

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    @property
    def unsettled(self) -> bool:
        """Whether it is not yet known if the backend created this job: ``submitting``, or ``unknown``
        without a remote id (a create whose answer was lost and could not be looked up)."""
        return self.state is JobState.SUBMITTING or (self.state is JobState.UNKNOWN and self.remote_id is None)

    def ref(self) -> RemoteRef:
        """The backend's handle on this job; only jobs that reached their backend have one."""
        if self.remote_id is None:
            raise UsageError(f"job {self.id} has no remote job yet (state {self.state.value})", code="not_submitted")
        return RemoteRef(backend=self.backend, remote_id=self.remote_id, local_id=self.id, extra=self.ref_extra)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable contract (``status --json``): plain JSON types only."""
        return self.model_dump(mode="json")
