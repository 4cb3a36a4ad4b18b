"""Write the AUTHORED cassettes of ``ftrouter import openai`` (tests/providers/openai/test_import.py).

Run: ``.venv/bin/python tests/providers/openai/author_import_cassettes.py``.

Authored from the published schema, not recorded live: the machines this project is built on cannot
reach api.openai.com. Every response body follows OpenAI's published OpenAPI spec
(shared/reference/openai-openapi.yaml, openai/openai-openapi@f85dbe2, 2026-08-21) and
``test_cassette_schema.py`` validates each one: list jobs (two pages), retrieve a job, events,
checkpoints, ``GET /files/{id}/content`` (200, 404 and a 400 refusal by purpose), and ``GET /models/{id}``
with and without ``shutdown_date``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from author_cassettes import API, CASSETTES, DATA, T0, checkpoint, event, metrics_event, page  # noqa: E402
from vcr_support import ReadableYaml  # noqa: E402

HEADER = """\
# AUTHORED, NOT RECORDED. Authored from the published schema, not recorded live: written by
# tests/providers/openai/author_import_cassettes.py from OpenAI's published OpenAPI spec
# (openai/openai-openapi@f85dbe2, 2026-08-21; shared/reference/openai-openapi.yaml), because the machines
# this project was built on cannot reach api.openai.com. Every response body validates against the spec's
# schemas (tests/providers/openai/test_cassette_schema.py).
"""

MINI = "gpt-4.1-mini-2025-04-14"
FOUR_O = "gpt-4o-mini-2024-07-18"
METRICS_CSV = ("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
               "1,2.10412,0.41235,,\n2,1.80117,0.47711,,\n3,1.44021,0.55902,1.61203,0.52\n"
               "4,1.12873,0.63314,,\n5,0.90114,0.70021,,\n6,0.71855,0.76488,0.91524,0.71\n")


def job(job_id: str, *, model: str, status: str, training_file: str, created: int, method: dict[str, Any],
        hyperparameters: dict[str, Any], seed: int, **fields: Any) -> dict[str, Any]:
    """A FineTuningJob created outside ftrouter (no ftrouter metadata)."""
    body = {"object": "fine_tuning.job", "id": job_id, "model": model, "created_at": created, "finished_at": None,
            "fine_tuned_model": None, "organization_id": "org-REDACTED", "result_files": [], "status": status,
            "validation_file": None, "training_file": training_file, "hyperparameters": hyperparameters,
            "trained_tokens": None, "error": None, "seed": seed, "estimated_finish": None, "integrations": [],
            "method": method, "metadata": None}
    body.update(fields)
    return body


def get(path: str, body: Any, *, status: int = 200, content_type: str = "application/json") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    message = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    return {"request": {"body": None, "headers": {}, "method": "GET", "uri": f"{API}{path}"},
            "response": {"status": {"code": status, "message": message}, "headers": {"content-type": [content_type]},
                         "body": {"string": text}}}


def content(file_id: str, text: str) -> dict[str, Any]:
    return get(f"/files/{file_id}/content", text, content_type="application/octet-stream")


def error(path: str, status: int, message: str, param: str | None = None) -> dict[str, Any]:
    return get(path, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}},
               status=status)


def model(model_id: str, shutdown_date: str | None, created: int) -> dict[str, Any]:
    return get(f"/models/{model_id}", {"id": model_id, "object": "model", "created": created,
                                       "owned_by": "org-REDACTED", "shutdown_date": shutdown_date})


def write(name: str, interactions: list[dict[str, Any]]) -> None:
    text = ReadableYaml.serialize({"interactions": interactions, "version": 1})
    (CASSETTES / f"{name}.yaml").write_text(HEADER + text, encoding="utf-8")


def data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def supervised(**hyper: Any) -> dict[str, Any]:
    return {"type": "supervised", "supervised": {"hyperparameters": hyper}}


# -- the organisation of the two-page listing ------------------------------------------------------------

SFT_ID, SFT_TRAIN, SFT_VAL, SFT_RESULT = ("ftjob-Im1SftQ8wK2mZr5Tn1Lx7V", "file-ImSftTr4NnQ8xW2kLm5Zp7",
                                          "file-ImSftVa9RtW1qN8kX3mV7b", "file-ImSftRs9PqT3vX6mN2bK8w")
SFT_MODEL = f"ft:{MINI}:org-redacted:support-bot:ImSft7Xk"
DPO_ID, DPO_TRAIN, DPO_RESULT = ("ftjob-Im2DpoV3nK7wR1tM5zQ2bL", "file-ImDpoZ5RtW1qN8kX3mV7bL",
                                 "file-ImDpoRs2PqT3vX6mN2bK8wL")
DPO_MODEL = f"ft:{FOUR_O}:org-redacted:tone:ImDpo9Qa"
FAILED_ID, FAILED_TRAIN = "ftjob-Im3FailJ8rQ3xW6nT2mZ5k", "file-ImFaiFw7KqN2xB8mR4tL6z"


def listed_jobs() -> list[dict[str, Any]]:
    sft_hyper = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    dpo_hyper = {"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 1.0, "beta": 0.2}
    return [
        job(SFT_ID, model=MINI, status="succeeded", training_file=SFT_TRAIN, validation_file=SFT_VAL, created=T0,
            finished_at=T0 + 900, method=supervised(**sft_hyper), hyperparameters=sft_hyper, seed=42,
            fine_tuned_model=SFT_MODEL, trained_tokens=6084, result_files=[SFT_RESULT]),
        job(DPO_ID, model=FOUR_O, status="succeeded", training_file=DPO_TRAIN, created=T0 - 86_400,
            finished_at=T0 - 85_000, method={"type": "dpo", "dpo": {"hyperparameters": dpo_hyper}},
            hyperparameters={k: v for k, v in dpo_hyper.items() if k != "beta"}, seed=7, fine_tuned_model=DPO_MODEL,
            trained_tokens=9120, result_files=[DPO_RESULT]),
        job(FAILED_ID, model=MINI, status="failed", training_file=FAILED_TRAIN, created=T0 - 172_800,
            finished_at=T0 - 172_770, method=supervised(), seed=1843201977,
            hyperparameters={"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"},
            error={"code": "invalid_n_examples", "param": "training_file",
                   "message": "Training file has 3 example(s), but must have at least 10 examples"}),
    ]


def job_details(raw: dict[str, Any]) -> list[dict[str, Any]]:
    job_id, created = raw["id"], raw["created_at"]
    path = f"/fine_tuning/jobs/{job_id}"
    if raw["status"] == "failed":
        events = [event(f"ftevent-{job_id[6:9]}03", created + 30, raw["error"]["message"], level="error"),
                  event(f"ftevent-{job_id[6:9]}02", created + 1, f"Validating training file: {raw['training_file']}"),
                  event(f"ftevent-{job_id[6:9]}01", created, f"Created fine-tuning job: {job_id}")]
        checkpoints: list[dict[str, Any]] = []
    else:
        suffix = raw["fine_tuned_model"].split(":")[3]
        events = [event(f"ftevent-{job_id[6:9]}05", created + 890, "The job has successfully completed"),
                  metrics_event(f"ftevent-{job_id[6:9]}04", created + 600, 6, 6, 0.71855, 0.76488),
                  event(f"ftevent-{job_id[6:9]}03", created + 95, "Fine-tuning job started"),
                  event(f"ftevent-{job_id[6:9]}02", created + 1, f"Validating training file: {raw['training_file']}"),
                  event(f"ftevent-{job_id[6:9]}01", created, f"Created fine-tuning job: {job_id}")]
        checkpoints = [checkpoint(job_id, suffix, step, created + 300 * step // 2, {"train_loss": loss,
                                  "train_mean_token_accuracy": acc}) for step, loss, acc in
                       ((6, 0.71855, 0.76488), (4, 1.12873, 0.63314))]
        for item in checkpoints:  # the helper names the gpt-4.1-mini base; use this job's own
            item["fine_tuned_model_checkpoint"] = item["fine_tuned_model_checkpoint"].replace(MINI, raw["model"])
    return [get(f"{path}/events?limit=100", page(events)),
            get(f"{path}/checkpoints?limit=100", page(checkpoints, ids=True))]


def import_all_twice() -> None:
    sft, dpo, failed = listed_jobs()
    first_page, second_page = page([sft], has_more=True), page([dpo, failed])
    listing = [get("/fine_tuning/jobs?limit=100", first_page),
               get(f"/fine_tuning/jobs?limit=100&after={SFT_ID}", second_page)]
    write("test_import_all_jobs_twice_adds_nothing", [
        *listing,
        *job_details(sft),
        content(SFT_TRAIN, data("chat_train.jsonl")),
        content(SFT_VAL, data("chat_val.jsonl")),
        content(SFT_RESULT, METRICS_CSV),
        model(SFT_MODEL, "2027-01-14", T0 + 900),
        *job_details(dpo),
        content(DPO_TRAIN, data("dpo_train.jsonl")),
        content(DPO_RESULT, METRICS_CSV),
        model(DPO_MODEL, None, T0 - 85_000),  # not announced here: the catalog's date applies
        *job_details(failed),
        content(FAILED_TRAIN, data("too_few.jsonl")),
        *listing,  # the second import lists again and downloads nothing
    ])


def import_with_deleted_files() -> None:
    job_id, train, val, result = ("ftjob-Im4GoneK2mZr5Tn1Lx7VbQ", "file-ImGonTr4NnQ8xW2kLm5Zp",
                                  "file-ImGonVa9RtW1qN8kX3mV7", "file-ImGonRs9PqT3vX6mN2bK")
    hyper = {"n_epochs": 4, "batch_size": 8, "learning_rate_multiplier": 0.1}
    raw = job(job_id, model=MINI, status="succeeded", training_file=train, validation_file=val, created=T0 + 5000,
              finished_at=T0 + 7000, method=supervised(**hyper), hyperparameters=hyper, seed=3,
              fine_tuned_model=f"ft:{MINI}:org-redacted:legacy:ImGon2Rt", trained_tokens=120_400,
              result_files=[result])
    write("test_import_job_with_deleted_files", [
        get(f"/fine_tuning/jobs/{job_id}", raw),
        *job_details(raw),
        error(f"/files/{train}/content", 404, f"No such File object: {train}", "id"),
        error(f"/files/{val}/content", 400, "Not allowed to download files of purpose: fine-tune"),
        content(result, METRICS_CSV),
        error(f"/models/{raw['fine_tuned_model']}", 404,
              f"The model '{raw['fine_tuned_model']}' does not exist", "model"),
    ])


def import_one_to_migrate() -> None:
    sft = listed_jobs()[0]
    write("test_import_then_migrate_to_local_and_train", [
        get(f"/fine_tuning/jobs/{SFT_ID}", sft),
        *job_details(sft),
        content(SFT_TRAIN, data("chat_train.jsonl")),
        content(SFT_VAL, data("chat_val.jsonl")),
        content(SFT_RESULT, METRICS_CSV),
        model(SFT_MODEL, "2027-01-14", T0 + 900),
    ])


def main() -> None:
    import_all_twice()
    import_with_deleted_files()
    import_one_to_migrate()
    print(f"wrote the import cassettes to {CASSETTES}")


if __name__ == "__main__":
    main()
