"""The job commands end to end: submit / status / jobs / events / cancel / pause / resume, exit codes,
JSON contracts, and several CLI processes sharing one registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import run_cli as run

from ftrouter.plugins import Builtin

FAKE_DIR = Path(__file__).resolve().parent.parent / "jobs"
FAKE_CLI = FAKE_DIR / "fake_backend.py"
if str(FAKE_DIR) not in sys.path:
    sys.path.insert(0, str(FAKE_DIR))


@pytest.fixture(autouse=True)
def _fake_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from ftrouter import backends

    monkeypatch.setitem(backends.BUILTIN_BACKENDS, "fake",
                        Builtin("fake_backend:FakeBackend", "(test backend)"))
    monkeypatch.setattr("time.sleep", lambda s: None)  # --wait / --watch poll without waiting


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(f'{{"messages": [{{"role": "user", "content": "q{i}"}}]}}\n' for i in range(4)))
    return path




def submit_json(capsys: pytest.CaptureFixture[str], train_file: Path, *extra: str) -> dict:
    code, out, err = run(capsys, "submit", "--backend", "fake", "--data", str(train_file), "--model", "tiny",
                         "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_jobs_json_on_a_new_registry_is_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "jobs", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "jobs")
    assert code == 0 and "No jobs yet" in out


def test_dry_run_shows_plan_and_records_nothing(capsys: pytest.CaptureFixture[str], train_file: Path) -> None:
    code, out, _ = run(capsys, "submit", "--backend", "fake", "--data", str(train_file), "--model", "tiny",
                       "--dry-run")
    assert code == 0
    assert "Dry run" in out and "fake://jobs" in out and "examples" in out
    code, out, _ = run(capsys, "submit", "--backend", "fake", "--data", str(train_file), "--model", "tiny",
                       "--dry-run", "--json", "--option", "region=eu", "--epochs", "2")
    plan = json.loads(out)
    assert plan["spec"]["options"] == {"region": "eu"} and plan["spec"]["hyperparameters"]["epochs"] == 2
    assert json.loads(run(capsys, "jobs", "--json")[1]) == []


def test_submit_prints_the_backends_preparation_warnings(capsys: pytest.CaptureFixture[str],
                                                         train_file: Path) -> None:
    code, out, err = run(capsys, "submit", "--backend", "fake", "--data", str(train_file), "--model", "m",
                         "--option", "warn=the model will be downloaded from the hub")
    assert code == 0 and out.startswith("submitted ftr-")
    assert "ftrouter: warning: the model will be downloaded from the hub" in err


def test_submit_status_events_cancel_contract(capsys: pytest.CaptureFixture[str], train_file: Path) -> None:
    record = submit_json(capsys, train_file, "--suffix", "demo", "--seed", "7", "--option", "n=3")
    assert record["id"].startswith("ftr-") and record["state"] == "pending" and record["remote_id"]
    assert record["spec"]["options"] == {"n": 3} and record["spec"]["seed"] == 7

    code, out, _ = run(capsys, "status", record["id"], "--json")
    status = json.loads(out)
    for key in ("id", "backend", "remote_id", "state", "raw_state", "progress", "metrics", "result", "error",
                "estimate", "actual"):
        assert key in status
    assert status["state"] == "running" and status["progress"]["step"] == 1 and status["estimate"] == {"usd": 0.04}

    code, out, _ = run(capsys, "events", record["id"], "--json")
    assert code == 0 and [e["message"] for e in json.loads(out)] == ["step 1"]
    code, out, _ = run(capsys, "status", record["remote_id"])  # the backend's id works too
    assert code == 0 and record["id"] in out and "running" in out

    code, out, _ = run(capsys, "cancel", record["id"], "--json")
    assert code == 0 and json.loads(out)["state"] == "cancelled"
    code, out, _ = run(capsys, "jobs", "--json")
    assert [r["state"] for r in json.loads(out)] == ["cancelled"]


@pytest.mark.slow  # waits on the poll schedule (about 10 s)
def test_wait_exits_zero_on_success_and_three_on_failure(capsys: pytest.CaptureFixture[str],
                                                          train_file: Path) -> None:
    code, out, err = run(capsys, "submit", "--backend", "fake", "--data", str(train_file), "--model", "tiny",
                         "--wait", "--interval", "0.01")
    assert code == 0, err
    assert "succeeded" in out and "step 3/3" in out and "loss" in out

    record = submit_json(capsys, train_file, "--option", "fail=true")
    code, out, err = run(capsys, "status", record["id"], "--watch", "--json")
    assert code == 3
    assert json.loads(out)["state"] == "failed"
    assert "job_failed" in err and "training diverged" in err and "Traceback" not in err


def test_resume_hook_and_unsupported_pause(capsys: pytest.CaptureFixture[str], train_file: Path) -> None:
    record = submit_json(capsys, train_file)
    code, out, _ = run(capsys, "resume", record["id"], "--json")
    assert code == 0 and json.loads(out)["state"] == "pending"
    code, _, err = run(capsys, "pause", record["id"])
    assert code == 2 and "cannot pause" in err


@pytest.mark.parametrize(("args", "code", "message"), [
    (("status", "ftr-nothere"), 2, "job_not_found"),
    (("submit", "--backend", "fake", "--data", "missing.jsonl", "--model", "m"), 2, "missing.jsonl"),
    (("submit", "--backend", "nope", "--data", "{train}", "--model", "m"), 2, "unknown backend"),
    (("submit", "--backend", "fake", "--data", "{train}", "--model", "m", "--method", "rl"), 2, "--method"),
    (("submit", "--backend", "fake", "--data", "{train}", "--model", "m", "--epochs", "0"), 2, "--epochs"),
    (("submit", "--backend", "fake", "--data", "{train}", "--model", "m", "--lr-multiplier", "-1"), 2,
     "--lr-multiplier:"),
    (("submit", "--backend", "fake", "--data", "{train}", "--model", "m", "--option", "x"), 2, "KEY=VALUE"),
])
def test_bad_input_is_one_line_and_an_exit_code(capsys: pytest.CaptureFixture[str], train_file: Path,
                                               args: tuple[str, ...], code: int, message: str) -> None:
    args = tuple(a.replace("{train}", str(train_file)) for a in args)
    got, _, err = run(capsys, *args)
    assert got == code and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FTROUTER_HOME": str(home)}
    return subprocess.run([sys.executable, str(FAKE_CLI), *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.slow
def test_concurrent_cli_processes_keep_every_job(ftrouter_home: Path, train_file: Path) -> None:
    env = {**os.environ, "FTROUTER_HOME": str(ftrouter_home)}
    command = [sys.executable, str(FAKE_CLI), "submit", "--backend", "fake", "--data", str(train_file), "--model",
               "tiny", "--wait", "--interval", "0.01", "--json"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(6)]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]
    ids = {json.loads(out)["id"] for out, _ in results}
    listed = json.loads(_cli(ftrouter_home, "jobs", "--all", "--json").stdout)
    assert len(ids) == 6 and {r["id"] for r in listed} == ids
    assert all(r["state"] == "succeeded" and r["actual"]["trained_tokens"] == 1234 for r in listed)


@pytest.mark.slow
def test_crashed_submit_is_reconciled_by_the_next_command(ftrouter_home: Path, train_file: Path) -> None:
    crashed = _cli(ftrouter_home, "submit", "--backend", "fake", "--data", str(train_file), "--model", "tiny",
                   "--option", "crash=true")
    assert crashed.returncode == 17  # died right after the remote create, before recording it
    [row] = json.loads(_cli(ftrouter_home, "jobs", "--offline", "--json").stdout)
    assert row["state"] == "submitting" and row["remote_id"] is None
    [row] = json.loads(_cli(ftrouter_home, "jobs", "--json").stdout)
    assert row["state"] == "running" and row["remote_id"] == "fakejob-" + row["id"][4:]
    assert len(list((ftrouter_home / "fake-remote").glob("*.json"))) == 1


# -- ended jobs, jobs rm, JSON errors, broken pipes (issue 11 item 3) -----------------------------


def test_cancel_on_an_ended_job_behaves_like_pause(capsys: pytest.CaptureFixture[str], train_file: Path) -> None:
    record = submit_json(capsys, train_file)
    assert run(capsys, "cancel", record["id"])[0] == 0
    cancel_code, _, cancel_err = run(capsys, "cancel", record["id"])
    pause_code, _, pause_err = run(capsys, "pause", record["id"])
    assert cancel_code == pause_code == 2
    assert "job_ended" in cancel_err and "has already ended (cancelled); there is nothing to cancel" in cancel_err
    assert pause_err.replace("pause", "cancel") == cancel_err


def test_jobs_rm_needs_yes_without_a_terminal(capsys: pytest.CaptureFixture[str], train_file: Path,
                                              ftrouter_home: Path) -> None:
    record = submit_json(capsys, train_file)
    run(capsys, "cancel", record["id"])
    folder = ftrouter_home / "jobs" / record["id"]
    assert folder.is_dir()
    code, _, err = run(capsys, "jobs", "rm", record["id"])  # pytest's stdin is not a terminal
    assert code == 2 and "--yes" in err and folder.is_dir()
    code, out, _ = run(capsys, "jobs", "rm", record["id"], "--yes", "--json")
    assert code == 0 and json.loads(out) == {"removed": [record["id"]]}
    assert not folder.exists() and json.loads(run(capsys, "jobs", "--all", "--json")[1]) == []
    code, _, err = run(capsys, "status", record["id"])
    assert code == 2 and "job_not_found" in err


def test_jobs_rm_asks_on_a_terminal(capsys: pytest.CaptureFixture[str], train_file: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    first, second = submit_json(capsys, train_file), submit_json(capsys, train_file)
    for record in (first, second):
        run(capsys, "cancel", record["id"])
    monkeypatch.setattr("ftrouter.cli.jobs._interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "jobs", "rm", first["id"])
    assert code == 2 and "nothing was removed" in err and first["id"] in err
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out, _ = run(capsys, "jobs", "rm", first["id"])
    assert code == 0 and f"removed {first['id']}" in out
    assert [r["id"] for r in json.loads(run(capsys, "jobs", "--all", "--json")[1])] == [second["id"]]


def test_jobs_rm_refuses_a_job_that_may_still_run(capsys: pytest.CaptureFixture[str], train_file: Path) -> None:
    active = submit_json(capsys, train_file)
    code, _, err = run(capsys, "jobs", "rm", "missing-id", active["id"], "--yes", "--force")
    assert code == 2 and "job_not_found" in err  # nothing is removed when one id is wrong
    code, _, err = run(capsys, "jobs", "rm", active["id"], "--yes")
    assert code == 2 and "has not ended" in err and "ftrouter cancel" in err
    code, _, _ = run(capsys, "jobs", "rm", active["id"], "--yes", "--force")
    assert code == 0 and json.loads(run(capsys, "jobs", "--all", "--json")[1]) == []


def test_jobs_rm_removes_a_submission_that_never_reached_its_backend(capsys: pytest.CaptureFixture[str],
                                                                     train_file: Path) -> None:
    code, _, _ = run(capsys, "submit", "--backend", "fake", "--data", str(train_file), "--model", "tiny",
                     "--option", "refuse=true")
    [row] = json.loads(run(capsys, "jobs", "--json", "--offline")[1])
    assert code == 1 and row["state"] == "failed" and row["remote_id"] is None
    assert run(capsys, "jobs", "rm", row["id"], "-y")[0] == 0


@pytest.mark.parametrize("args", [("status", "ftr-nothere", "--json"), ("status", "--json"),
                                  ("jobs", "--bogus", "--json"), ("cancel", "ftr-nothere", "--json")])
def test_errors_are_json_under_json(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    error = json.loads(err)["error"]
    assert error["exit_code"] == 2 and error["code"] in ("job_not_found", "usage") and error["message"]


def test_errors_without_json_stay_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "status", "ftr-nothere")
    assert code == 2 and out == "" and err.startswith("ftrouter: job_not_found: ") and len(err.splitlines()) == 1


@pytest.mark.slow
def test_a_broken_pipe_exits_quietly(ftrouter_home: Path, train_file: Path) -> None:
    for _ in range(3):
        assert _cli(ftrouter_home, "submit", "--backend", "fake", "--data", str(train_file), "--model",
                    "tiny").returncode == 0
    env = {**os.environ, "FTROUTER_HOME": str(ftrouter_home)}
    for args in (("jobs", "--all", "--offline"), ("jobs", "--all", "--offline", "--json")):
        proc = subprocess.Popen([sys.executable, str(FAKE_CLI), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before anything is written (`| head -0`)
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
        assert proc.returncode == 1 and err == "", err  # quiet: no traceback, no "Exception ignored"
