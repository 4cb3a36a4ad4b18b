"""Cassette helpers shared by the Vertex tests and the re-recording script.

- ``Normaliser``: what every recording goes through before it is written - the real project id and
  number, region and bucket become the fixed test values, service-account e-mails are replaced,
  credentials and machine-specific headers are dropped, and OAuth / metadata-server exchanges are not
  stored at all.
- ``vertex_json_body``: a vcrpy matcher that compares the JSON body of Vertex POSTs (the tuning-job
  create body is the thing most worth checking), with local job ids normalised so a recording made
  with one id replays for another. Cloud Storage multipart bodies have random boundaries and are not
  compared.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TEST_PROJECT = "ftrouter-test"
TEST_PROJECT_NUMBER = "123456789012"
TEST_REGION = "us-central1"
TEST_BUCKET = "ftrouter-test-bucket"
TEST_SERVICE_ACCOUNT = "ftrouter-runner@ftrouter-test.iam.gserviceaccount.com"

# The job every flow submits (the cassettes' create bodies say exactly this).
TRAIN_LINES = [
    {"systemInstruction": {"parts": [{"text": "You answer support questions briefly."}]},
     "contents": [{"role": "user", "parts": [{"text": f"How do I reset password {i}?"}]},
                  {"role": "model", "parts": [{"text": "Open Settings, then Security, then Reset."}]}]}
    for i in range(20)
]
VAL_LINES = TRAIN_LINES[:4]

DROPPED_HOSTS = ("oauth2.googleapis.com", "accounts.google.com", "metadata.google.internal", "169.254.169.254",
                 "iamcredentials.googleapis.com", "sts.googleapis.com")
KEPT_REQUEST_HEADERS = frozenset({"content-type"})
KEPT_RESPONSE_HEADERS = frozenset({"content-type"})

_LOCAL_ID = re.compile(r"ftr-[a-z0-9]+")
_EMAIL = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9-]+\.iam\.gserviceaccount\.com")
_PROJECT_NUMBER = re.compile(r"projects/\d+/")


@dataclass(frozen=True)
class Normaliser:
    """Rewrites a live recording into the normalised, secret-free form the tests replay."""

    project: str
    region: str
    bucket: str
    extra: dict[str, str] = field(default_factory=dict)  # more real -> test values (other buckets, regions)

    def text(self, value: str) -> str:
        for real, test in self.extra.items():
            value = re.sub(rf"\b{re.escape(real)}\b", test, value)
        value = _EMAIL.sub(TEST_SERVICE_ACCOUNT, value)
        value = _PROJECT_NUMBER.sub(f"projects/{TEST_PROJECT_NUMBER}/", value)
        value = re.sub(rf"\b{re.escape(self.project)}\b", TEST_PROJECT, value)
        value = re.sub(rf"\b{re.escape(self.bucket)}\b", TEST_BUCKET, value)
        return re.sub(rf"\b{re.escape(self.region)}\b", TEST_REGION, value)

    def request(self, request: Any) -> Any:
        """vcrpy ``before_record_request``: drop token exchanges, scrub headers, normalise the URI and body."""
        host = urlsplit(request.uri).hostname or ""
        if host in DROPPED_HOSTS:
            return None
        request.uri = self.text(request.uri)
        for name in list(request.headers):
            if name.lower() not in KEPT_REQUEST_HEADERS:
                del request.headers[name]
        if request.body and "aiplatform.googleapis.com" in host:
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            request.body = self.text(body).encode()
        elif request.body:
            request.body = None  # multipart upload: the file bytes and a random boundary, never matched
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """vcrpy ``before_record_response``: keep only Content-Type, normalise ids inside the body."""
        response["headers"] = {k: v for k, v in response["headers"].items() if k.lower() in KEPT_RESPONSE_HEADERS}
        raw = response["body"].get("string")
        if raw:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            response["body"]["string"] = self.text(text)
        return response


def _normalised_json(body: Any) -> Any:
    if not body:
        return None
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    return json.loads(_LOCAL_ID.sub("ftr-<id>", text))


def vertex_json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: Vertex request bodies must be the same JSON (local ids aside)."""
    if "aiplatform.googleapis.com" not in (r1.host or ""):
        return
    left, right = _normalised_json(r1.body), _normalised_json(r2.body)
    assert left == right, f"request body differs from the cassette:\n{left}\n!=\n{right}"


# -- reading a cassette's facts (tests take recording-specific values from here, so a re-recording
#    with other ids and counts replays without editing the tests) --------------------------------


def vertex_replies(path: Any) -> list[tuple[str, str, int, Any]]:
    """``(method, uri, status, JSON body)`` of every Vertex AI interaction in a cassette, in order."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    out = []
    for item in doc["interactions"]:
        request, response = item["request"], item["response"]
        if "aiplatform.googleapis.com" in request["uri"]:
            text = response["body"]["string"]
            body = json.loads(text) if text else None
            out.append((request["method"], request["uri"], response["status"]["code"], body))
    return out


def final_job(path: Any) -> dict[str, Any]:
    """The last TuningJob a cassette returns (the terminal state the flow ends in)."""
    jobs = [body for _, _, status, body in vertex_replies(path) if status == 200 and body and "state" in body]
    return jobs[-1]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def flow_job(local_id: str, *, region: str = TEST_REGION, project: str = TEST_PROJECT, bucket: str = TEST_BUCKET,
             train_lines: list[dict[str, Any]] | None = None, with_val: bool = True,
             options: dict[str, Any] | None = None) -> Any:
    """The PreparedJob every flow submits, as ``prepare`` leaves it (converted files in the job folder).
    Built directly, so the flow tests do not depend on the data engine."""
    from ftrouter.jobs.models import Hyperparameters, JobSpec, PreparedJob
    from ftrouter.jobs.paths import job_dir

    folder = job_dir(local_id)
    files = {"train": str(write_jsonl(folder / "train.gemini.jsonl", train_lines or TRAIN_LINES))}
    if with_val:
        files["val"] = str(write_jsonl(folder / "val.gemini.jsonl", VAL_LINES))
    spec = JobSpec(
        backend="vertex", model="gemini-2.5-flash", data="/data/support.jsonl", suffix="support-bot",
        hyperparameters=Hyperparameters(epochs=3, learning_rate_multiplier=1.0),
        options={"project": project, "region": region, "bucket": f"gs://{bucket}", "adapter_size": 4,
                 **(options or {})},
    )
    return PreparedJob(spec=spec, local_id=local_id, files=files)


# -- writing readable cassettes --------------------------------------------------------------------


class _Block(str):
    """A string dumped as a YAML block scalar, so JSON bodies stay readable."""


def _block(dumper: Any, value: str) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


def readable_body(body: Any) -> Any:
    """A body as pretty JSON text in a block scalar (or as it is when it is not JSON)."""
    if body is None or body == b"" or body == "":
        return None
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    try:
        return _Block(json.dumps(json.loads(text), indent=2) + "\n")
    except ValueError:
        return text


def dump_cassette(interactions: list[dict[str, Any]], header: str) -> str:
    """vcrpy's cassette format (version 1) with readable bodies, after a comment header."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Block, _block)
    return header + yaml.dump({"interactions": interactions, "version": 1}, Dumper=Dumper, sort_keys=False,
                              width=120, allow_unicode=True)


def write_cassette(path: Path, interactions: list[dict[str, Any]], header: str) -> None:
    """Write atomically: a half-written cassette never replaces a good one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump_cassette(interactions, header), encoding="utf-8")
    tmp.replace(path)
