"""The Vertex backend end to end against the cassettes in cassettes/vertex (no network)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ftrouter_vertex import VertexBackend
from ftrouter_vertex.errors import BucketNotFound, BucketNotWritable, ModelNotTunable
from ftrouter_vertex.jobview import RPC_CODES, parse_job, parse_time, to_events, to_status

from ftrouter.errors import EXIT_AUTH, EXIT_INVALID, EXIT_USAGE, AuthError, InvalidRequest, UsageError
from ftrouter.jobs.models import JobState, JobStatus, RemoteRef

from .vertex_cassette_tools import final_job, vertex_replies

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "vertex"


def poll_until_terminal(backend: VertexBackend, ref: RemoteRef, limit: int = 20) -> list[JobStatus]:
    """Ask for the status until the job ends (as ``status --watch`` does, without waiting)."""
    seen = []
    for _ in range(limit):
        status = backend.status(ref)
        seen.append(status)
        if status.state.terminal:
            return seen
    raise AssertionError(f"job did not end after {limit} polls: {[s.raw_state for s in seen]}")


def distinct_states(statuses: list[JobStatus]) -> list[JobState]:
    out: list[JobState] = []
    for status in statuses:
        if not out or out[-1] is not status.state:
            out.append(status.state)
    return out


@pytest.mark.vcr
@pytest.mark.default_cassette("submit_succeeded")
def test_submit_runs_to_success_with_stats_model_and_events(backend: VertexBackend, make_prepared: Any,
                                                            vcr: Any) -> None:
    # What Vertex answered, read raw from the cassette: int64 fields are JSON strings there.
    created = vertex_replies(CASSETTES / "submit_succeeded.yaml")[0][3]
    done = final_job(CASSETTES / "submit_succeeded.yaml")
    raw_stats = done["tuningDataStats"]["supervisedTuningDataStats"]
    billable = raw_stats["totalBillableTokenCount"]
    epochs = done["supervisedTuningSpec"]["hyperParameters"]["epochCount"]
    assert isinstance(billable, str) and isinstance(epochs, str)

    ref = backend.submit(make_prepared("ftr-k3v9qa"))
    assert ref.backend == "vertex" and ref.local_id == "ftr-k3v9qa"
    assert ref.extra["name"] == created["name"] and ref.remote_id == created["name"].rsplit("/", 1)[-1]
    assert ref.extra["project"] == "ftrouter-test" and ref.extra["region"] == "us-central1"

    statuses = poll_until_terminal(backend, ref)
    assert distinct_states(statuses)[-2:] == [JobState.RUNNING, JobState.SUCCEEDED]
    final = statuses[-1]
    assert final.raw_state == "JOB_STATE_SUCCEEDED" and final.error is None
    assert final.result is not None
    assert final.result.model_id == done["tunedModel"]["model"]
    assert final.result.endpoint == done["tunedModel"]["endpoint"]
    # the dataset's billable tokens, billed once per epoch
    assert final.trained_tokens == int(billable) * int(epochs)
    assert final.runtime["billable_tokens"] == int(billable)
    assert final.runtime["example_count"] == int(raw_stats["tuningDatasetExampleCount"])
    assert final.runtime["tuning_steps"] == int(raw_stats["tuningStepCount"]) == final.progress.total_steps
    assert final.runtime["epochs"] == int(epochs)
    from ftrouter.catalog import get_model

    price = get_model(done["baseModel"]).training_usd_per_1m
    assert price is not None and final.runtime["cost_usd"] == pytest.approx(int(billable) * int(epochs) / 1e6 * price)
    started, ended = parse_time(done["startTime"]), parse_time(done["endTime"])
    assert started is not None and ended is not None
    assert final.runtime["wall_time_s"] == pytest.approx((ended - started).total_seconds(), abs=1e-3)

    assert all(s.result is None for s in statuses[:-1])  # the tuned model appears at the end

    events = backend.events(ref)
    checkpoints = [f"checkpoint-{c['checkpointId']}" for c in done["tunedModel"].get("checkpoints", [])]
    assert [e.id for e in events] == ["state-created", "state-running", "stats", *checkpoints, "state-succeeded"]
    assert events[0].created_at == parse_time(created["createTime"])
    assert events[2].type == "metrics" and events[2].data["billable_tokens"] == int(billable)
    assert events[-1].data["tuned_model"] == done["tunedModel"]["model"]
    assert vcr.all_played
    # google-cloud-storage would otherwise GET the bucket's metadata from a background thread
    assert not [t for t in threading.enumerate() if "_fetch_background" in t.name]


def test_the_authored_success_cassette_in_numbers() -> None:
    """Hand-checked figures of the authored cassette (skipped once it is replaced by a live recording)."""
    path = CASSETTES / "submit_succeeded.yaml"
    if not path.read_text(encoding="utf-8").startswith("# AUTHORED"):
        pytest.skip("re-recorded live: the figures below belong to the authored version")
    polled = [body["state"] for method, _, _, body in vertex_replies(path) if method == "GET"]
    assert polled == ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED", "JOB_STATE_SUCCEEDED"]
    running = to_status(parse_job([b for m, _, _, b in vertex_replies(path) if m == "GET"][1]))
    assert running.state is JobState.RUNNING and running.runtime["billable_tokens"] == 48213
    view = parse_job(final_job(path))
    assert view.job_id == "5566778899001122334" and view.epochs == 3
    assert view.stats is not None and view.stats.billable_tokens == 48213 and view.stats.step_count == 45
    status = to_status(view)
    assert status.trained_tokens == 144639 and status.runtime["wall_time_s"] == pytest.approx(5253.987654)
    assert status.progress.step == 45 and status.progress.epoch == 3.0
    assert status.result is not None
    assert status.result.model_id == "projects/123456789012/locations/us-central1/models/7788990011223344556@1"
    assert to_events(view)[0].created_at == datetime(2026, 11, 21, 9, 0, 1, 204518, tzinfo=UTC)


@pytest.mark.vcr
@pytest.mark.default_cassette("job_failed")
def test_failed_job_reports_the_error(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    failed = final_job(CASSETTES / "job_failed.yaml")
    ref = backend.submit(make_prepared("ftr-fa1l3d"))
    statuses = poll_until_terminal(backend, ref)
    assert distinct_states(statuses)[-1] is JobState.FAILED
    final = statuses[-1]
    assert final.error is not None and final.error.code == RPC_CODES[failed["error"]["code"]]
    assert final.error.message == failed["error"]["message"]
    assert final.result is None and final.trained_tokens is None
    events = backend.events(ref)
    assert events[-1].id == "state-failed" and events[-1].level == "error"
    assert failed["error"]["message"] in events[-1].message
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("job_cancelled")
def test_cancel_goes_through_cancelling_to_cancelled(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    polled = [body["state"] for method, _, _, body in vertex_replies(CASSETTES / "job_cancelled.yaml")
              if method == "GET"]
    ref = backend.submit(make_prepared("ftr-c4nc3l"))
    status = backend.status(ref)
    while status.state is JobState.PENDING:  # a live recording may catch the job before it runs
        status = backend.status(ref)
    assert status.state is JobState.RUNNING
    after_cancel = backend.cancel(ref)
    # CANCELLING is not terminal (the job may still end otherwise): it reads as running
    assert after_cancel.raw_state == polled[polled.index("JOB_STATE_RUNNING") + 1]
    if after_cancel.raw_state == "JOB_STATE_CANCELLING":
        assert after_cancel.state is JobState.RUNNING
    final = poll_until_terminal(backend, ref)[-1] if not after_cancel.state.terminal else after_cancel
    assert final.state is JobState.CANCELLED
    assert final.error is not None and final.error.code == "CANCELLED"
    assert backend.events(ref)[-1].id == "state-cancelled"
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("find_by_local_id_found")
def test_find_by_local_id_finds_the_labelled_job(backend: VertexBackend, vcr: Any) -> None:
    listed = vertex_replies(CASSETTES / "find_by_local_id_found.yaml")[0][3]["tuningJobs"][0]
    found = backend.find_by_local_id_in("ftr-c4nc3l", project="ftrouter-test", region="us-central1")
    assert found is not None and found.local_id == "ftr-c4nc3l"
    assert found.extra["name"] == listed["name"] and found.remote_id == listed["name"].rsplit("/", 1)[-1]
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("find_by_local_id_missing")
def test_find_by_local_id_returns_none_when_nothing_is_labelled(backend: VertexBackend, vcr: Any) -> None:
    assert backend.find_by_local_id_in("ftr-n0j0b5", project="ftrouter-test", region="us-central1") is None
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("find_by_local_id_found")
def test_find_by_local_id_uses_where_the_submit_sent_the_job(make_backend: Any, vcr: Any) -> None:
    """After a crash the registry only knows the local id; the job folder remembers project and region."""
    import json

    from ftrouter.jobs.paths import job_dir

    (job_dir("ftr-c4nc3l") / "vertex-target.json").write_text(
        json.dumps({"project": "ftrouter-test", "region": "us-central1", "credentials_file": None}))
    backend = make_backend(env={"GOOGLE_CLOUD_PROJECT": "some-other-project", "GOOGLE_CLOUD_LOCATION": "asia-east1"})
    found = backend.find_by_local_id("ftr-c4nc3l")
    assert found is not None and found.local_id == "ftr-c4nc3l"
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("bucket_missing")
def test_missing_bucket_is_a_configuration_error(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    with pytest.raises(BucketNotFound) as caught:
        backend.submit(make_prepared("ftr-b0ck3t"))
    assert caught.value.exit_code == EXIT_USAGE and isinstance(caught.value, UsageError)
    assert "gs://ftrouter-test-bucket does not exist" in str(caught.value)
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("bucket_not_writable")
def test_unwritable_bucket_is_a_permission_error(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    with pytest.raises(BucketNotWritable) as caught:
        backend.submit(make_prepared("ftr-b0ck3t"))
    error = caught.value
    assert error.exit_code == EXIT_AUTH and isinstance(error, AuthError)
    assert "cannot write to gs://ftrouter-test-bucket" in str(error) and "storage.objects.create" in str(error)
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("model_not_tunable")
def test_model_not_tunable_in_region(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    with pytest.raises(ModelNotTunable) as caught:
        backend.submit(make_prepared("ftr-n0tun3", region="europe-north1"))
    error = caught.value
    assert isinstance(error, InvalidRequest) and error.exit_code == EXIT_INVALID
    assert "gemini-2.5-flash cannot be tuned in region europe-north1" in str(error)
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("submit_succeeded")
def test_one_refresh_is_one_read_of_the_tuning_job(backend: VertexBackend, make_prepared: Any, vcr: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Status and events come from the same resource: a refresh reads it once, and polling with refresh
    alone still yields every event exactly once."""
    from ftrouter_vertex.client import VertexClient

    ref = backend.submit(make_prepared("ftr-k3v9qa"))
    reads: list[str] = []
    get_job = VertexClient.get_job
    monkeypatch.setattr(VertexClient, "get_job", lambda self, name: reads.append(name) or get_job(self, name))
    answers, after = [], None
    for _ in range(20):
        answer = backend.refresh(ref, after=after)
        answers.append(answer)
        after = answer.events[-1].id if answer.events else after
        if answer.status.state.terminal:
            break
    assert len(reads) == len(answers) and answers[-1].status.state is JobState.SUCCEEDED
    assert answers[-1].status.runtime["cost_usd"] > 0  # the same status as `status` gives
    done = final_job(CASSETTES / "submit_succeeded.yaml")
    checkpoints = [f"checkpoint-{c['checkpointId']}" for c in done["tunedModel"].get("checkpoints", [])]
    seen = [event.id for answer in answers for event in answer.events]
    assert seen == ["state-created", "state-running", "stats", *checkpoints, "state-succeeded"]
