"""One background poller per service: it alone asks backends about active jobs and stores what it
learns in the registry, which every page, API call and SSE stream then reads. However many browsers
watch, each backend sees one refresh per job per interval.

Per job it follows ``PollSchedule``: brisk after a change, backing off while nothing changes, waiting
as long as a 429's Retry-After asks, doubling after failures. The registry is the same SQLite file the
CLI uses (WAL, busy timeout, ``BEGIN IMMEDIATE`` writes), so CLI processes and the service share it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ftrouter.errors import FtrouterError, RateLimited
from ftrouter.jobs.polling import PollSchedule, fingerprint
from ftrouter.jobs.service import JobService

log = logging.getLogger("ftrouter.serve")


@dataclass
class _Track:
    due: float
    interval: float
    backoff: float
    last: tuple[object, ...] | None = None


class Poller:
    def __init__(self, service: JobService, schedule: PollSchedule | None = None, *,
                 clock: Callable[[], float] = time.monotonic, idle_s: float = 10.0) -> None:
        self.service = service
        self.schedule = schedule or PollSchedule()
        self.clock = clock
        self.idle_s = idle_s  # how often the registry is scanned for new jobs when none is due sooner
        self._tracks: dict[str, _Track] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ftrouter-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    def wake(self, job_id: str | None = None) -> None:
        """Refresh ``job_id`` (or every job) on the next pass: after a submit or an action."""
        if job_id is not None and job_id in self._tracks:
            self._tracks[job_id].due = 0.0
        elif job_id is None:
            for track in list(self._tracks.values()):  # (a copy: the poller thread may add tracks meanwhile)
                track.due = 0.0
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.tick()
            except Exception as exc:  # a registry hiccup must not kill the poller
                log.warning("poller: %s: %s", type(exc).__name__, exc)
                wait = self.schedule.initial_s
            self._wake.wait(wait)
            self._wake.clear()

    def tick(self) -> float:
        """Refresh every active job that is due; returns the seconds until the next one is."""
        now = self.clock()
        active = [record for record in self.service.registry.list_jobs() if not record.terminal]
        ids = {record.id for record in active}
        for gone in set(self._tracks) - ids:
            del self._tracks[gone]
        due = []
        for record in active:
            track = self._tracks.setdefault(record.id, _Track(due=now, interval=self.schedule.initial_s,
                                                              backoff=self.schedule.initial_s))
            if track.due <= now:
                due.append((record.id, track))
        if len(due) == 1:
            self._refresh(*due[0], now)
        elif due:  # concurrently, as `ftrouter jobs` does: one slow backend does not hold up the others
            with ThreadPoolExecutor(max_workers=min(self.service.max_workers, len(due))) as pool:
                list(pool.map(lambda item: self._refresh(item[0], item[1], now), due))
        upcoming = [track.due for track in self._tracks.values()]
        return max(0.05, min([*upcoming, now + self.idle_s]) - now)

    def _refresh(self, job_id: str, track: _Track, now: float) -> None:
        try:
            record, new_events = self.service.refresh(job_id)
        except Exception as exc:  # one broken job or backend plugin must not stop the others' refreshes
            retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
            wait = self.schedule.after_failure(track.backoff, retry_after)
            track.backoff = track.backoff if retry_after is not None else wait
            track.due = now + wait
            message = str(exc) if isinstance(exc, FtrouterError) else f"{type(exc).__name__}: {exc}"
            self._note_failure(job_id, message)
            log.info("poller: refresh of %s failed (%s); next try in %.0fs", job_id, message, wait)
            return
        changed = bool(new_events) or fingerprint(record) != track.last
        track.last = fingerprint(record)
        track.interval = self.schedule.next_interval(track.interval, changed)
        track.backoff = track.interval
        track.due = now + track.interval

    def _note_failure(self, job_id: str, message: str) -> None:
        try:
            self.service.registry.record_refresh_error(job_id, message)
        except FtrouterError as error:  # e.g. the job was removed meanwhile
            log.info("poller: could not note the failure on %s: %s", job_id, error)
