"""Write the AUTHORED cassettes in cassettes/openai/.

Run: ``.venv/bin/python tests/providers/openai/author_cassettes.py``.

The machines this project is built on cannot reach api.openai.com, so these cassettes were not
recorded: every request is what the adapter sends and every response body is written from OpenAI's
published OpenAPI spec (shared/reference/openai-openapi.yaml, openai/openai-openapi@f85dbe2, 2026-08-21)
— ``test_cassette_schema.py`` validates each body against it. Request bodies are written out here
literally (not built with the adapter's own code), so a change in what the adapter sends fails replay.

Anyone with a key replaces them with real recordings in one command (README.md)::

    OPENAI_API_KEY=sk-... .venv/bin/pytest tests/providers/openai/test_cassettes.py --record-mode=rewrite
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vcr_support import BOUNDARY, ReadableYaml  # noqa: E402

CASSETTES = HERE.parents[2] / "cassettes" / "openai"
DATA = HERE / "data"
API = "https://api.openai.com/v1"
MODEL = "gpt-4.1-mini-2025-04-14"
T0 = 1_763_700_000  # 2025-11-21T04:40:00Z

HEADER = """\
# AUTHORED, NOT RECORDED. Written by tests/providers/openai/author_cassettes.py from OpenAI's published
# OpenAPI spec (openai/openai-openapi@f85dbe2, 2026-08-21; shared/reference/openai-openapi.yaml), because
# the machines this project was built on cannot reach api.openai.com. Every response body validates
# against the spec's schemas (tests/providers/openai/test_cassette_schema.py). Re-record against the live
# API with a real key (this comment disappears then):
#   OPENAI_API_KEY=sk-... .venv/bin/pytest tests/providers/openai/test_cassettes.py --record-mode=rewrite
"""


# -- bodies (schema-shaped) ----------------------------------------------------------------------


def file_obj(file_id: str, filename: str, size: int, status: str, at: int) -> dict[str, Any]:
    return {"object": "file", "id": file_id, "purpose": "fine-tune", "filename": filename, "bytes": size,
            "created_at": at, "status": status}


def job_obj(job_id: str, *, status: str, training_file: str, local_id: str, method: dict[str, Any],
            hyperparameters: dict[str, Any], seed: int, created: int, **fields: Any) -> dict[str, Any]:
    job = {"object": "fine_tuning.job", "id": job_id, "model": MODEL, "created_at": created,
           "finished_at": None, "fine_tuned_model": None, "organization_id": "org-REDACTED", "result_files": [],
           "status": status, "validation_file": None, "training_file": training_file,
           "hyperparameters": hyperparameters, "trained_tokens": None, "error": None, "seed": seed,
           "estimated_finish": None, "integrations": [], "method": method, "metadata": {"ftrouter_local_id": local_id}}
    job.update(fields)
    return job


def event(event_id: str, at: int, message: str, *, level: str = "info", data: dict[str, Any] | None = None,
          kind: str = "message") -> dict[str, Any]:
    return {"object": "fine_tuning.job.event", "id": event_id, "created_at": at, "level": level, "message": message,
            "data": data or {}, "type": kind}


def metrics_event(event_id: str, at: int, step: int, total: int, loss: float, accuracy: float) -> dict[str, Any]:
    data = {"step": step, "train_loss": loss, "total_steps": total, "train_mean_token_accuracy": accuracy}
    return event(event_id, at, f"Step {step}/{total}: training loss={loss}", data=data, kind="metrics")


def checkpoint(job_id: str, suffix: str, step: int, at: int, metrics: dict[str, float]) -> dict[str, Any]:
    return {"object": "fine_tuning.job.checkpoint", "id": f"ftckpt_{job_id[-10:]}{step:03d}", "created_at": at,
            "fine_tuned_model_checkpoint": f"ft:{MODEL}:org-redacted:{suffix}:Bq7Xk2Lm:ckpt-step-{step}",
            "fine_tuning_job_id": job_id, "step_number": step, "metrics": {"step": float(step), **metrics}}


def page(data: list[dict[str, Any]], *, has_more: bool = False, ids: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
    if ids:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body


# -- interactions --------------------------------------------------------------------------------


def interaction(method: str, path: str, response: dict[str, Any], *, body: Any = None,
                content_type: str | None = None) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    text = None
    if isinstance(body, dict):
        text = json.dumps(body, indent=2) + "\n"
        headers["content-type"] = ["application/json"]
    elif isinstance(body, str):
        text = body
        headers["content-type"] = [content_type or "text/plain"]
    return {
        "request": {"body": text, "headers": headers, "method": method, "uri": f"{API}{path}"},
        "response": {"status": {"code": 200, "message": "OK"},
                     "headers": {"content-type": ["application/json"]},
                     "body": {"string": json.dumps(response, indent=2, ensure_ascii=False) + "\n"}},
    }


def upload(file_id: str, data_file: str, at: int) -> list[dict[str, Any]]:
    """POST /files (multipart, purpose fine-tune) answered ``uploaded``, then GET /files/{id} ``processed``."""
    content = (DATA / data_file).read_text(encoding="utf-8")
    multipart = (f"--{BOUNDARY}\nContent-Disposition: form-data; name=\"purpose\"\n\nfine-tune\n"
                 f"--{BOUNDARY}\nContent-Disposition: form-data; name=\"file\"; filename=\"{data_file}\"\n"
                 f"Content-Type: application/octet-stream\n\n{content}\n--{BOUNDARY}--\n")
    size = len(content.encode())
    return [
        interaction("POST", "/files", file_obj(file_id, data_file, size, "uploaded", at), body=multipart,
                    content_type=f"multipart/form-data; boundary={BOUNDARY}"),
        interaction("GET", f"/files/{file_id}", file_obj(file_id, data_file, size, "processed", at)),
    ]


def write(name: str, interactions: list[dict[str, Any]]) -> None:
    text = ReadableYaml.serialize({"interactions": interactions, "version": 1})
    (CASSETTES / f"{name}.yaml").write_text(HEADER + text, encoding="utf-8")


# -- the flows (one per test in test_cassettes.py) -------------------------------------------------


def sft_success() -> None:
    job_id, file_id, local_id, suffix = "ftjob-Kd8wQ2mZr5Tn1Lx7Vb3Hc9Pe", "file-Tr4NnQ8xW2kLm5Zp7Rd1Ys", "ftr-cas5ft", \
        "support-bot"
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}}
    auto = {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": "auto"}
    resolved = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    resolved_method = {"type": "supervised", "supervised": {"hyperparameters": resolved}}
    common = {"training_file": file_id, "local_id": local_id, "seed": 42}
    created = T0 + 5
    ev = [
        event("ftevent-s01", created, f"Created fine-tuning job: {job_id}"),
        event("ftevent-s02", created + 1, f"Validating training file: {file_id}"),
        event("ftevent-s03", created + 40, "Files validated, moving job to queued state"),
        event("ftevent-s04", created + 95, "Fine-tuning job started"),
        metrics_event("ftevent-s05", created + 160, 10, 30, 1.4137, 0.6621),
        event("ftevent-s06", created + 161, "Checkpoint created at step 10"),
        metrics_event("ftevent-s07", created + 220, 20, 30, 0.8912, 0.7804),
        event("ftevent-s08", created + 221, "Checkpoint created at step 20"),
        metrics_event("ftevent-s09", created + 280, 30, 30, 0.5121, 0.8632),
        event("ftevent-s10", created + 300, f"New fine-tuned model created: ft:{MODEL}:org-redacted:{suffix}:Bq7Xk2Lm"),
        event("ftevent-s11", created + 330, "Evaluating model against our usage policies"),
        event("ftevent-s12", created + 400, "Usage policy evaluations completed, model is now enabled for sampling"),
        event("ftevent-s13", created + 401, "The job has successfully completed"),
    ]

    def newest_first(upto: int) -> list[dict[str, Any]]:
        return list(reversed(ev[:upto]))

    def ckpt_metrics(train: float, accuracy: float, valid: float, full_valid: float) -> dict[str, float]:
        return {"train_loss": train, "train_mean_token_accuracy": accuracy, "valid_loss": valid,
                "valid_mean_token_accuracy": round(accuracy - 0.02, 2), "full_valid_loss": full_valid,
                "full_valid_mean_token_accuracy": round(accuracy - 0.01, 2)}

    ckpt_values = [ckpt_metrics(1.4137, 0.6621, 1.52, 1.49), ckpt_metrics(0.8912, 0.7804, 1.01, 0.98),
                   ckpt_metrics(0.5121, 0.8632, 0.71, 0.69)]
    ckpts = [checkpoint(job_id, suffix, step, created + 150 + 60 * i, m)
             for i, (step, m) in enumerate(zip((10, 20, 30), ckpt_values, strict=True))]
    finished = created + 401
    create_body = {"model": MODEL, "training_file": file_id, "method": method, "suffix": suffix, "seed": 42,
                   "metadata": {"ftrouter_local_id": local_id}}
    job_path = f"/fine_tuning/jobs/{job_id}"
    write("test_sft_job_runs_to_success", [
        *upload(file_id, "chat_train.jsonl", T0),
        interaction("POST", "/fine_tuning/jobs", job_obj(job_id, status="validating_files", method=method,
                                                         hyperparameters=auto, created=created, **common),
                    body=create_body),
        # refresh 1: queued (status only), then the events so far
        interaction("GET", job_path, job_obj(job_id, status="queued", method=method, hyperparameters=auto,
                                             created=created, **common)),
        interaction("GET", f"{job_path}/events?limit=100", page(newest_first(3))),
        # refresh 2: running at step 10/30 with one checkpoint
        interaction("GET", job_path, job_obj(job_id, status="running", method=resolved_method, hyperparameters=resolved,
                                             created=created, estimated_finish=created + 420, **common)),
        interaction("GET", f"{job_path}/events?limit=20", page(newest_first(6))),
        interaction("GET", f"{job_path}/checkpoints?limit=10", page(ckpts[:1], ids=True)),
        interaction("GET", f"{job_path}/events?limit=100", page(newest_first(6))),
        # refresh 3: succeeded
        interaction("GET", job_path, job_obj(
            job_id, status="succeeded", method=resolved_method, hyperparameters=resolved, created=created,
            finished_at=finished, fine_tuned_model=f"ft:{MODEL}:org-redacted:{suffix}:Bq7Xk2Lm", trained_tokens=6084,
            result_files=["file-Rs9PqT3vX6mN2bK8wL4jYh"], **common)),
        interaction("GET", f"{job_path}/events?limit=20", page(newest_first(13)[:20])),
        interaction("GET", f"{job_path}/checkpoints?limit=10", page(list(reversed(ckpts)), ids=True)),
        interaction("GET", f"{job_path}/events?limit=100", page(newest_first(13))),
    ])


def failed_job() -> None:
    job_id, file_id, local_id = "ftjob-Fa1LdJ8rQ3xW6nT2mZ5kPv", "file-Fw7KqN2xB8mR4tL6zV1pHd", "ftr-casfai"
    method = {"type": "supervised"}
    auto = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
    common = {"training_file": file_id, "local_id": local_id, "seed": 1843201977, "method": method,
              "hyperparameters": auto}
    created = T0 + 1005
    message = "Training file has 3 example(s), but must have at least 10 examples"
    ev = [
        event("ftevent-f03", created + 30, message, level="error"),
        event("ftevent-f02", created + 1, f"Validating training file: {file_id}"),
        event("ftevent-f01", created, f"Created fine-tuning job: {job_id}"),
    ]
    job_path = f"/fine_tuning/jobs/{job_id}"
    write("test_failed_job_reports_the_error", [
        *upload(file_id, "too_few.jsonl", T0 + 1000),
        interaction("POST", "/fine_tuning/jobs", job_obj(job_id, status="validating_files", created=created, **common),
                    body={"model": MODEL, "training_file": file_id, "method": method,
                          "metadata": {"ftrouter_local_id": local_id}}),
        interaction("GET", job_path, job_obj(job_id, status="validating_files", created=created, **common)),
        interaction("GET", job_path, job_obj(
            job_id, status="failed", created=created, finished_at=created + 30, **common,
            error={"code": "invalid_n_examples", "message": message, "param": "training_file"})),
        interaction("GET", f"{job_path}/events?limit=20", page(ev)),
        interaction("GET", f"{job_path}/checkpoints?limit=10", page([], ids=True)),
        interaction("GET", f"{job_path}/events?limit=100", page(ev)),
    ])


def cancel_job() -> None:
    job_id, file_id, local_id = "ftjob-Cn4xRt7kW1mQ9zL3bV6dHs", "file-Cq2WmR8tK5nX1zL7bP4vYd", "ftr-cascan"
    method = {"type": "supervised"}
    auto = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
    common = {"training_file": file_id, "local_id": local_id, "seed": 99, "method": method, "hyperparameters": auto}
    created = T0 + 2005
    job_path = f"/fine_tuning/jobs/{job_id}"
    write("test_cancel_a_job", [
        *upload(file_id, "chat_train.jsonl", T0 + 2000),
        interaction("POST", "/fine_tuning/jobs", job_obj(job_id, status="validating_files", created=created, **common),
                    body={"model": MODEL, "training_file": file_id, "method": method, "seed": 99,
                          "metadata": {"ftrouter_local_id": local_id}}),
        interaction("POST", f"{job_path}/cancel", job_obj(job_id, status="cancelled", created=created,
                                                          finished_at=created + 3, **common)),
        interaction("GET", f"{job_path}/events?limit=100", page([
            event("ftevent-c03", created + 3, "Fine-tuning job cancelled"),
            event("ftevent-c02", created + 1, f"Validating training file: {file_id}"),
            event("ftevent-c01", created, f"Created fine-tuning job: {job_id}"),
        ])),
    ])


def list_by_local_id() -> None:
    job_id, file_id = "ftjob-Kd8wQ2mZr5Tn1Lx7Vb3Hc9Pe", "file-Tr4NnQ8xW2kLm5Zp7Rd1Ys"
    resolved = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    job = job_obj(job_id, status="succeeded", training_file=file_id, local_id="ftr-cas5ft", seed=42, created=T0 + 5,
                  method={"type": "supervised", "supervised": {"hyperparameters": resolved}},
                  hyperparameters=resolved, finished_at=T0 + 406, trained_tokens=6084,
                  fine_tuned_model=f"ft:{MODEL}:org-redacted:support-bot:Bq7Xk2Lm",
                  result_files=["file-Rs9PqT3vX6mN2bK8wL4jYh"])
    write("test_find_a_job_by_its_local_id", [
        interaction("GET", "/fine_tuning/jobs?limit=20&metadata%5Bftrouter_local_id%5D=ftr-cas5ft", page([job])),
        interaction("GET", "/fine_tuning/jobs?limit=20&metadata%5Bftrouter_local_id%5D=ftr-nojob2", page([])),
    ])


def dpo_job() -> None:
    job_id, file_id, local_id = "ftjob-Dp9oVx3nK7wR1tM5zQ2bLc", "file-Dz5RtW1qN8kX3mV7bL2pYc", "ftr-casdpo"
    method = {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.1}}}
    resolved_method = {"type": "dpo", "dpo": {"hyperparameters": {
        "n_epochs": 2, "beta": 0.1, "batch_size": 1, "learning_rate_multiplier": 1.0}}}
    hyper = {"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 1.0}
    common = {"training_file": file_id, "local_id": local_id, "seed": 7}
    created = T0 + 3005
    job_path = f"/fine_tuning/jobs/{job_id}"
    ev = [
        metrics_event("ftevent-d05", created + 200, 6, 20, 0.6071, 0.5),
        event("ftevent-d04", created + 120, "Fine-tuning job started"),
        event("ftevent-d03", created + 60, "Files validated, moving job to queued state"),
        event("ftevent-d02", created + 1, f"Validating training file: {file_id}"),
        event("ftevent-d01", created, f"Created fine-tuning job: {job_id}"),
    ]
    write("test_dpo_job_reports_progress", [
        *upload(file_id, "dpo_train.jsonl", T0 + 3000),
        interaction("POST", "/fine_tuning/jobs", job_obj(job_id, status="validating_files", created=created,
                                                         method=method, hyperparameters={}, **common),
                    body={"model": MODEL, "training_file": file_id, "method": method, "seed": 7,
                          "metadata": {"ftrouter_local_id": local_id}}),
        interaction("GET", job_path, job_obj(job_id, status="running", created=created, method=resolved_method,
                                             hyperparameters=hyper, estimated_finish=created + 700, **common)),
        interaction("GET", f"{job_path}/events?limit=20", page(ev)),
        interaction("GET", f"{job_path}/checkpoints?limit=10", page([], ids=True)),
        interaction("POST", f"{job_path}/cancel", job_obj(job_id, status="cancelled", created=created,
                                                          method=resolved_method, hyperparameters=hyper,
                                                          finished_at=created + 210, **common)),
    ])


def main() -> None:
    CASSETTES.mkdir(parents=True, exist_ok=True)
    for author in (sft_success, failed_job, cancel_job, list_by_local_id, dpo_job):
        author()
    print(f"wrote {len(list(CASSETTES.glob('*.yaml')))} cassettes to {CASSETTES}")


if __name__ == "__main__":
    main()
