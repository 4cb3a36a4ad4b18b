"""``ftrouter import openai`` against authored cassettes (cassettes/openai/test_import_*.yaml, authored
from the published schema, not recorded live): every page of the job list, each job's events,
checkpoints, files and model; importing twice adds nothing; a job whose files were deleted (404) or
refused (400 by purpose) is imported with what exists and says what is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from openai_shared import DATA, TEST_KEY

from ftrouter.jobs.registry import Registry
from ftrouter.migrate.deadlines import deadlines_for, utc_today

pytestmark = pytest.mark.vcr
SFT_ID, DPO_ID = "ftjob-Im1SftQ8wK2mZr5Tn1Lx7V", "ftjob-Im2DpoV3nK7wR1tM5zQ2bL"
FAILED_ID = "ftjob-Im3FailJ8rQ3xW6nT2mZ5k"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[dict[str, Any]], str]:
    code, out, err = run_cli(capsys, "import", "openai", "--json", *args)
    assert code == 0, err
    return json.loads(out), err


def test_import_all_jobs_twice_adds_nothing(capsys: pytest.CaptureFixture[str], ftrouter_home: Path) -> None:
    first, _ = _import(capsys)
    by_remote = {row["remote_id"]: row for row in first}
    assert list(by_remote) == [SFT_ID, DPO_ID, FAILED_ID]  # both pages were read
    assert all(row["new"] for row in first)

    sft = by_remote[SFT_ID]
    assert sft["state"] == "succeeded" and sft["base_model"] == "gpt-4.1-mini-2025-04-14"
    assert sft["fine_tuned_model"].startswith("ft:gpt-4.1-mini-2025-04-14:") and sft["method"] == "supervised"
    assert sft["hyperparameters"] == {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    assert sft["trained_tokens"] == 6084 and sft["missing"] == []
    assert Path(sft["files"]["training"]).read_bytes() == (DATA / "chat_train.jsonl").read_bytes()
    assert Path(sft["files"]["validation"]).read_bytes() == (DATA / "chat_val.jsonl").read_bytes()
    assert Path(sft["files"]["metrics"]).read_text().startswith("step,train_loss,")
    assert sft["new_jobs_until"] == "2027-01-06" and sft["shuts_down_on"] == "2027-01-14"
    assert sft["days_left"] == (deadlines_for("gpt-4.1-mini-2025-04-14").shuts_down_on - utc_today()).days
    assert sft["shutdown_source"] == "models API"

    dpo = by_remote[DPO_ID]
    assert dpo["method"] == "dpo" and dpo["hyperparameters"]["beta"] == 0.2
    assert dpo["files"]["validation"] is None and dpo["shutdown_source"] == "catalog"  # the API announced none
    failed = by_remote[FAILED_ID]
    assert failed["state"] == "failed" and failed["fine_tuned_model"] is None and failed["files"]["metrics"] is None
    assert Path(failed["files"]["training"]).is_file()

    registry = Registry()
    record = registry.get(SFT_ID)  # the remote id works wherever a job id does
    assert record.backend == "openai" and record.spec.method == "sft" and record.spec.hyperparameters.epochs == 3
    assert record.actual["checkpoints"] and record.actual["cost_usd"] > 0
    job_folder = Path(sft["files"]["training"]).parents[1]
    assert json.loads((job_folder / "openai" / "job.json").read_text())["seed"] == 42
    assert len(json.loads((job_folder / "openai" / "checkpoints.json").read_text())) == 2
    files_before = sorted(p for p in ftrouter_home.rglob("*") if p.is_file() and p.suffix != ".db"
                          and "jobs.db" not in p.name)

    code, out, err = run_cli(capsys, "import", "openai")  # the second import, as a person reads it
    assert code == 0, err
    assert out.count("already imported") == 3 and "0 job(s) imported, 3 already in the registry." in out
    assert registry.count() == 3
    files_after = sorted(p for p in ftrouter_home.rglob("*") if p.is_file() and p.suffix != ".db"
                         and "jobs.db" not in p.name)
    assert files_after == files_before

    code, out, _ = run_cli(capsys, "status", SFT_ID, "--offline", "--json")
    assert code == 0 and json.loads(out)["remote_id"] == SFT_ID
    code, out, _ = run_cli(capsys, "events", DPO_ID, "--offline", "--json")
    assert code == 0 and [e["message"] for e in json.loads(out)][-1] == "The job has successfully completed"
    code, out, _ = run_cli(capsys, "jobs", "--offline")
    assert code == 0 and "days left" in out and f"{sft['days_left']}d" in out


def test_import_job_with_deleted_files(capsys: pytest.CaptureFixture[str]) -> None:
    remote_id = "ftjob-Im4GoneK2mZr5Tn1Lx7VbQ"
    rows, err = _import(capsys, "--job", remote_id)
    (row,) = rows
    assert row["state"] == "succeeded" and row["new"]
    assert row["files"]["training"] is None and row["files"]["validation"] is None
    assert Path(row["files"]["metrics"]).is_file()
    training, validation, model = row["missing"]
    assert training.startswith("training file file-ImGonTr4NnQ8xW2kLm5Zp: deleted at OpenAI")
    assert validation.startswith("validation file file-ImGonVa9RtW1qN8kX3mV7: OpenAI does not allow downloading")
    assert "model ft:gpt-4.1-mini-2025-04-14:org-redacted:legacy:ImGon2Rt: not found" in model
    assert row["shuts_down_on"] == "2027-01-14" and row["shutdown_source"] == "catalog"
    assert err.count("is missing its") == 3 and "Traceback" not in err
    record = Registry().get(row["id"])
    assert record.spec.data == "openai:file-ImGonTr4NnQ8xW2kLm5Zp" and "train" not in record.files
    assert record.spec.hyperparameters.learning_rate_multiplier == 0.1


def test_reinforcement_jobs_are_listed_but_not_imported() -> None:
    from ftrouter_openai.importing import _remote_job

    job = _remote_job({"id": "ftjob-r", "method": {"type": "reinforcement"}})
    assert job.skip and "reinforcement" in job.skip
    assert _remote_job({"id": "ftjob-s"}).skip is None  # a job from before `method` existed: supervised
