"""Eval runs started over HTTP: checked at once, answered in the background.

``POST /v1/evals`` calls ``ftrouter.eval.session.prepare`` in the request (bad options, a bad eval file
or missing credentials answer at once with the CLI's error), then hands ``run_prepared`` — the very
function ``ftrouter eval`` calls — to a small thread pool and answers 202 with the run id. The engine
reports progress through its ``tick`` callback, so ``GET /v1/evals/{id}`` can say how far a run is.

What is kept here, in memory, is only runs not yet stored: queued, running, or failed. A finished run is
the stored one (``$FTROUTER_HOME/evals/<id>``), read like ``ftrouter evals show``. A run in progress
does not survive a restart of the service; its answers are in the answer cache, so posting it again
costs no repeated model calls.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from ftrouter.errors import FtrouterError, RateLimited

if TYPE_CHECKING:
    from ftrouter.eval.session import PreparedEval

log = logging.getLogger(__name__)

State = Literal["queued", "running", "failed"]
KEEP_FAILED = 100  # failed runs remembered (oldest forgotten first)


@dataclass
class PendingRun:
    """A run the service started that is not stored (yet)."""

    id: str
    data: str
    models: list[str]
    total: int  # answers to get: examples x models
    done: int = 0
    state: State = "queued"
    error: FtrouterError | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "state": self.state, "created_at": self.created_at,
                                "data": self.data, "models": self.models,
                                "progress": {"done": self.done, "total": self.total}}
        if self.error is not None:
            err = self.error
            body["error"] = {"code": err.code, "message": str(err) if err.path else err.message}
        return body


class ServiceStopped(FtrouterError):
    """Raised from the progress callback when the service stops: the run ends after its in-flight batch."""

    code = "service_stopped"


class EvalRunner:
    """A bounded pool of background eval runs and what is known about the unfinished ones."""

    def __init__(self, workers: int, max_pending: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ftrouter-serve-eval")
        self._max_pending = max_pending
        self._runs: OrderedDict[str, PendingRun] = OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self, prepared: PreparedEval) -> PendingRun:
        from ftrouter.eval.store import new_run_id

        run = PendingRun(new_run_id(), str(prepared.data), [spec.raw for spec in prepared.model_specs],
                         prepared.work)
        with self._lock:
            if sum(r.state != "failed" for r in self._runs.values()) >= self._max_pending:
                raise RateLimited(f"{self._max_pending} eval runs are already queued or running; retry later",
                                  code="too_many_evals", retry_after=30)
            self._runs[run.id] = run
        self._pool.submit(self._run, run, prepared)
        return run

    def get(self, run_id: str) -> PendingRun | None:
        """The unfinished run ``run_id`` (with or without its ``ev-`` prefix, as ``evals show`` takes it)."""
        from ftrouter.eval.store import RUN_PREFIX

        key = run_id if run_id.startswith(RUN_PREFIX) else RUN_PREFIX + run_id
        with self._lock:
            return self._runs.get(key)

    def pending(self) -> list[PendingRun]:
        with self._lock:
            return list(reversed(self._runs.values()))

    def shutdown(self) -> None:
        """Stop: queued runs are dropped and running ones end after the batches they have in flight —
        so stopping the service never waits for whole eval runs (their answers stay in the cache)."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _tick(self, run: PendingRun) -> Any:
        def tick(n: int) -> None:
            with self._lock:
                run.done += n
            if self._stopping.is_set():  # the engine's callback is the one place a run can be stopped
                raise ServiceStopped("the service stopped before the run ended; post it again (answers so far "
                                     "are cached)")
        return tick

    def _run(self, run: PendingRun, prepared: PreparedEval) -> None:
        from ftrouter.eval.session import run_prepared

        with self._lock:
            run.state = "running"
        try:
            run_prepared(prepared, self._tick(run), run_id=run.id)
        except FtrouterError as exc:
            self._failed(run, exc)
            return
        except Exception as exc:  # a bug: recorded as the run's failure, never a silent thread death
            log.exception("eval run %s failed", run.id)
            self._failed(run, FtrouterError(f"internal error: {type(exc).__name__}", code="internal_error"))
            return
        with self._lock:  # stored: from now on the stored run answers
            self._runs.pop(run.id, None)

    def _failed(self, run: PendingRun, exc: FtrouterError) -> None:
        with self._lock:
            run.state, run.error = "failed", exc
            failed = [key for key, r in self._runs.items() if r.state == "failed"]
            for key in failed[:-KEEP_FAILED]:
                del self._runs[key]


# -- the eval's HTML report, served with a policy that lets only its own script run ------------------

_PROBE = {"id": "probe", "summary": {"examples": 0, "data": "probe", "models": [], "comparisons": []},
          "details": {"metrics": []}}


def _sha256(text: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


@cache
def report_csp() -> str:
    """The side-by-side report's filters are an inline script and ``onchange`` handlers. The dashboard
    itself runs no script; rather than drop the filters, the report is served with a policy that allows
    exactly the renderer's own script and handlers, by hash (taken from a page rendered from no data),
    and nothing else: even if some text escaped ``html.escape``, an injected script would not run."""
    import re

    from ftrouter.eval.render import render_html

    probe = render_html(_PROBE, [])
    scripts = re.findall(r"<script>(.*?)</script>", probe, flags=re.S)
    handlers = sorted(set(re.findall(r' on[a-z]+="([^"]*)"', probe)))
    allowed = " ".join(_sha256(text) for text in scripts)
    if handlers:
        allowed += " 'unsafe-hashes' " + " ".join(_sha256(text) for text in handlers)
    return (f"default-src 'none'; style-src 'unsafe-inline'; script-src {allowed}; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")


def report_headers() -> dict[str, str]:
    return {"Content-Security-Policy": report_csp(), "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"}
