"""The re-recording path, exercised offline: a fake Vertex (an httpx MockTransport, which vcrpy records like
any transport) stands in for Google; the written cassette must be normalised, secret-free, labelled as
recorded - and must replay in the tests' own calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from ftrouter_vertex import VertexBackend

from .vertex_cassette_tools import vertex_json_body
from .vertex_record import Recorder, collapse_polls, parse_args

REAL_JOB = {"name": "projects/987654321098/locations/europe-west4/tuningJobs/77", "state": "JOB_STATE_CANCELLED",
            "baseModel": "gemini-2.5-flash", "createTime": "2026-11-22T08:00:00Z",
            "labels": {"ftrouter_job_id": "ftr-c4nc3l", "created_by": "ftrouter"},
            "serviceAccount": "service-987654321098@gcp-sa-aiplatform-ft.iam.gserviceaccount.com",
            "supervisedTuningSpec": {"trainingDatasetUri": "gs://acme-ml-staging/ftrouter/ftr-c4nc3l/train.jsonl"}}


def fake_vertex(request: httpx.Request) -> httpx.Response:
    assert request.url.host == "europe-west4-aiplatform.googleapis.com"
    assert "/projects/acme-prod-42/locations/europe-west4/tuningJobs" in request.url.path
    if 'ftr-c4nc3l' in str(request.url):
        return httpx.Response(200, json={"tuningJobs": [REAL_JOB]})
    return httpx.Response(200, json={})


def test_record_then_replay(tmp_path: Path, fake_credentials: Any) -> None:
    args = parse_args(["--project", "acme-prod-42", "--region", "europe-west4", "--bucket", "gs://acme-ml-staging"])
    recorder = Recorder(args, out_dir=tmp_path, sleep=lambda s: None, backend_factory=lambda: VertexBackend(
        credentials=fake_credentials, httpx_client=httpx.Client(transport=httpx.MockTransport(fake_vertex)),
        env={}, config_file=tmp_path / "none.yaml"))
    path = recorder.record("find_by_local_id_found")

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# RECORDED live against Vertex AI on ")
    recorded = text.split("\ninteractions:", 1)[1]
    for leaked in ("acme", "987654321098", "europe-west4", "ya29", "uthorization", "x-goog"):
        assert leaked not in recorded, leaked
    assert "https://us-central1-aiplatform.googleapis.com/v1/projects/ftrouter-test/locations/us-central1/" in text
    assert '"serviceAccount": "ftrouter-runner@ftrouter-test.iam.gserviceaccount.com"' in text

    replay = vcr.VCR(record_mode="none", match_on=["method", "scheme", "host", "port", "path", "query", "body_json"])
    replay.register_matcher("body_json", vertex_json_body)
    with replay.use_cassette(str(path)) as cassette:
        found = VertexBackend(credentials=fake_credentials, env={}, config_file=tmp_path / "none.yaml") \
            .find_by_local_id_in("ftr-c4nc3l", project="ftrouter-test", region="us-central1")
        assert cassette.all_played
    assert found is not None and found.remote_id == "77"
    assert found.extra["name"] == "projects/123456789012/locations/us-central1/tuningJobs/77"


def interaction(method: str, uri: str, state: str | None = None) -> dict[str, Any]:
    body = json.dumps({"name": "n", "state": state}) if state else ""
    return {"request": {"method": method, "uri": uri}, "response": {"body": {"string": body}}}


def test_collapse_polls_keeps_changes_and_the_last_call() -> None:
    job = "https://h/v1/projects/p/locations/l/tuningJobs/1"
    sequence = [interaction("POST", "https://h/v1/projects/p/locations/l/tuningJobs", "JOB_STATE_PENDING"),
                interaction("GET", job, "JOB_STATE_PENDING"), interaction("GET", job, "JOB_STATE_RUNNING"),
                interaction("GET", job, "JOB_STATE_RUNNING"), interaction("GET", job, "JOB_STATE_RUNNING"),
                interaction("GET", job, "JOB_STATE_SUCCEEDED"), interaction("GET", job, "JOB_STATE_SUCCEEDED")]
    kept = collapse_polls(sequence)
    states = [json.loads(i["response"]["body"]["string"])["state"] for i in kept]
    assert states == ["JOB_STATE_PENDING", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED",
                      "JOB_STATE_SUCCEEDED"]


def test_recording_needs_a_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(SystemExit):
        parse_args(["--bucket", "gs://b"])
