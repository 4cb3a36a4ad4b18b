"""The Vertex backend end to end against the cassettes in cassettes/vertex (no network)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from ftrouter_vertex import VertexBackend
from ftrouter_vertex.errors import BucketNotFound, BucketNotWritable, ModelNotTunable

from ftrouter.errors import EXIT_AUTH, EXIT_INVALID, EXIT_USAGE, AuthError, InvalidRequest, UsageError
from ftrouter.jobs.models import JobState, JobStatus, RemoteRef

JOB_NAME = "projects/123456789012/locations/us-central1/tuningJobs/{}"


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
    ref = backend.submit(make_prepared("ftr-k3v9qa"))
    assert ref.backend == "vertex" and ref.local_id == "ftr-k3v9qa"
    assert ref.remote_id == "5566778899001122334"
    assert ref.extra["name"] == JOB_NAME.format("5566778899001122334")
    assert ref.extra["project"] == "ftrouter-test" and ref.extra["region"] == "us-central1"

    statuses = poll_until_terminal(backend, ref)
    assert distinct_states(statuses) == [JobState.PENDING, JobState.RUNNING, JobState.SUCCEEDED]
    final = statuses[-1]
    assert final.raw_state == "JOB_STATE_SUCCEEDED"
    assert final.result is not None
    assert final.result.model_id == "projects/123456789012/locations/us-central1/models/7788990011223344556@1"
    assert final.result.endpoint == "projects/123456789012/locations/us-central1/endpoints/6655443322110099887"
    # "48213" (a string, as Vertex sends int64) billed once per epoch, 3 epochs
    assert final.trained_tokens == 48213 * 3
    assert final.runtime["billable_tokens"] == 48213
    assert final.runtime["example_count"] == 120
    assert final.runtime["tuning_steps"] == 45
    assert final.runtime["epochs"] == 3
    assert final.runtime["wall_time_s"] == pytest.approx(5253.987654)
    assert final.progress.step == 45 and final.progress.total_steps == 45 and final.progress.epoch == 3.0
    assert final.error is None

    running = next(s for s in statuses if s.state is JobState.RUNNING)
    assert running.result is None and running.runtime["billable_tokens"] == 48213

    events = backend.events(ref)
    assert [e.id for e in events] == ["state-created", "state-running", "stats", "checkpoint-1", "checkpoint-2",
                                      "checkpoint-3", "state-succeeded"]
    assert events[0].created_at == datetime(2026, 11, 21, 9, 0, 1, 204518, tzinfo=UTC)
    assert events[2].type == "metrics" and events[2].data["billable_tokens"] == 48213
    assert events[-1].data["tuned_model"].endswith("models/7788990011223344556@1")
    assert vcr.all_played
    # google-cloud-storage would otherwise GET the bucket's metadata from a background thread
    assert not [t for t in threading.enumerate() if "_fetch_background" in t.name]


@pytest.mark.vcr
@pytest.mark.default_cassette("job_failed")
def test_failed_job_reports_the_error(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    ref = backend.submit(make_prepared("ftr-fa1l3d"))
    statuses = poll_until_terminal(backend, ref)
    assert distinct_states(statuses) == [JobState.RUNNING, JobState.FAILED]
    final = statuses[-1]
    assert final.error is not None and final.error.code == "INVALID_ARGUMENT"
    assert "Dataset validation failed" in final.error.message
    assert final.result is None and final.trained_tokens is None
    events = backend.events(ref)
    assert events[-1].id == "state-failed" and events[-1].level == "error"
    assert "Dataset validation failed" in events[-1].message
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("job_cancelled")
def test_cancel_goes_through_cancelling_to_cancelled(backend: VertexBackend, make_prepared: Any, vcr: Any) -> None:
    ref = backend.submit(make_prepared("ftr-c4nc3l"))
    assert backend.status(ref).state is JobState.RUNNING
    after_cancel = backend.cancel(ref)
    # CANCELLING is not terminal: the job may still end otherwise
    assert after_cancel.state is JobState.RUNNING and after_cancel.raw_state == "JOB_STATE_CANCELLING"
    final = backend.status(ref)
    assert final.state is JobState.CANCELLED
    assert final.error is not None and final.error.code == "CANCELLED"
    assert backend.events(ref)[-1].id == "state-cancelled"
    assert vcr.all_played


@pytest.mark.vcr
@pytest.mark.default_cassette("find_by_local_id_found")
def test_find_by_local_id_finds_the_labelled_job(backend: VertexBackend, vcr: Any) -> None:
    found = backend.find_by_local_id_in("ftr-r3c0nc", project="ftrouter-test", region="us-central1")
    assert found is not None
    assert found.remote_id == "5566778899001122337" and found.local_id == "ftr-r3c0nc"
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

    (job_dir("ftr-r3c0nc") / "vertex-target.json").write_text(
        json.dumps({"project": "ftrouter-test", "region": "us-central1", "credentials_file": None}))
    backend = make_backend(env={"GOOGLE_CLOUD_PROJECT": "some-other-project", "GOOGLE_CLOUD_LOCATION": "asia-east1"})
    found = backend.find_by_local_id("ftr-r3c0nc")
    assert found is not None and found.remote_id == "5566778899001122337"
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
