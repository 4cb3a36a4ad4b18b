"""The cassettes themselves: every TuningJob body follows the published Vertex AI v1 schema, nothing
secret is stored, every file says whether it was authored or recorded, and the scrubber that a
re-recording goes through does its job."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from ftrouter_vertex.request import TuningRequest
from schema_files import VERTEX_DISCOVERY, load_schema

from .vertex_cassette_tools import TEST_BUCKET, TEST_PROJECT, TEST_PROJECT_NUMBER, Normaliser

REPO = Path(__file__).resolve().parents[3]
CASSETTES = sorted((REPO / "cassettes" / "vertex").glob("*.yaml"))
DISCOVERY = Path(os.environ.get("FTROUTER_VERTEX_DISCOVERY", VERTEX_DISCOVERY))
PREFIX = "GoogleCloudAiplatformV1"

# -- discovery document -> JSON Schema ------------------------------------------------------------

_INT64 = {"type": "string", "pattern": r"^-?\d+$"}


def _convert(prop: dict[str, Any], request: bool) -> Any:
    """One discovery property as JSON Schema. Responses must carry int64 as strings (as Vertex sends
    them); requests may send numbers too (proto3 JSON accepts both, and google-genai sends numbers).
    Output-only fields are forbidden in requests; unknown fields are forbidden everywhere."""
    if request and prop.get("readOnly"):
        return False
    if "$ref" in prop:
        return {"$ref": f"#/definitions/{prop['$ref']}"}
    kind = prop.get("type")
    if kind == "object":
        out: dict[str, Any] = {"type": "object"}
        if "properties" in prop:
            out["properties"] = {k: _convert(v, request) for k, v in prop["properties"].items()}
            out["additionalProperties"] = False
        if "additionalProperties" in prop:
            out["additionalProperties"] = _convert(prop["additionalProperties"], request)
        return out
    if kind == "array":
        return {"type": "array", "items": _convert(prop.get("items", {}), request)}
    if kind == "string" and prop.get("format") in ("int64", "uint64"):
        return {"anyOf": [_INT64, {"type": "integer"}]} if request else _INT64
    if kind == "string":
        return {"type": "string", **({"enum": prop["enum"]} if "enum" in prop else {})}
    if kind in ("integer", "number", "boolean"):
        return {"type": kind}
    return {}  # "any"


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    discovery = load_schema(DISCOVERY)
    assert discovery["revision"] >= "20260815"

    def build(request: bool) -> dict[str, Any]:
        return {name: _convert(schema, request) for name, schema in discovery["schemas"].items()}

    return {"response": build(False), "request": build(True)}


def validate(schemas: dict[str, Any], mode: str, name: str, body: Any) -> None:
    key = (mode, name)
    if key not in _VALIDATORS:  # checking the 1,480-definition schema itself is slow: once per kind
        schema = {"$ref": f"#/definitions/{name}", "definitions": schemas[mode]}
        if not _VALIDATORS:
            jsonschema.Draft7Validator.check_schema(schema)
        _VALIDATORS[key] = jsonschema.Draft7Validator(schema)
    _VALIDATORS[key].validate(body)


_VALIDATORS: dict[tuple[str, str], jsonschema.Draft7Validator] = {}


# -- reading the cassettes ------------------------------------------------------------------------


def interactions(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]  # type: ignore[no-any-return]


def body_json(text: Any) -> Any:
    return json.loads(text) if text else None


def classify(method: str, uri: str) -> str | None:
    """Which Vertex call an interaction is (None for Cloud Storage)."""
    parts = urlsplit(uri)
    if not parts.hostname or not parts.hostname.endswith("aiplatform.googleapis.com"):
        return None
    if parts.path.endswith(":cancel"):
        return "cancel"
    if re.search(r"/tuningJobs/\d+$", parts.path):
        return "get"
    return "create" if method == "POST" else "list"


RESPONSE_SCHEMA = {"create": f"{PREFIX}TuningJob", "get": f"{PREFIX}TuningJob",
                   "list": f"{PREFIX}ListTuningJobsResponse", "cancel": "GoogleProtobufEmpty"}


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_every_vertex_body_follows_the_published_schema(schemas: dict[str, Any], path: Path) -> None:
    checked = 0
    for item in interactions(path):
        request, response = item["request"], item["response"]
        call = classify(request["method"], request["uri"])
        if call is None:
            continue
        reply = body_json(response["body"]["string"])
        if response["status"]["code"] == 200:
            validate(schemas, "response", RESPONSE_SCHEMA[call], reply)
        else:  # google.rpc.Status inside {"error": ...}
            assert set(reply) == {"error"}
            validate(schemas, "response", "GoogleRpcStatus", {k: v for k, v in reply["error"].items() if k != "status"})
        if call == "create":
            validate(schemas, "request", f"{PREFIX}TuningJob", body_json(request["body"]))
        if call == "cancel" and request["body"]:
            validate(schemas, "request", f"{PREFIX}CancelTuningJobRequest", body_json(request["body"]))
        checked += 1
    assert checked or "bucket" in path.name  # only the upload-failure cassettes have no Vertex call


def test_the_request_ftrouter_shows_follows_the_schema_strictly(schemas: dict[str, Any]) -> None:
    body = TuningRequest(
        base_model="gemini-2.5-flash", training_uri="gs://b/t.jsonl", validation_uri="gs://b/v.jsonl", epochs=3,
        learning_rate_multiplier=0.5, adapter_size="ADAPTER_SIZE_EIGHT", display_name="x", description="d",
        labels={"ftrouter_job_id": "ftr-abc123"},
    ).rest_body()
    validate(schemas, "response", f"{PREFIX}TuningJob", body)  # int64 as strings, like the API itself
    validate(schemas, "request", f"{PREFIX}TuningJob", body)


def test_the_schema_check_catches_mistakes(schemas: dict[str, Any]) -> None:
    good = {"name": "projects/1/locations/l/tuningJobs/2", "state": "JOB_STATE_RUNNING"}
    validate(schemas, "response", f"{PREFIX}TuningJob", good)
    for bad in ({**good, "state": "RUNNING"},  # not an enum value
                {**good, "stat": "JOB_STATE_RUNNING"},  # unknown field
                {**good, "tuningDataStats": {"supervisedTuningDataStats": {"totalBillableTokenCount": 12}}}):
        with pytest.raises(jsonschema.ValidationError):
            validate(schemas, "response", f"{PREFIX}TuningJob", bad)
    with pytest.raises(jsonschema.ValidationError):  # output-only fields cannot be sent
        validate(schemas, "request", f"{PREFIX}TuningJob", {"baseModel": "m", "state": "JOB_STATE_RUNNING"})


# -- nothing secret, everything labelled ----------------------------------------------------------

SECRET_PATTERNS = [r"(?i)\bauthorization\b\s*:", r"Bearer\s+\S", r"ya29\.", r"oauth2\.googleapis\.com/token",
                   r"metadata\.google\.internal", r"BEGIN PRIVATE KEY", r"private_key", r"refresh_token",
                   r"(?i)x-goog-api-key", r"(?i)set-cookie"]


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_cassettes_hold_no_secrets_and_say_how_they_were_made(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in SECRET_PATTERNS:
        assert not re.search(pattern, text), f"{path.name} matches {pattern!r}"
    assert text.startswith(("# AUTHORED, NOT RECORDED", "# RECORDED")), "say whether it was authored or recorded"
    hosts = {urlsplit(i["request"]["uri"]).hostname for i in interactions(path)}
    assert hosts <= {"storage.googleapis.com", "us-central1-aiplatform.googleapis.com",
                     "europe-north1-aiplatform.googleapis.com"}
    for project in re.findall(r"projects/([^/\s\"]+)/", text):
        assert project in (TEST_PROJECT, TEST_PROJECT_NUMBER), f"project id not normalised: {project}"
    for bucket in re.findall(r"gs://([^/\s\"]+)/", text):
        assert bucket == TEST_BUCKET


# -- the scrubber a re-recording goes through ------------------------------------------------------


def test_normaliser_scrubs_a_live_recording() -> None:
    from vcr.request import Request

    norm = Normaliser(project="acme-prod-42", region="europe-west4", bucket="acme-ml-staging")
    token = Request("POST", "https://oauth2.googleapis.com/token", b"grant_type=refresh_token", {})
    assert norm.request(token) is None
    create = Request(
        "POST", "https://europe-west4-aiplatform.googleapis.com/v1/projects/acme-prod-42/locations/europe-west4/tuningJobs",
        json.dumps({"supervisedTuningSpec": {"trainingDatasetUri": "gs://acme-ml-staging/ftrouter/ftr-x/train.jsonl"}}),
        {"Authorization": "Bearer ya29.real", "x-goog-user-project": "acme-prod-42",
         "Content-Type": "application/json"},
    )
    scrubbed = norm.request(create)
    assert scrubbed.uri == ("https://us-central1-aiplatform.googleapis.com/v1/projects/ftrouter-test/locations/"
                            "us-central1/tuningJobs")
    assert dict(scrubbed.headers) == {"Content-Type": "application/json"}
    assert b"gs://ftrouter-test-bucket/ftrouter/ftr-x/train.jsonl" in scrubbed.body
    response = {"status": {"code": 200, "message": "OK"},
                "headers": {"Content-Type": ["application/json"], "Set-Cookie": ["s=1"], "X-Guploader-Uploadid": ["u"]},
                "body": {"string": json.dumps({"name": "projects/987654321098/locations/europe-west4/tuningJobs/5",
                                               "serviceAccount": "service-987654321098@gcp-sa-aiplatform-ft.iam."
                                                                 "gserviceaccount.com"}).encode()}}
    out = norm.response(response)
    assert list(out["headers"]) == ["Content-Type"]
    assert "projects/123456789012/locations/us-central1/tuningJobs/5" in out["body"]["string"]
    assert "987654321098" not in out["body"]["string"] and "acme" not in out["body"]["string"]
