"""Faults that are hard to record, injected with a mock transport under the real SDK: rate limits,
server errors, timeouts, bad keys, the wind-down, and a crash between remote create and local record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from clirun import run_cli
from fake_openai import FakeOpenAI, Lost, error
from openai_shared import DATA, TEST_KEY

from ftrouter.errors import AuthError, Conflict, DataError, ProviderUnavailable, QuotaError
from ftrouter.jobs.models import JobSpec, JobState, PreparedJob, RemoteRef
from ftrouter.jobs.registry import Registry
from ftrouter.jobs.service import JobService

MODEL = "gpt-4.1-mini-2025-04-14"


def prepared(local_id: str = "ftr-fault1", data: Path = DATA / "chat_train.jsonl", **spec: Any) -> PreparedJob:
    job_spec = JobSpec(backend="openai", model=MODEL, data=str(data), **spec)
    return PreparedJob(spec=job_spec, local_id=local_id, files={"train": str(data)}, estimate={"cost_usd": 0.05})


def make_job(backend: Any, local_id: str = "ftr-fault1") -> RemoteRef:
    return backend.submit(prepared(local_id))


def test_submit_uploads_waits_and_creates_with_the_local_id(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                                            no_sleep: list[float]) -> None:
    ref = make_job(fake_backend())
    [job] = fake_openai.jobs.values()
    assert ref.remote_id == job["id"] and ref.local_id == "ftr-fault1"
    assert job["metadata"] == {"ftrouter_local_id": "ftr-fault1"}
    assert job["training_file"] == ref.extra["training_file"]
    assert fake_openai.calls("GET", "/v1/files/") == 1 and no_sleep == [2.0]  # waited once for processing
    upload = next(r for r in fake_openai.requests if r.url.path == "/v1/files")
    assert b'name="purpose"\r\n\r\nfine-tune' in upload.content and b'filename="chat_train.jsonl"' in upload.content


def test_429_with_retry_after_then_success(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                           no_sleep: list[float]) -> None:
    backend = fake_backend()
    ref = make_job(backend)
    no_sleep.clear()
    rate_limited = error(429, "Rate limit reached for requests", "rate_limit_exceeded", headers={"retry-after": "7"})
    fake_openai.fail("GET", f"/jobs/{ref.remote_id}", rate_limited)
    status = backend.status(ref)
    assert status.state is JobState.PENDING and status.raw_state == "queued"
    assert no_sleep == [7.0]
    assert fake_openai.calls("GET", f"/jobs/{ref.remote_id}") == 2


def test_retry_after_ms_wins_and_long_waits_are_not_retried(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                                            no_sleep: list[float]) -> None:
    backend = fake_backend()
    ref = make_job(backend)
    no_sleep.clear()
    fake_openai.fail("GET", f"/jobs/{ref.remote_id}", error(429, "slow down", headers={"retry-after-ms": "1500"}),
                     error(429, "come back tomorrow", headers={"retry-after": "86400"}))
    with pytest.raises(Exception, match="come back tomorrow") as info:
        backend.status(ref)
    assert info.value.code == "rate_limited" and no_sleep == [1.5]


def test_500_twice_then_success_creates_exactly_one_job(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                                        no_sleep: list[float]) -> None:
    fake_openai.fail("POST", "/fine_tuning/jobs", error(500, "The server had an error", kind="server_error"),
                     error(502, "Bad gateway", kind="server_error"))
    ref = make_job(fake_backend())
    assert len(fake_openai.jobs) == 1 and ref.remote_id in fake_openai.jobs
    assert fake_openai.calls("POST", "/fine_tuning/jobs") == 3
    assert fake_openai.calls("GET", "/v1/fine_tuning/jobs") == 2  # looked for a created job before each retry
    assert len(no_sleep) == 3 and no_sleep[1] <= no_sleep[2]  # file wait, then growing backoff


def test_create_whose_answer_is_lost_is_not_sent_twice(fake_openai: FakeOpenAI,
                                                       fake_backend: Callable[..., Any]) -> None:
    fake_openai.fail("POST", "/fine_tuning/jobs", Lost(error(503, "upstream connect error", kind="server_error")))
    ref = make_job(fake_backend())
    assert len(fake_openai.jobs) == 1 and ref.remote_id in fake_openai.jobs
    assert fake_openai.calls("POST", "/fine_tuning/jobs") == 1


def test_timeout_is_retried_then_succeeds(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any]) -> None:
    backend = fake_backend()
    ref = make_job(backend)
    fake_openai.fail("GET", f"/jobs/{ref.remote_id}", httpx2.ReadTimeout("timed out"))
    assert backend.status(ref).state is JobState.PENDING


def test_timeouts_that_persist_are_a_provider_failure(fake_openai: FakeOpenAI,
                                                      fake_backend: Callable[..., Any]) -> None:
    backend = fake_backend(attempts=3)
    ref = make_job(backend)
    fake_openai.fail("GET", f"/jobs/{ref.remote_id}", *[httpx2.ConnectTimeout("timed out")] * 5)
    with pytest.raises(ProviderUnavailable, match="did not answer in time") as info:
        backend.status(ref)
    assert info.value.exit_code == 3
    assert fake_openai.calls("GET", f"/jobs/{ref.remote_id}") == 3


def test_401_is_not_retried_and_exits_4(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                        no_sleep: list[float]) -> None:
    masked = f"Incorrect API key provided: {TEST_KEY[:8]}***{TEST_KEY[-4:]}. You can find your API key at ..."
    fake_openai.fail("POST", "/v1/files", error(401, masked, "invalid_api_key"))
    with pytest.raises(AuthError) as info:
        make_job(fake_backend())
    assert info.value.exit_code == 4 and "OPENAI_API_KEY" in str(info.value)
    assert TEST_KEY[-4:] not in str(info.value) and TEST_KEY[:8] not in str(info.value)
    assert fake_openai.calls("POST", "/v1/files") == 1 and no_sleep == []


def test_wind_down_is_a_plain_error_that_suggests_other_backends(fake_openai: FakeOpenAI,
                                                                 fake_backend: Callable[..., Any]) -> None:
    fake_openai.fail("POST", "/fine_tuning/jobs", error(
        403, "Fine-tuning is no longer available to your organization.", "fine_tuning_unavailable"))
    with pytest.raises(QuotaError) as info:
        make_job(fake_backend())
    message = str(info.value)
    assert info.value.code == "fine_tuning_unavailable"
    assert "winding down" in message and "--backend vertex" in message and "--backend local" in message
    assert "no longer available" in message  # OpenAI's own words are kept


def test_out_of_quota_is_not_retried(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any]) -> None:
    fake_openai.fail("POST", "/fine_tuning/jobs", error(429, "You exceeded your current quota.", "insufficient_quota"))
    with pytest.raises(QuotaError, match="out of quota"):
        make_job(fake_backend())
    assert fake_openai.calls("POST", "/fine_tuning/jobs") == 1


def test_file_rejected_by_openai_is_a_data_error(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any]) -> None:
    fake_openai.fail("GET", "/v1/files/", httpx2.Response(200, json={
        "id": "file-fake000001", "object": "file", "bytes": 10, "created_at": 1, "filename": "chat_train.jsonl",
        "purpose": "fine-tune", "status": "error", "status_details": "Invalid file format."}))
    with pytest.raises(DataError, match="Invalid file format") as info:
        make_job(fake_backend())
    assert info.value.path and info.value.path.endswith("chat_train.jsonl")
    assert fake_openai.jobs == {}


def test_missing_key_names_the_variable() -> None:
    from ftrouter_openai import OpenAIBackend

    with pytest.raises(AuthError, match="OPENAI_API_KEY is not set") as info:
        OpenAIBackend().status(RemoteRef(backend="openai", remote_id="ftjob-x", local_id="ftr-x"))
    assert info.value.exit_code == 4


def test_paused_pending_and_unknown_states(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any]) -> None:
    backend = fake_backend()
    ref = make_job(backend)
    assert backend.pause(ref).state is JobState.PAUSED
    fake_openai.advance = False
    fake_openai.jobs[ref.remote_id]["status"] = "pending"
    assert backend.status(ref).state is JobState.PENDING
    fake_openai.jobs[ref.remote_id]["status"] = "archiving"
    status = backend.status(ref)
    assert status.state is JobState.UNKNOWN and status.raw_state == "archiving"
    assert backend.resume(ref).raw_state == "queued"


def _service(backend: Any) -> JobService:
    return JobService(Registry(), backend_factory=lambda name: backend, sleep=lambda s: None)


def test_crash_after_remote_create_is_reconciled(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any]) -> None:
    """The process dies between OpenAI's create and the registry update: the next command finds the
    job by its metadata and attaches it — exactly one remote job, a consistent registry."""
    backend = fake_backend()
    service = _service(backend)
    job = prepared("ftr-crash1")
    service.registry.create(job)
    backend.submit(job)  # created remotely; the registry never heard back
    import socket
    import sqlite3
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with sqlite3.connect(service.registry.path) as conn:  # the process that was submitting it is gone
        conn.execute("UPDATE jobs SET submitter = ? WHERE local_id = 'ftr-crash1'",
                     (f"{socket.gethostname()}:{dead.stdout.strip()}",))
    [record] = service.refresh_many(service.registry.list_jobs())
    assert len(fake_openai.jobs) == 1
    [remote] = fake_openai.jobs.values()
    assert record.remote_id == remote["id"] and record.state is JobState.PENDING and record.raw_state == "queued"
    assert service.registry.get(remote["id"]).id == "ftr-crash1"
    assert [r.id for r in service.registry.list_jobs(include_all=True)] == ["ftr-crash1"]


def test_lost_create_answer_through_the_service(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The create call goes through but every retry fails: the service still finds and records it."""
    backend = fake_backend(attempts=1)
    monkeypatch.setattr(backend, "prepare", lambda spec, local_id: prepared(local_id))
    fake_openai.fail("POST", "/fine_tuning/jobs", Lost(httpx2.RemoteProtocolError("connection reset")))
    record = _service(backend).submit(JobSpec(backend="openai", model=MODEL, data="x.jsonl"))
    assert record.state is JobState.PENDING and record.remote_id in fake_openai.jobs and len(fake_openai.jobs) == 1




@pytest.fixture
def cli_backend(fake_backend: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI's service builds this backend (the fake OpenAI behind the real SDK) for "openai"."""
    backend = fake_backend()
    monkeypatch.setattr("ftrouter.jobs.service.get_backend", lambda name: backend)
    return backend


def test_cli_submit_wait_and_status_against_the_fake(fake_openai: FakeOpenAI, cli_backend: Any,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda s: None)
    code, out, err = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                             "--model", MODEL, "--wait", "--json", "--interval", "0.01")
    assert code == 0, err
    record = json.loads(out)
    assert record["state"] == "succeeded" and record["result"]["model_id"].startswith("ft:")
    assert record["actual"]["trained_tokens"] == 4200 and record["actual"]["cost_usd"] == pytest.approx(0.021)
    assert record["estimate"]["billed_tokens"] > 0
    code, out, _ = run_cli(capsys, "events", record["id"], "--json")
    assert [e["message"] for e in json.loads(out)][-1] == "status: succeeded"


def test_cli_exit_codes_for_auth_and_wind_down(fake_openai: FakeOpenAI, cli_backend: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    args = ("submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"), "--model", MODEL)
    bad_key = error(401, f"Incorrect API key provided: {TEST_KEY[:9]}...", "invalid_api_key")
    fake_openai.fail("POST", "/v1/files", bad_key)
    code, _, err = run_cli(capsys, *args)
    assert code == 4 and "invalid_api_key" in err and "Traceback" not in err and TEST_KEY[:9] not in err
    fake_openai.fail("POST", "/fine_tuning/jobs", error(400, "Fine-tuning is not available for new users.", None))
    code, _, err = run_cli(capsys, *args)
    assert code == 3 and "fine_tuning_unavailable" in err and "--backend vertex" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run_cli(capsys, "jobs", "--json", "--offline")
    assert [r["state"] for r in json.loads(out)] == ["failed", "failed"]  # both attempts recorded, ended


def test_cli_status_reports_provider_failure_with_last_known_state(fake_openai: FakeOpenAI, cli_backend: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                           "--model", MODEL, "--json")
    local_id = json.loads(out)["id"]
    fake_openai.fail("GET", "/fine_tuning/jobs/", *[error(503, "Service unavailable", kind="server_error")] * 5)
    code, out, err = run_cli(capsys, "status", local_id, "--json")
    assert code == 3 and json.loads(out)["refresh_error"] and "Service unavailable" in err


# -- a create whose outcome is unknown (issue 17 item 1) ------------------------------------------


def test_lost_create_with_a_failing_lookup_sends_one_create_and_records_unknown(
        fake_openai: FakeOpenAI, cli_backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """503 after OpenAI created the job, and the lookup by local id answers 500: one create only (it
    was five), the job is `unknown` with what was sent, exit 3 saying so; the next status settles it."""
    fake_openai.fail("POST", "/fine_tuning/jobs", Lost(error(503, "upstream connect error", kind="server_error")))
    fake_openai.fail("GET", "/v1/fine_tuning/jobs", *[error(500, "The server had an error", kind="server_error")] * 5)
    code, _, err = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                           "--model", MODEL)
    assert code == 3 and "submit_unconfirmed" in err and "NOT sent again" in err and "ftrouter status" in err
    assert fake_openai.calls("POST", "/fine_tuning/jobs") == 1 and len(fake_openai.jobs) == 1
    code, out, _ = run_cli(capsys, "jobs", "--json", "--offline")
    [row] = json.loads(out)
    assert row["state"] == "unknown" and row["remote_id"] is None and row["error"]["code"] == "submit_unconfirmed"
    assert row["ref_extra"]["unconfirmed_request"]["metadata"] == {"ftrouter_local_id": row["id"]}
    code, out, _ = run_cli(capsys, "status", row["id"], "--json")
    assert code == 0
    [remote] = fake_openai.jobs.values()
    assert json.loads(out)["remote_id"] == remote["id"] and fake_openai.calls("POST", "/fine_tuning/jobs") == 1


def test_unknown_job_that_was_never_created_fails_at_the_next_command(
        fake_openai: FakeOpenAI, cli_backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake_openai.fail("POST", "/fine_tuning/jobs", error(503, "upstream connect error", kind="server_error"))
    fake_openai.fail("GET", "/v1/fine_tuning/jobs", *[error(500, "The server had an error", kind="server_error")] * 5)
    code, _, _ = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                         "--model", MODEL)
    assert code == 3 and fake_openai.calls("POST", "/fine_tuning/jobs") == 1
    code, out, _ = run_cli(capsys, "jobs", "--json")
    [row] = json.loads(out)
    assert row["state"] == "failed" and row["error"]["code"] == "submit_interrupted" and fake_openai.jobs == {}


def test_create_answered_without_an_id_is_an_error_not_remote_id_none(
        fake_openai: FakeOpenAI, cli_backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake_openai.fail("POST", "/fine_tuning/jobs", httpx2.Response(200, json={}))
    code, _, err = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                           "--model", MODEL)
    assert code == 3 and "without a job id" in err and "None" not in err
    assert fake_openai.calls("POST", "/fine_tuning/jobs") == 1  # not re-sent: looked up (nothing) instead
    code, out, _ = run_cli(capsys, "jobs", "--json", "--offline")
    [row] = json.loads(out)
    assert row["state"] == "failed" and row["remote_id"] is None and row["error"]["code"] == "bad_response"


def test_upload_answered_without_an_id_is_an_error_not_a_key_error(
        fake_openai: FakeOpenAI, cli_backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake_openai.fail("POST", "/v1/files", httpx2.Response(200, json={"object": "file"}))
    code, _, err = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                           "--model", MODEL)
    assert code == 3 and "without a file id" in err and "KeyError" not in err
    assert fake_openai.calls("POST", "/fine_tuning/jobs") == 0


def test_unreachable_upload_ends_the_row_failed_not_submitting(
        fake_openai: FakeOpenAI, cli_backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """No zombie: the create was never sent, so the row ends `failed` at once (no lookup needed)."""
    fake_openai.fail("POST", "/v1/files", *[httpx2.ConnectError("connection refused")] * 5)
    code, _, err = run_cli(capsys, "submit", "--backend", "openai", "--data", str(DATA / "chat_train.jsonl"),
                           "--model", MODEL)
    assert code == 3 and "cannot reach OpenAI" in err
    code, out, _ = run_cli(capsys, "jobs", "--json", "--offline")
    [row] = json.loads(out)
    assert row["state"] == "failed" and row["error"]["code"] == "connection_error"
    assert fake_openai.calls("GET", "/v1/fine_tuning/jobs") == 0
    code, _, err = run_cli(capsys, "cancel", row["id"])
    assert code == 2 and "already ended" in err


def test_retry_after_http_date_with_minus_0000_is_retried(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any],
                                                          no_sleep: list[float]) -> None:
    backend = fake_backend()
    ref = make_job(backend)
    no_sleep.clear()
    fake_openai.fail("GET", f"/jobs/{ref.remote_id}",
                     error(429, "slow down", headers={"retry-after": "Sun, 06 Nov 1994 08:49:37 -0000"}))
    assert backend.status(ref).state is JobState.PENDING  # was: TypeError (naive vs aware), exit 70
    assert len(no_sleep) == 1 and 0 < no_sleep[0] <= 1.0  # a past date: now, but still the backoff


def test_409_is_not_retried(fake_openai: FakeOpenAI, fake_backend: Callable[..., Any]) -> None:
    backend = fake_backend()
    ref = make_job(backend)
    fake_openai.fail("POST", f"/jobs/{ref.remote_id}/cancel", error(409, "Job is already completed."))
    with pytest.raises(Conflict):
        backend.cancel(ref)
    assert fake_openai.calls("POST", f"/jobs/{ref.remote_id}/cancel") == 1
