"""Small pieces: the 12-state table, int64 and time parsing, events, the request shown vs the one sent."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from ftrouter_vertex.errors import translate_vertex
from ftrouter_vertex.jobview import as_int, events_after, parse_job, parse_time, to_events, to_status, trained_tokens
from ftrouter_vertex.request import TuningRequest, adapter_size_enum, label_filter, label_value
from ftrouter_vertex.states import VERTEX_STATES, map_state
from schema_files import VERTEX_DISCOVERY, load_schema

from ftrouter.errors import UsageError
from ftrouter.jobs.models import JobState

DISCOVERY = Path(os.environ.get("FTROUTER_VERTEX_DISCOVERY", VERTEX_DISCOVERY))

EXPECTED = {
    "JOB_STATE_UNSPECIFIED": JobState.UNKNOWN, "JOB_STATE_QUEUED": JobState.PENDING,
    "JOB_STATE_PENDING": JobState.PENDING, "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_SUCCEEDED": JobState.SUCCEEDED, "JOB_STATE_FAILED": JobState.FAILED,
    "JOB_STATE_CANCELLING": JobState.RUNNING, "JOB_STATE_CANCELLED": JobState.CANCELLED,
    "JOB_STATE_PAUSED": JobState.PAUSED, "JOB_STATE_EXPIRED": JobState.FAILED,
    "JOB_STATE_UPDATING": JobState.RUNNING, "JOB_STATE_PARTIALLY_SUCCEEDED": JobState.SUCCEEDED,
}


def test_all_twelve_states_are_mapped_explicitly() -> None:
    assert VERTEX_STATES == EXPECTED and len(VERTEX_STATES) == 12
    for raw, state in EXPECTED.items():
        assert map_state(raw) is state


def test_the_table_covers_the_published_enum() -> None:
    schema = load_schema(DISCOVERY)["schemas"]["GoogleCloudAiplatformV1TuningJob"]
    assert set(schema["properties"]["state"]["enum"]) == set(VERTEX_STATES)


@pytest.mark.parametrize("raw", ["JOB_STATE_SOMETHING_NEW", "", "running", None])
def test_anything_else_is_unknown(raw: str | None) -> None:
    assert map_state(raw) is JobState.UNKNOWN
    status = to_status(parse_job({"name": "n", "state": raw}))
    assert status.state is JobState.UNKNOWN and status.raw_state == raw


def test_int64_fields_arrive_as_strings() -> None:
    assert as_int("48213") == 48213 and as_int(48213) == 48213 and as_int(" 7 ") == 7
    assert as_int(None) is None and as_int("many") is None and as_int(True) is None


def test_times_with_nanoseconds_and_without_zone() -> None:
    assert parse_time("2026-11-21T10:31:45.987654321Z") == datetime(2026, 11, 21, 10, 31, 45, 987654, tzinfo=UTC)
    assert parse_time("2026-11-21T10:31:45") == datetime(2026, 11, 21, 10, 31, 45, tzinfo=UTC)
    assert parse_time("yesterday") is None and parse_time(None) is None


def job(**extra: Any) -> dict[str, Any]:
    return {"name": "projects/1/locations/us-central1/tuningJobs/9", "baseModel": "gemini-2.5-flash",
            "createTime": "2026-11-21T09:00:00Z", **extra}


STATS = {"supervisedTuningDataStats": {"totalBillableTokenCount": "1000", "tuningDatasetExampleCount": "20",
                                       "tuningStepCount": "12", "totalTruncatedExampleCount": "2"}}


def test_trained_tokens_are_billable_tokens_times_epochs() -> None:
    with_epochs = parse_job(job(tuningDataStats=STATS, supervisedTuningSpec={"hyperParameters": {"epochCount": "4"}}))
    assert trained_tokens(with_epochs) == 4000
    assert trained_tokens(parse_job(job(tuningDataStats=STATS))) == 1000  # epochs unknown: the dataset count
    assert trained_tokens(parse_job(job())) is None  # no statistics yet


def test_partially_succeeded_keeps_the_model_and_the_error() -> None:
    status = to_status(parse_job(job(state="JOB_STATE_PARTIALLY_SUCCEEDED", tunedModel={"model": "m@1"},
                                     error={"code": 13, "message": "some checkpoints were not exported"})))
    assert status.state is JobState.SUCCEEDED and status.result is not None and status.result.model_id == "m@1"
    assert status.error is not None and status.error.code == "INTERNAL"


def test_paused_job_gets_a_state_event_and_pending_none() -> None:
    paused = to_events(parse_job(job(state="JOB_STATE_PAUSED", startTime="2026-11-21T09:01:00Z")))
    assert [e.id for e in paused] == ["state-created", "state-running", "state-paused"]
    pending = to_events(parse_job(job(state="JOB_STATE_PENDING")))
    assert [e.id for e in pending] == ["state-created"]
    assert to_events(parse_job({"name": "n", "state": "JOB_STATE_PENDING"})) == []  # no times at all


def test_events_after_an_id() -> None:
    events = to_events(parse_job(job(state="JOB_STATE_RUNNING", startTime="2026-11-21T09:01:00Z",
                                     tuningDataStats=STATS)))
    assert [e.id for e in events] == ["state-created", "state-running", "stats"]
    assert [e.id for e in events_after(events, "state-running")] == ["stats"]
    assert events_after(events, "stats") == []
    assert events_after(events, None) == events == events_after(events, "unknown-id")
    assert "2 examples truncated or dropped" in events[2].message


def test_labels_and_adapter_sizes() -> None:
    assert label_value("FTR-AbC123") == "ftr-abc123"
    assert label_filter("ftr-abc123") == 'labels.ftrouter_job_id="ftr-abc123"'
    with pytest.raises(UsageError):
        label_value("ftr abc")
    assert adapter_size_enum(4) == "ADAPTER_SIZE_FOUR" and adapter_size_enum(None) is None
    with pytest.raises(UsageError, match="allowed: 1, 2, 4, 8, 16, 32"):
        adapter_size_enum(3)
    with pytest.raises(UsageError, match="invalid Vertex label"):
        TuningRequest(base_model="m", training_uri="gs://b/t", labels={"Team": "ML"})


def test_the_request_shown_is_the_request_sent(fake_credentials: Any) -> None:
    """``rest_body`` (what --dry-run shows) equals what google-genai puts on the wire, int64 aside."""
    from google import genai
    from google.genai import types

    request = TuningRequest(
        base_model="gemini-2.5-flash", training_uri="gs://b/ftrouter/ftr-1/train.jsonl",
        validation_uri="gs://b/ftrouter/ftr-1/val.jsonl", epochs=3, learning_rate_multiplier=0.5,
        adapter_size="ADAPTER_SIZE_FOUR", display_name="support-bot", description="ftrouter job ftr-1 (d.jsonl)",
        labels={"ftrouter_job_id": "ftr-1", "created_by": "ftrouter"},
    )
    sent: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        return httpx.Response(200, json={"name": "projects/1/locations/us-central1/tuningJobs/2"})

    client = genai.Client(vertexai=True, project="p-123456", location="us-central1", credentials=fake_credentials,
                          http_options=types.HttpOptions(api_version="v1", httpx_client=httpx.Client(
                              transport=httpx.MockTransport(handler))))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.tunings.tune(**request.sdk_arguments())
    wire = json.loads(sent[0].content)
    wire["supervisedTuningSpec"]["hyperParameters"]["epochCount"] = str(
        wire["supervisedTuningSpec"]["hyperParameters"]["epochCount"])
    assert wire == request.rest_body()
    assert str(sent[0].url) == "https://us-central1-aiplatform.googleapis.com/v1/projects/p-123456/locations/us-central1/tuningJobs"


def test_translation_passes_ftrouter_errors_through() -> None:
    error = UsageError("already ours")
    assert translate_vertex(error, action="x", region="r") is error
