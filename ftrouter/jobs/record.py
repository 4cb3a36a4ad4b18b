"""``JobRecord``: one job as the registry knows it — the last known status plus what was asked,
what was estimated and what actually happened. It is what ``status --json`` and ``jobs --json`` print.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from ftrouter.errors import UsageError
from ftrouter.jobs.models import JobEstimate, JobSpec, JobState, JobStatus, RemoteRef, StatusFields

# ``status --json`` has always opened with who the job is; the status fields come from the base class
_LEADING_KEYS = ("id", "backend", "remote_id")


class JobRecord(StatusFields):
    """The last status a backend reported (the ``StatusFields``, flat) and the job's own facts."""

    id: str  # the local id, e.g. ftr-7k2m9q
    backend: str
    remote_id: str | None = None
    estimate: JobEstimate = Field(default_factory=JobEstimate)  # the cost engine's estimate at submit time
    actual: dict[str, Any] = Field(default_factory=dict)  # measured facts once the job ended
    spec: JobSpec
    ref_extra: dict[str, Any] = Field(default_factory=dict)  # RemoteRef.extra (project, job dir, ...)
    files: dict[str, str] = Field(default_factory=dict)  # the converted files that were sent
    refresh_error: str | None = None  # why the last refresh failed (the state above is then stale)
    created_at: datetime
    updated_at: datetime

    @model_serializer(mode="wrap")
    def _identity_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {**{key: data[key] for key in _LEADING_KEYS if key in data}, **data}

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

    def status_fields(self) -> dict[str, Any]:
        """The ``StatusFields`` part, to tell whether a refresh changed anything."""
        return {name: getattr(self, name) for name in StatusFields.model_fields}

    def apply_status(self, status: JobStatus) -> None:
        """Take over what the backend reported: every status field (a ``trained_tokens`` it did not
        report keeps the last known count), a cleared ``refresh_error``, and, once the job has ended,
        the measured facts in ``actual``."""
        reported = status.model_copy(deep=True)
        for name in StatusFields.model_fields:
            value = getattr(reported, name)
            if name != "trained_tokens" or value is not None:
                setattr(self, name, value)
        self.refresh_error = None
        if status.trained_tokens is not None:
            self.actual["trained_tokens"] = status.trained_tokens
        if status.state.terminal:
            self.actual.update(status.runtime)
            self.actual["state"] = status.state.value
            ended = self.actual.setdefault("ended_at", status.updated_at.isoformat())
            self.actual.setdefault(
                "elapsed_s", round((datetime.fromisoformat(ended) - self.created_at).total_seconds(), 3))

    def to_json(self) -> dict[str, Any]:
        """The machine-readable contract (``status --json``): plain JSON types only."""
        return self.model_dump(mode="json")
