"""A deterministic in-process backend for testing the registry, the service and the CLI.

Its "remote" jobs are JSON files under ``$FTROUTER_HOME/fake-remote/`` so several processes see the
same jobs. Each ``status`` call advances a job one step: queued -> running 1/3 -> 2/3 -> 3/3 ->
succeeded (or failed with ``--option fail=true``).

Run the real CLI with this backend registered (used by the multi-process tests)::

    python tests/jobs/fake_backend.py submit --backend fake --data FILE --model tiny
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ftrouter.backends import Backend
from ftrouter.errors import DataError, InvalidRequest, ProviderUnavailable
from ftrouter.jobs.models import (
    JobError,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    JobStatus,
    PlannedRequest,
    PreparedJob,
    Progress,
    RemoteRef,
)
from ftrouter.jobs.paths import ftrouter_home, job_dir
from ftrouter.plugins import Builtin

STATES = {"queued": JobState.PENDING, "running": JobState.RUNNING, "succeeded": JobState.SUCCEEDED,
          "failed": JobState.FAILED, "cancelled": JobState.CANCELLED, "paused": JobState.PAUSED}
TOTAL_STEPS = 3


def _remote_dir() -> Path:
    path = ftrouter_home() / "fake-remote"
    path.mkdir(parents=True, exist_ok=True)
    return path


class FakeBackend(Backend):
    name = "fake"
    calls: list[str] = []  # noqa: RUF012 - class-level call log for assertions
    lookup_down = False  # find_by_local_id fails (tests set it)

    def prepare(self, spec: JobSpec, local_id: str) -> PreparedJob:
        lines = Path(spec.data).read_text(encoding="utf-8").splitlines()
        if not lines:
            raise DataError("no examples", path=spec.data, line=1)
        converted = job_dir(local_id) / "train.jsonl"
        converted.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return PreparedJob(spec=spec, local_id=local_id, files={"train": str(converted)},
                           stats={"examples": len(lines)}, estimate={"usd": round(0.01 * len(lines), 2)},
                           requests=[PlannedRequest(method="POST", url="fake://jobs", body={"model": spec.model})],
                           warnings=[str(w) for w in [spec.options.get("warn")] if w])

    def submit(self, prepared: PreparedJob) -> RemoteRef:
        self.calls.append("submit")
        if prepared.spec.options.get("refuse"):  # refused before anything is created
            raise InvalidRequest("the fake provider refused the job")
        remote_id = "fakejob-" + prepared.local_id.removeprefix("ftr-")
        job = {"id": remote_id, "local_id": prepared.local_id, "status": "queued", "step": 0,
               "fail": bool(prepared.spec.options.get("fail")), "events": []}
        self._save(job)
        if prepared.spec.options.get("lose_answer"):  # created remotely, but the answer never arrives
            raise ProviderUnavailable("connection dropped after the create call")
        if prepared.spec.options.get("crash"):  # the submitting process dies right after the create
            os._exit(17)
        return RemoteRef(backend=self.name, remote_id=remote_id, local_id=prepared.local_id, extra={"n": 1})

    def _path(self, remote_id: str) -> Path:
        return _remote_dir() / f"{remote_id}.json"

    def _load(self, remote_id: str) -> dict[str, Any]:
        return dict(json.loads(self._path(remote_id).read_text(encoding="utf-8")))

    def _save(self, job: dict[str, Any]) -> None:
        tmp = self._path(job["id"]).with_suffix(".tmp")
        tmp.write_text(json.dumps(job), encoding="utf-8")
        tmp.replace(self._path(job["id"]))

    def _advance(self, job: dict[str, Any]) -> None:
        if job["status"] in ("succeeded", "failed", "cancelled", "paused"):
            return
        job["status"] = "running"
        job["step"] += 1
        job["events"].append({"id": f"ev-{len(job['events']) + 1}", "message": f"step {job['step']}"})
        if job["step"] >= TOTAL_STEPS:
            job["status"] = "failed" if job["fail"] else "succeeded"
            job["events"].append({"id": f"ev-{len(job['events']) + 1}", "message": f"job {job['status']}"})

    def _status(self, job: dict[str, Any]) -> JobStatus:
        state = STATES[job["status"]]
        return JobStatus(
            state=state, raw_state=job["status"], progress=Progress(step=job["step"], total_steps=TOTAL_STEPS),
            metrics={"loss": round(2.0 / (1 + job["step"]), 3)},
            result=JobResult(model_id=f"fake:{job['id']}") if state is JobState.SUCCEEDED else None,
            error=JobError(code="boom", message="training diverged") if state is JobState.FAILED else None,
            trained_tokens=1234 if state.terminal else None,
            runtime={"wall_time_s": 1.5, "tokens_per_second": 822.7} if state.terminal else {})

    def status(self, ref: RemoteRef) -> JobStatus:
        self.calls.append("status")
        job = self._load(ref.remote_id)
        self._advance(job)
        self._save(job)
        return self._status(job)

    def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
        self.calls.append("events")
        raw = self._load(ref.remote_id)["events"]
        ids = [event["id"] for event in raw]
        start = ids.index(after) + 1 if after in ids else 0
        return [JobEvent(id=e["id"], created_at=datetime(2026, 1, 1, tzinfo=UTC), message=e["message"])
                for e in raw[start:]]

    def cancel(self, ref: RemoteRef) -> JobStatus:
        job = self._load(ref.remote_id)
        job["status"] = "cancelled"
        self._save(job)
        return self._status(job)

    def resume(self, ref: RemoteRef) -> JobStatus:
        job = self._load(ref.remote_id)
        job["status"] = "queued"
        self._save(job)
        return self._status(job)

    def find_by_local_id(self, local_id: str) -> RemoteRef | None:
        self.calls.append("find")
        if self.lookup_down:
            raise ProviderUnavailable("the lookup failed too (500)")
        for path in _remote_dir().glob("*.json"):
            job = json.loads(path.read_text(encoding="utf-8"))
            if job["local_id"] == local_id:
                return RemoteRef(backend=self.name, remote_id=job["id"], local_id=local_id)
        return None


def register() -> None:
    from ftrouter import backends

    backends.BUILTIN_BACKENDS["fake"] = Builtin("fake_backend:FakeBackend", "(test backend)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    register()
    from ftrouter.cli.app import main

    main(sys.argv[1:])
