"""Vertex AI's 12 ``JOB_STATE_*`` values, each mapped explicitly to ftrouter's ``JobState``.

Anything not in the table (a state Google adds later) becomes ``UNKNOWN`` and the raw value is kept,
so a new state is visible instead of being silently read as "queued".
"""

from __future__ import annotations

from ftrouter.jobs.models import JobState

VERTEX_STATES: dict[str, JobState] = {
    "JOB_STATE_UNSPECIFIED": JobState.UNKNOWN,  # the service did not say
    "JOB_STATE_QUEUED": JobState.PENDING,  # created or resumed, processing not begun
    "JOB_STATE_PENDING": JobState.PENDING,  # the service is preparing to run the job
    "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "JOB_STATE_FAILED": JobState.FAILED,
    # Not terminal: from CANCELLING a job may still end SUCCEEDED, FAILED or CANCELLED.
    "JOB_STATE_CANCELLING": JobState.RUNNING,
    "JOB_STATE_CANCELLED": JobState.CANCELLED,
    "JOB_STATE_PAUSED": JobState.PAUSED,  # stopped, can be resumed
    "JOB_STATE_EXPIRED": JobState.FAILED,  # ended without a result
    "JOB_STATE_UPDATING": JobState.RUNNING,  # a running job being updated; goes back to RUNNING
    # Some results may be missing; the tuned model, if any, is usable, and the error is reported.
    "JOB_STATE_PARTIALLY_SUCCEEDED": JobState.SUCCEEDED,
}


def map_state(raw: str | None) -> JobState:
    """The normalised state for a raw Vertex state (``UNKNOWN`` for anything unrecognised)."""
    if raw is None:
        return JobState.UNKNOWN
    return VERTEX_STATES.get(raw, JobState.UNKNOWN)
