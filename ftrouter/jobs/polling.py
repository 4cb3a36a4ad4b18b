"""How often to ask a backend about a running job.

Polling starts brisk, backs off while nothing changes, snaps back when something does, and waits
as long as the provider asks when it answers 429 with Retry-After (never less than the current interval).
"""

from __future__ import annotations

from dataclasses import dataclass

from ftrouter.jobs.record import JobRecord


@dataclass(frozen=True)
class PollSchedule:
    initial_s: float = 5.0
    max_s: float = 60.0
    factor: float = 1.5
    max_failures: int = 6  # consecutive failed refreshes before watching gives up

    def next_interval(self, current_s: float, changed: bool) -> float:
        if changed:
            return self.initial_s
        return min(self.max_s, current_s * self.factor)

    def after_failure(self, current_s: float, retry_after_s: float | None) -> float:
        if retry_after_s is not None:  # a floor: "Retry-After: 0" must not turn into a busy loop
            return max(retry_after_s, current_s, 0.0)
        return min(self.max_s, max(current_s, self.initial_s) * 2)


def fingerprint(record: JobRecord) -> tuple[object, ...]:
    """What counts as "something changed" between two refreshes."""
    return (record.state, record.raw_state, record.progress, tuple(sorted(record.metrics.items())),
            record.result, record.error, record.remote_id)
