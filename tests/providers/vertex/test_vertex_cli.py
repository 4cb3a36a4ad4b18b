"""The vertex backend through the ``ftrouter`` CLI: a dry run with no credentials at all, and a job
submitted, listed and followed (from the submit_succeeded cassette) next to an OpenAI job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli as run

from ftrouter.jobs.models import JobResult, JobSpec, JobState, JobStatus, RemoteRef


def chat_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "user", "content": f"How do I reset password {i}?"},
                          {"role": "assistant", "content": "Open Settings, then Security, then Reset."}]}
            for i in range(start, start + n)]


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    train, val = folder / "support.jsonl", folder / "support-val.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in chat_rows(20)))
    val.write_text("".join(json.dumps(r) + "\n" for r in chat_rows(4, start=100)))
    return train, val




def test_dry_run_needs_no_credentials(capsys: pytest.CaptureFixture[str], no_google_credentials: None,
                                      dataset: tuple[Path, Path]) -> None:
    train, _ = dataset
    args = ["submit", "--backend", "vertex", "--data", str(train), "--model", "gemini-2.5-flash", "--dry-run",
            "--epochs", "2", "--option", "bucket=gs://my-staging-bucket"]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "Dry run" in out and "gemini" in out and "Cost estimate" in out
    assert "POST https://us-central1-aiplatform.googleapis.com/v1/projects/<project>" in out
    assert "no project set yet" in out + err

    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["stats"]["gemini"]["train_examples"] == 20
    assert plan["estimate"]["backend"] == "vertex" and plan["estimate"]["epochs"] == 2
    assert [r["method"] for r in plan["requests"]] == ["POST", "POST"]
    assert plan["requests"][-1]["body"]["supervisedTuningSpec"]["hyperParameters"] == {"epochCount": "2"}
    assert json.loads(run(capsys, "jobs", "--json")[1]) == []  # a dry run records nothing


def test_dry_run_with_bad_data_exits_1_with_file_and_line(capsys: pytest.CaptureFixture[str],
                                                           no_google_credentials: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    rows = chat_rows(20)
    rows[2]["messages"].append({"role": "user", "content": "one more?"})  # ends on a user turn
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _out, err = run(capsys, "submit", "--backend", "vertex", "--data", str(bad), "--model", "gemini-2.5-flash",
                         "--dry-run")
    assert code == 1 and "Traceback" not in err
    assert f"{bad}:3:" in err


def test_submit_without_credentials_exits_4(capsys: pytest.CaptureFixture[str], no_google_credentials: None,
                                            dataset: tuple[Path, Path]) -> None:
    train, _ = dataset
    code, _out, err = run(capsys, "submit", "--backend", "vertex", "--data", str(train), "--model", "gemini-2.5-flash",
                         "--option", "project=ftrouter-test", "--option", "bucket=gs://ftrouter-test-bucket")
    assert code == 4 and "GOOGLE_APPLICATION_CREDENTIALS" in err and "Traceback" not in err
    [row] = json.loads(run(capsys, "jobs", "--json", "--offline")[1])  # no zombie left in `submitting`
    assert row["state"] == "failed" and row["error"]["code"] == "auth_error"
    code, _out, err = run(capsys, "cancel", row["id"])
    assert code == 2 and "already ended" in err


def openai_job_alongside(train: Path, val: Path) -> str:
    """An OpenAI job for the same data, recorded as the CLI records one (prepare is real and offline;
    the remote half is the state OpenAI would report): OpenAI's own tests cover its HTTP side."""
    from ftrouter_openai import OpenAIBackend

    from ftrouter.jobs.registry import Registry, new_local_id

    spec = JobSpec(backend="openai", model="gpt-4.1-mini-2025-04-14", data=str(train), val=str(val))
    local_id = new_local_id()
    registry = Registry()
    registry.create(OpenAIBackend().prepare(spec, local_id))
    registry.attach_remote(local_id, RemoteRef(backend="openai", remote_id="ftjob-abc123", local_id=local_id))
    registry.record_status(local_id, JobStatus(state=JobState.SUCCEEDED, raw_state="succeeded", trained_tokens=2400,
                                               result=JobResult(model_id="ft:gpt-4.1-mini-2025-04-14:org::abc")))
    return local_id


@pytest.mark.vcr
@pytest.mark.default_cassette("submit_succeeded")
def test_vertex_and_openai_jobs_side_by_side(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                            fake_credentials: Any, dataset: tuple[Path, Path], vcr: Any) -> None:
    import ftrouter_vertex.client

    monkeypatch.setattr(ftrouter_vertex.client, "load_credentials", lambda _file=None: (fake_credentials, None))
    monkeypatch.setattr("time.sleep", lambda s: None)
    train, val = dataset
    code, out, err = run(capsys, "submit", "--backend", "vertex", "--data", str(train), "--val", str(val),
                         "--model", "gemini-2.5-flash", "--epochs", "3", "--lr-multiplier", "1.0", "--suffix",
                         "support-bot", "--option", "project=ftrouter-test", "--option",
                         "bucket=gs://ftrouter-test-bucket", "--option", "adapter_size=4", "--json")
    assert code == 0, err
    vertex_id = json.loads(out)["id"]
    openai_id = openai_job_alongside(train, val)

    code, out, err = run(capsys, "jobs", "--json")  # refreshes the vertex job: still pending
    assert code == 0, err
    listed = {record["id"]: record for record in json.loads(out)}
    assert set(listed) == {vertex_id, openai_id}
    assert listed[vertex_id].keys() == listed[openai_id].keys()  # the same columns
    assert listed[vertex_id]["remote_id"] == "5566778899001122334" and listed[vertex_id]["state"] == "pending"
    assert listed[vertex_id]["estimate"]["backend"] == "vertex" and listed[openai_id]["estimate"]["backend"] == "openai"

    code, out, err = run(capsys, "jobs")  # the table: both rows, one set of columns
    assert code == 0, err
    assert vertex_id in out and openai_id in out and "vertex" in out and "openai" in out and "running" in out

    code, out, err = run(capsys, "status", vertex_id, "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["state"] == "succeeded" and status["raw_state"] == "JOB_STATE_SUCCEEDED"
    assert status["result"]["endpoint"].endswith("endpoints/6655443322110099887")
    # billable tokens from tuningDataStats, stored next to the estimate once the job ended
    assert status["actual"]["billable_tokens"] == 48213 and status["actual"]["trained_tokens"] == 48213 * 3
    assert status["estimate"]["billed_tokens"] > 0
    # the status refresh stored the events from the same read; `events` asks again (the last GET)
    code, out, err = run(capsys, "events", vertex_id, "--json")
    assert code == 0, err
    assert [event["id"] for event in json.loads(out)][-1] == "state-succeeded"
    assert vcr.all_played
