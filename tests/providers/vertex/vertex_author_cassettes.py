"""Write the AUTHORED cassettes in cassettes/vertex/.

Run: ``.venv/bin/python tests/providers/vertex/vertex_author_cassettes.py``.

The machines this project is built on cannot reach Google, so these cassettes were not recorded: every
request is what the adapter sends through google-genai (bodies written out literally here, so a change
in what the adapter sends fails replay) and every response is written from the published Vertex AI v1
discovery document (shared/reference/aiplatform.v1.json, revision 20260815) and the Cloud Storage JSON
API. ``test_vertex_cassettes.py`` validates each TuningJob body against that schema. Error wordings
that Google does not document are marked "(illustrative wording, authored)".

People with credentials replace them with live recordings: see ``vertex_record.py``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vertex_cassette_tools import readable_body, write_cassette

OUT = Path(__file__).resolve().parents[3] / "cassettes" / "vertex"
PROJECT, NUMBER, REGION, BUCKET = "ftrouter-test", "123456789012", "us-central1", "ftrouter-test-bucket"
HOST = f"https://{REGION}-aiplatform.googleapis.com/v1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
NPARENT = f"projects/{NUMBER}/locations/{REGION}"
DATA_NAME, DISPLAY = "support.jsonl", "support-bot"
UPLOAD_URI = f"https://storage.googleapis.com/upload/storage/v1/b/{BUCKET}/o?uploadType=multipart"
MULTIPART = {"Content-Type": ['multipart/related; boundary="==boundary=="']}

HEADER = """\
# AUTHORED, NOT RECORDED. These machines cannot reach Google, so this cassette was written by hand
# (tests/providers/vertex/vertex_author_cassettes.py) from the published Vertex AI v1 discovery document
# (shared/reference/aiplatform.v1.json, revision 20260815: GoogleCloudAiplatformV1TuningJob and related
# schemas) and the Cloud Storage JSON API (objects.insert). test_vertex_cassettes.py validates every
# TuningJob body here against that schema.
# Normalised: project "ftrouter-test" (number 123456789012), region us-central1, bucket ftrouter-test-bucket.
# No Authorization header and no OAuth token exchange is stored. Multipart upload bodies are omitted
# (they are not matched). int64 fields are JSON strings, as Vertex sends them.
# To replace it with a live recording (needs real credentials, a project and a bucket):
#   .venv/bin/python tests/providers/vertex/vertex_record.py --project P --bucket gs://B --flow FLOW
"""


def body(obj: Any) -> Any:
    return readable_body(json.dumps(obj))


def request(method: str, uri: str, payload: Any = None) -> dict[str, Any]:
    return {"method": method, "uri": uri, "body": body(payload) if payload is not None else None,
            "headers": {"Content-Type": ["application/json"]} if payload is not None else {}}


def response(code: int, payload: Any, message: str = "OK") -> dict[str, Any]:
    return {"status": {"code": code, "message": message},
            "headers": {"Content-Type": ["application/json; charset=UTF-8"]}, "body": {"string": body(payload)}}


def upload(local_id: str, role: str, size: int, generation: int) -> dict[str, Any]:
    name = f"ftrouter/{local_id}/{role}.jsonl"
    quoted = quote(name, safe="")
    obj = {"kind": "storage#object", "id": f"{BUCKET}/{name}/{generation}",
           "selfLink": f"https://www.googleapis.com/storage/v1/b/{BUCKET}/o/{quoted}",
           "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{BUCKET}/o/{quoted}"
                        f"?generation={generation}&alt=media",
           "name": name, "bucket": BUCKET, "generation": str(generation), "metageneration": "1",
           "contentType": "application/jsonl", "storageClass": "STANDARD", "size": str(size),
           "md5Hash": "q1f0Zl8x3m7tQ5WvC1tY9w==", "crc32c": "rRRG7w==", "etag": "CJfN4o2+0IkDEAE=",
           "timeCreated": "2026-11-21T09:00:00.412Z", "updated": "2026-11-21T09:00:00.412Z",
           "timeStorageClassUpdated": "2026-11-21T09:00:00.412Z"}
    return {"request": {"method": "POST", "uri": UPLOAD_URI, "body": None, "headers": copy.deepcopy(MULTIPART)},
            "response": response(200, obj)}


def uploads(local_id: str, first_generation: int) -> list[dict[str, Any]]:
    return [upload(local_id, "train", 1843, first_generation), upload(local_id, "val", 311, first_generation + 1)]


def create_body(local_id: str) -> dict[str, Any]:
    """What google-genai sends for the tests' job (epochs 3, multiplier 1.0, adapter 4; epochCount a number)."""
    return {"baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": f"gs://{BUCKET}/ftrouter/{local_id}/train.jsonl",
                                     "validationDatasetUri": f"gs://{BUCKET}/ftrouter/{local_id}/val.jsonl",
                                     "hyperParameters": {"epochCount": 3, "learningRateMultiplier": 1.0,
                                                         "adapterSize": "ADAPTER_SIZE_FOUR"}},
            "tunedModelDisplayName": DISPLAY, "description": f"ftrouter job {local_id} ({DATA_NAME})",
            "labels": {"ftrouter_job_id": local_id, "created_by": "ftrouter"}}


def create(local_id: str, reply: dict[str, Any], host: str = HOST, parent: str = PARENT,
           code: int = 200, message: str = "OK") -> dict[str, Any]:
    return {"request": request("POST", f"{host}/{parent}/tuningJobs", create_body(local_id)),
            "response": response(code, reply, message)}


STATS = {"supervisedTuningDataStats": {
    "tuningDatasetExampleCount": "120", "totalTuningCharacterCount": "196542",
    "totalBillableCharacterCount": "196542", "totalBillableTokenCount": "48213", "tuningStepCount": "45",
    "totalTruncatedExampleCount": "0",
    "userInputTokenDistribution": {"sum": "30120", "billableSum": "30120", "min": 96, "max": 610, "mean": 251,
                                   "median": 232, "p5": 118, "p95": 471},
    "userOutputTokenDistribution": {"sum": "18093", "billableSum": "18093", "min": 31, "max": 402,
                                    "mean": 150.775, "median": 141, "p5": 48, "p95": 289},
    "userMessagePerExampleDistribution": {"sum": "360", "min": 2, "max": 6, "mean": 3, "median": 2, "p5": 2,
                                          "p95": 6}}}


def tuned_model() -> dict[str, Any]:
    return {"model": f"{NPARENT}/models/7788990011223344556@1",
            "endpoint": f"{NPARENT}/endpoints/6655443322110099887",
            "checkpoints": [{"checkpointId": str(i), "epoch": str(i), "step": str(15 * i),
                             "endpoint": f"{NPARENT}/endpoints/665544332211009988{i}"} for i in (1, 2, 3)]}


def job(local_id: str, job_id: str, state: str, *, update: str | None = None, start: str | None = None,
        end: str | None = None, stats: bool = False, tuned: bool = False,
        error: dict[str, Any] | None = None) -> dict[str, Any]:
    create_time = "2026-11-21T09:00:01.204518Z"
    out: dict[str, Any] = {
        "name": f"{NPARENT}/tuningJobs/{job_id}", "tunedModelDisplayName": DISPLAY,
        "description": f"ftrouter job {local_id} ({DATA_NAME})", "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {"trainingDatasetUri": f"gs://{BUCKET}/ftrouter/{local_id}/train.jsonl",
                                 "validationDatasetUri": f"gs://{BUCKET}/ftrouter/{local_id}/val.jsonl",
                                 "hyperParameters": {"epochCount": "3", "learningRateMultiplier": 1,
                                                     "adapterSize": "ADAPTER_SIZE_FOUR"}},
        "state": state, "createTime": create_time, "updateTime": update or create_time,
        "labels": {"ftrouter_job_id": local_id, "created_by": "ftrouter"},
    }
    optional = {"startTime": start, "endTime": end, "error": error, "tunedModel": tuned_model() if tuned else None,
                "tuningDataStats": copy.deepcopy(STATS) if stats else None,
                "experiment": f"{NPARENT}/metadataStores/default/contexts/tuning-experiment-20261121090001204518"
                if stats else None}
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def get(job_obj: dict[str, Any]) -> dict[str, Any]:
    return {"request": request("GET", f"{HOST}/{job_obj['name']}"), "response": response(200, copy.deepcopy(job_obj))}


def write(name: str, flow: str, interactions: list[dict[str, Any]], note: str = "") -> None:
    write_cassette(OUT / f"{name}.yaml", copy.deepcopy(interactions), HEADER + f"# Flow: {flow}\n" + note)


def succeeded() -> None:
    local, job_id = "ftr-k3v9qa", "5566778899001122334"
    pending = job(local, job_id, "JOB_STATE_PENDING")
    still_pending = job(local, job_id, "JOB_STATE_PENDING", update="2026-11-21T09:01:30.000218Z")
    running = job(local, job_id, "JOB_STATE_RUNNING", update="2026-11-21T09:06:40.318774Z",
                  start="2026-11-21T09:04:12Z", stats=True)
    done = job(local, job_id, "JOB_STATE_SUCCEEDED", update="2026-11-21T10:31:46.120001Z",
               start="2026-11-21T09:04:12Z", end="2026-11-21T10:31:45.987654321Z", stats=True, tuned=True)
    write("submit_succeeded",
          "upload train + val, create (PENDING), get x3 (PENDING, RUNNING, SUCCEEDED), get for events",
          [*uploads(local, 1763715600412001), create(local, pending), get(still_pending), get(running), get(done),
           get(done)])


def failed() -> None:
    local, job_id = "ftr-fa1l3d", "5566778899001122335"
    error = {"code": 3, "message": "Dataset validation failed: gs://ftrouter-test-bucket/ftrouter/ftr-fa1l3d/"
                                   "train.jsonl: example 7: contents[1].role must be \"model\" after a \"user\" turn. "
                                   "(illustrative wording, authored)"}
    running = job(local, job_id, "JOB_STATE_RUNNING", update="2026-11-21T09:05:02.100000Z",
                  start="2026-11-21T09:04:40Z")
    ended = job(local, job_id, "JOB_STATE_FAILED", update="2026-11-21T09:06:10.500000Z",
                start="2026-11-21T09:04:40Z", end="2026-11-21T09:06:10.400000Z", error=error)
    write("job_failed", "upload train + val, create (PENDING), get x2 (RUNNING, FAILED with error), get for events",
          [*uploads(local, 1763715600412003), create(local, job(local, job_id, "JOB_STATE_PENDING")), get(running),
           get(ended), get(ended)])


def cancelled() -> dict[str, Any]:
    local, job_id = "ftr-c4nc3l", "5566778899001122336"
    start = "2026-11-21T09:04:12Z"
    running = job(local, job_id, "JOB_STATE_RUNNING", update="2026-11-21T09:06:40.318774Z", start=start, stats=True)
    cancelling = job(local, job_id, "JOB_STATE_CANCELLING", update="2026-11-21T09:10:00.000100Z", start=start,
                     stats=True)
    ended = job(local, job_id, "JOB_STATE_CANCELLED", update="2026-11-21T09:12:31.000100Z", start=start, stats=True,
                end="2026-11-21T09:12:30.880000Z", error={"code": 1, "message": "CANCELLED"})
    write("job_cancelled",
          "upload train + val, create, get (RUNNING), cancel ({}), get (CANCELLING), get (CANCELLED), get for events",
          [*uploads(local, 1763715600412005), create(local, job(local, job_id, "JOB_STATE_PENDING")), get(running),
           {"request": request("POST", f"{HOST}/{ended['name']}:cancel"), "response": response(200, {})},
           get(cancelling), get(ended), get(ended)],
          note="# Cancel answers an empty object (google.protobuf.Empty); the job then ends CANCELLED with "
               "error code 1.\n")
    return ended


def listing(cancelled_job: dict[str, Any]) -> None:
    def list_uri(local_id: str) -> str:
        label_filter = quote(f'labels.ftrouter_job_id="{local_id}"', safe="")
        return f"{HOST}/{PARENT}/tuningJobs?pageSize=100&filter={label_filter}"

    write("find_by_local_id_found", "list tuning jobs filtered by the ftrouter_job_id label (the cancelled job's)",
          [{"request": request("GET", list_uri("ftr-c4nc3l")),
            "response": response(200, {"tuningJobs": [cancelled_job]})}])
    write("find_by_local_id_missing", "list tuning jobs filtered by the ftrouter_job_id label: no match",
          [{"request": request("GET", list_uri("ftr-n0j0b5")), "response": response(200, {})}],
          note="# An empty list is an empty JSON object: proto3 JSON omits empty repeated fields.\n")


def storage_failures() -> None:
    def refused(code: int, message: str, reason: str, status: str) -> dict[str, Any]:
        return {"request": {"method": "POST", "uri": UPLOAD_URI, "body": None, "headers": copy.deepcopy(MULTIPART)},
                "response": response(code, {"error": {"code": code, "message": message, "errors": [
                    {"message": message, "domain": "global", "reason": reason}]}}, status)}

    write("bucket_missing", "upload train -> 404 (the staging bucket does not exist)",
          [refused(404, "The specified bucket does not exist.", "notFound", "Not Found")])
    write("bucket_not_writable", "upload train -> 403 (no storage.objects.create on the bucket)",
          [refused(403, "ftrouter-runner@ftrouter-test.iam.gserviceaccount.com does not have storage.objects.create "
                        "access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on "
                        "resource (or it may not exist).", "forbidden", "Forbidden")])


def not_tunable() -> None:
    local, region = "ftr-n0tun3", "europe-north1"
    error = {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                       "message": "Base model gemini-2.5-flash is not supported for tuning in location europe-north1. "
                                  "(illustrative wording, authored)"}}
    write("model_not_tunable", "upload train + val, create -> 400 INVALID_ARGUMENT (base model not tunable there)",
          [*uploads(local, 1763715600412007),
           create(local, error, host=f"https://{region}-aiplatform.googleapis.com/v1",
                  parent=f"projects/{PROJECT}/locations/{region}", code=400, message="Bad Request")],
          note="# The region here is europe-north1 on purpose; the error wording is illustrative, not quoted.\n")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    succeeded()
    failed()
    listing(cancelled())
    storage_failures()
    not_tunable()
    print(f"wrote {len(list(OUT.glob('*.yaml')))} cassettes to {OUT}")


if __name__ == "__main__":
    main()
