"""An in-memory Together fine-tuning API behind ``httpx.MockTransport``: the adapter runs unchanged
against it. Every body it returns is shaped by Together's published OpenAPI spec (FileResponse,
FinetuneResponse[Truncated], FineTuneEvent, FineTuneCheckpoint, the estimate and metrics objects;
``test_together_cassette_schema.py`` validates them through the cassettes written from it). Faults are queued
per request: an HTTP error, an httpx exception, or ``Lost`` (the create takes effect, then the answer is lost).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

T0 = "2026-11-20T09:00:00Z"
LATER = "2026-11-20T09:40:00Z"


@dataclass
class Lost:
    """The request reaches the server and takes effect, but the answer never arrives (a read timeout)."""


def error(status: int, message: str, kind: str = "invalid_request_error",
          headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": kind}}, headers=headers or {})


def event(kind: str, message: str, n: int, *, level: str = "info", step: int = 0, total: int = 0,
          checkpoint: str = "") -> dict[str, Any]:
    return {"object": "fine-tune-event", "created_at": f"2026-11-20T09:{n:02d}:00Z", "level": level,
            "message": message, "type": kind, "param_count": 0, "token_count": 0, "total_steps": total,
            "wandb_url": "", "step": step, "checkpoint_path": checkpoint, "model_path": "", "training_offset": 0,
            "hash": f"evt-{n:04d}"}


@dataclass
class FakeTogether:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    faults: list[tuple[str, str, list[Any]]] = field(default_factory=list)
    allowed_to_proceed: bool = True
    tunable: tuple[str, ...] = ("openai/gpt-oss-20b", "openai/gpt-oss-120b")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(self, method: str, path: str, *answers: Any) -> None:
        """The next requests to ``method`` ``path`` (exact path after /v1) get ``answers`` in turn."""
        self.faults.append((method, path, list(answers)))

    def calls(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == "/v1" + path)

    def bodies(self, method: str, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.method == method and r.url.path == "/v1" + path]

    # -- the server --------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        for method, fault_path, answers in self.faults:
            if method == request.method and fault_path == path and answers:
                answer = answers.pop(0)
                if isinstance(answer, Lost):
                    self.route(request, path)
                    raise httpx.ReadTimeout("the answer was lost", request=request)
                if isinstance(answer, Exception):
                    raise answer
                return answer  # type: ignore[no-any-return]
        return self.route(request, path)

    def route(self, request: httpx.Request, path: str) -> httpx.Response:
        if request.method == "POST" and path == "/files/upload":
            return self._upload(request)
        if request.method == "GET" and path == "/fine-tunes/models/limits":
            return self._limits(request.url.params.get("model_name", ""))
        if request.method == "POST" and path == "/fine-tunes/estimate-price":
            return httpx.Response(200, json={
                "estimated_total_price": 2.5, "allowed_to_proceed": self.allowed_to_proceed, "user_limit": 100.0,
                "estimated_train_token_count": 1503, "estimated_eval_token_count": 0})
        if request.method == "POST" and path == "/fine-tunes":
            return self._create(json.loads(request.content))
        if request.method == "GET" and path == "/fine-tunes":
            return httpx.Response(200, json={"data": [self.truncated(j) for j in self.jobs.values()]})
        match = re.fullmatch(r"/fine-tunes/([^/]+)(/\w+)?", path)
        if match and match.group(1) in self.jobs:
            return self._job(request.method, match.group(1), match.group(2) or "")
        if match:
            return error(404, f"Fine-tune job {match.group(1)} not found", "not_found")
        return error(404, f"no route {request.method} {path}")

    def _limits(self, model: str) -> httpx.Response:
        if model not in self.tunable:
            return httpx.Response(404, json={"message": f"model {model} is not available for fine-tuning"})
        return httpx.Response(200, json={
            "model_name": model, "max_num_epochs": 20, "max_num_evals": 100, "max_learning_rate": 1.0,
            "min_learning_rate": 1e-08, "supports_vision": False, "supports_tools": True, "supports_reasoning": True,
            "merge_output_lora": False,
            "full_training": {"max_batch_size": 16, "max_batch_size_dpo": 8, "min_batch_size": 8},
            "lora_training": {"max_batch_size": 16, "max_batch_size_dpo": 8, "min_batch_size": 8, "max_rank": 64,
                              "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}})

    def _upload(self, request: httpx.Request) -> httpx.Response:
        name = re.search(rb'name="file_name"\r\n\r\n([^\r\n]*)', request.content)
        file_id = f"file-{len(self.files) + 1:04d}-ftr"
        body = {"id": file_id, "object": "file", "created_at": 1_763_629_200,
                "filename": name.group(1).decode() if name else "upload.jsonl", "bytes": len(request.content),
                "purpose": "fine-tune", "FileType": "jsonl", "Processed": True}
        self.files[file_id] = body
        return httpx.Response(200, json=body)

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        job_id = f"ft-{len(self.jobs) + 1:04d}-0000-4000-8000-000000000000"
        job = {"id": job_id, "status": "pending", "created_at": T0, "updated_at": T0, "model": body["model"],
               "training_file": body["training_file"], "suffix": body.get("suffix", ""),
               "model_output_name": f"acme/{body['model'].split('/')[-1]}-{body.get('suffix', '')}",
               "n_epochs": body.get("n_epochs", 1), "n_checkpoints": body.get("n_checkpoints", 1),
               "training_method": body.get("training_method", {"method": "sft", "train_on_inputs": False}),
               "training_type": body.get("training_type", {"type": "Lora", "lora_r": 8, "lora_alpha": 16}),
               "events": [event("job_pending", "Fine tune request created", 0)], "token_count": 0}
        if "validation_file" in body:
            job["validation_file"] = body["validation_file"]
        self.jobs[job_id] = job
        return httpx.Response(200, json=self.truncated(job))

    def _job(self, method: str, job_id: str, tail: str) -> httpx.Response:
        job = self.jobs[job_id]
        if method == "POST" and tail == "/cancel":
            if job["status"] in ("completed", "error", "cancelled"):
                return error(409, f"job {job_id} has already ended", "conflict")
            job["status"] = "cancel_requested"
            return httpx.Response(200, json=self.truncated(job))
        if tail == "/events":
            return httpx.Response(200, json={"data": job["events"]})
        if tail == "/checkpoints":
            return httpx.Response(200, json={"data": job.get("checkpoints", [])})
        if tail == "/metrics":
            return httpx.Response(200, json={"metrics": job.get("metrics", [])})
        return httpx.Response(200, json=self.full(job))

    def truncated(self, job: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "status", "created_at", "updated_at", "model", "training_file", "suffix", "model_output_name",
                "n_epochs", "n_checkpoints", "training_method", "training_type", "token_count", "events")
        return {k: job[k] for k in keys if k in job}

    def full(self, job: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in job.items() if k not in ("suffix", "checkpoints", "metrics")}
        return out

    # -- moving a job along (what Together would do) ---------------------------------------------------

    def run(self, job_id: str, step: int = 10, total: int = 30) -> None:
        job = self.jobs[job_id]
        job.update(status="running", updated_at=LATER, started_at=LATER, epochs_completed=0,
                   progress={"estimate_available": True, "seconds_remaining": 600})
        job["events"] += [event("job_start", "Job started", 1), event("training_start", "Training started", 2),
                          event("checkpoint_save", f"Step {step}/{total}", 3, step=step, total=total)]
        job["metrics"] = [{"train/loss": 1.2, "train/global_step": step // 2},
                          {"train/loss": 0.9, "train/global_step": step}]

    def complete(self, job_id: str) -> None:
        self.run(job_id, step=30, total=30) if self.jobs[job_id]["status"] != "running" else None
        job = self.jobs[job_id]
        job.update(status="completed", updated_at=LATER, epochs_completed=job.get("n_epochs", 1), token_count=1503,
                   total_price=3, progress={"estimate_available": False, "seconds_remaining": 0})
        job["events"] += [event("job_complete", "Fine-tuning completed", 9)]
        job["checkpoints"] = [{"step": 30, "path": f"{job['model_output_name']}", "created_at": LATER,
                               "checkpoint_type": "final"}]

    def error_out(self, job_id: str, message: str) -> None:
        job = self.jobs[job_id]
        job.update(status="error", updated_at=LATER)
        job["events"] += [event("job_error", message, 8, level="error")]
