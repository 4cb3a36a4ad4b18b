"""An in-memory stand-in for OpenAI's files and fine-tuning endpoints, served to the real SDK through
``httpx2.MockTransport`` (respx cannot see openai 3.x's httpx2 traffic).

Bodies follow the published schemas. ``fail`` queues faults for matching requests: an
``httpx2.Response`` to answer instead, an exception to raise (a timeout, a dropped connection), or
``Lost(response)`` — the request takes effect and THEN the answer is replaced (a create whose answer
never arrived).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx2

_JOB_PATH = re.compile(r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)(?:/(?P<action>cancel|pause|resume|events|checkpoints))?$")
_FILE_PATH = re.compile(r"^/v1/files/(?P<id>[^/]+)$")
PROGRESSION = {"validating_files": "queued", "queued": "running", "running": "succeeded"}


@dataclass
class Lost:
    """Let the request take effect, then answer with ``response`` (or raise it) instead."""

    response: httpx2.Response | Exception


@dataclass
class Fault:
    method: str
    path: str  # a substring of the URL path
    queue: list[Any]


def error(status: int, message: str, code: str | None = None, *, headers: dict[str, str] | None = None,
          kind: str = "invalid_request_error") -> httpx2.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return httpx2.Response(status, json=body, headers=headers or {})


@dataclass
class FakeOpenAI:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[httpx2.Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    advance: bool = True  # each job retrieve moves the job one status along PROGRESSION
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1_763_700_000, 60))

    # -- set-up ----------------------------------------------------------------------------------

    def http_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handle))

    def fail(self, method: str, path: str, *responses: Any) -> None:
        self.faults.append(Fault(method, path, list(responses)))

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and path in r.url.path)

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        fault = next((f for f in self.faults if f.queue and f.method == request.method and f.path in request.url.path),
                     None)
        if fault is not None:
            injected = fault.queue.pop(0)
            if isinstance(injected, Lost):
                self.route(request)
                injected = injected.response
            if isinstance(injected, Exception):
                raise injected
            return injected
        return self.route(request)

    def route(self, request: httpx2.Request) -> httpx2.Response:
        path, method = request.url.path, request.method
        if path == "/v1/files" and method == "POST":
            return self._json(self._create_file(request))
        if (m := _FILE_PATH.match(path)) and method == "GET":
            return self._json(self._retrieve_file(m["id"]))
        if path == "/v1/fine_tuning/jobs":
            return self._json(self._create_job(request) if method == "POST" else self._list_jobs(request))
        if m := _JOB_PATH.match(path):
            return self._job_route(m["id"], m["action"], request)
        return error(404, f"no route for {method} {path}")

    def _job_route(self, job_id: str, action: str | None, request: httpx2.Request) -> httpx2.Response:
        if job_id not in self.jobs:
            return error(404, f"No fine-tuning job found with id {job_id}", "fine_tune_not_found")
        job = self.jobs[job_id]
        if action is None:
            if self.advance and job["status"] in PROGRESSION:
                self._set_status(job, PROGRESSION[job["status"]])
            return self._json(job)
        if action in ("cancel", "pause", "resume"):
            self._set_status(job, {"cancel": "cancelled", "pause": "paused", "resume": "queued"}[action])
            return self._json(job)
        if action == "events":
            return self._json(self._page(self.events[job_id], request))
        return self._json({"object": "list", "data": [], "has_more": False, "first_id": None, "last_id": None})

    # -- resources -------------------------------------------------------------------------------

    @staticmethod
    def _json(body: dict[str, Any]) -> httpx2.Response:
        return httpx2.Response(200, json=body)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _create_file(self, request: httpx2.Request) -> dict[str, Any]:
        content = request.content
        name = re.search(rb'filename="([^"]+)"', content)
        file = {"id": self._id("file-fake"), "object": "file", "bytes": len(content), "created_at": next(self._clock),
                "filename": name.group(1).decode() if name else "upload.jsonl", "purpose": "fine-tune",
                "status": "uploaded"}
        self.files[file["id"]] = file
        return file

    def _retrieve_file(self, file_id: str) -> dict[str, Any]:
        file = self.files[file_id]
        if file["status"] == "uploaded":
            file["status"] = "processed"
        return file

    def _create_job(self, request: httpx2.Request) -> dict[str, Any]:
        body = json.loads(request.content)
        job_id = self._id("ftjob-fake")
        job = {"object": "fine_tuning.job", "id": job_id, "model": body["model"], "created_at": next(self._clock),
               "finished_at": None, "fine_tuned_model": None, "organization_id": "org-REDACTED", "result_files": [],
               "status": "validating_files", "validation_file": body.get("validation_file"),
               "training_file": body["training_file"], "hyperparameters": {"n_epochs": "auto"},
               "trained_tokens": None, "error": None, "seed": body.get("seed") or 7, "estimated_finish": None,
               "integrations": [], "method": body.get("method") or {"type": "supervised"},
               "metadata": body.get("metadata")}
        self.jobs[job_id] = job
        self.events[job_id] = []
        self._event(job_id, f"Created fine-tuning job: {job_id}")
        return job

    def _set_status(self, job: dict[str, Any], status: str) -> None:
        job["status"] = status
        if status == "succeeded":
            job.update(fine_tuned_model=f"ft:{job['model']}:org:fake:{job['id'][-6:]}", trained_tokens=4200,
                       finished_at=next(self._clock))
        self._event(job["id"], f"status: {status}")

    def _event(self, job_id: str, message: str) -> None:
        self.events[job_id].insert(0, {"object": "fine_tuning.job.event", "id": self._id("ftevent-fake"),
                                       "created_at": next(self._clock), "level": "info", "message": message,
                                       "type": "message", "data": {}})

    def _list_jobs(self, request: httpx2.Request) -> dict[str, Any]:
        wanted = {k[len("metadata["):-1]: v for k, v in request.url.params.items() if k.startswith("metadata[")}
        jobs = [job for job in reversed(self.jobs.values())
                if all((job.get("metadata") or {}).get(k) == v for k, v in wanted.items())]
        return {"object": "list", "data": jobs, "has_more": False}

    @staticmethod
    def _page(items: list[dict[str, Any]], request: httpx2.Request) -> dict[str, Any]:
        limit = int(request.url.params.get("limit", 20))
        after = request.url.params.get("after")
        start = next((i + 1 for i, item in enumerate(items) if item["id"] == after), 0) if after else 0
        page = items[start:start + limit]
        return {"object": "list", "data": page, "has_more": start + limit < len(items)}
