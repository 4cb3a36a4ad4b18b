"""``ftrouter migrate`` on imported OpenAI jobs (registry rows as ``import openai`` writes them): the
plan's data, method, mapping with reasons, suggested model, estimate, deadlines and eval command;
refusals for jobs that cannot be moved are one line, never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

from ftrouter.jobs.models import Hyperparameters, JobError, JobResult, JobSpec, JobState
from ftrouter.jobs.paths import job_dir
from ftrouter.jobs.record import JobRecord
from ftrouter.jobs.registry import Registry

EXAMPLES = Path(__file__).resolve().parents[2] / "configs" / "examples"
OPENAI_DATA = Path(__file__).resolve().parents[1] / "providers" / "openai" / "data"
MINI = "gpt-4.1-mini-2025-04-14"
HUB_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"  # in the catalog; prepare warns about the hub but downloads nothing
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def imported(local_id: str, *, method: str = "supervised", hyper: dict[str, Any], train: Path | None,
             val: Path | None = None, state: JobState = JobState.SUCCEEDED, model: str = MINI,
             error: JobError | None = None, missing: list[str] | None = None) -> JobRecord:
    """A registry row like `import openai` writes, with its files copied into the job's folder."""
    folder = job_dir(local_id)
    files: dict[str, str] = {}
    for role, source in (("train", train), ("val", val)):
        if source is not None:
            target = folder / "data" / f"{role}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            files[role] = str(target)
    ft_model = f"ft:{model}:org-redacted:bot:{local_id[-4:]}" if state is JobState.SUCCEEDED else None
    record = JobRecord(
        id=local_id, backend="openai", remote_id=f"ftjob-{local_id[4:]}", state=state, error=error,
        result=JobResult(model_id=ft_model) if ft_model else None,  # as `import openai` records it
        spec=JobSpec(backend="openai", model=model, data=files.get("train", "openai:file-x"),
                     method="dpo" if method == "dpo" else "sft",
                     hyperparameters=Hyperparameters(epochs=hyper.get("n_epochs") if isinstance(
                         hyper.get("n_epochs"), int) else None), seed=42),
        files=files, created_at=NOW, updated_at=NOW,
        ref_extra={"imported": True, "openai_method": method, "hyperparameters": hyper, "fine_tuned_model": ft_model,
                   "missing": missing or [], "shutdown_date": None})
    Registry().add_imported(record)
    return record


def migrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code, out, err = run_cli(capsys, "migrate", *args)
    return code, json.loads(out) if code == 0 and "--json" in args else out, err


def test_sft_plan_maps_each_setting_with_a_reason_and_holds_the_validation_file_out(
        capsys: pytest.CaptureFixture[str]) -> None:
    record = imported("ftr-sft001", hyper={"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 0.1},
                      train=OPENAI_DATA / "chat_train.jsonl", val=OPENAI_DATA / "chat_val.jsonl")
    code, plan, err = migrate(capsys, record.remote_id or "", "--to", "local", "--model", HUB_MODEL, "--dry-run",
                              "--json")
    assert code == 0, err
    assert set(plan) == {"source", "target", "mapping", "estimate", "data", "deadlines", "job", "eval_command",
                         "notes"}
    assert plan["source"]["fine_tuned_model"] == f"ft:{MINI}:org-redacted:bot:t001"
    assert plan["target"] | {"model_why": None} == {
        "backend": "local", "model": HUB_MODEL, "model_why": None, "method": "sft", "epochs": 3, "learning_rate": 2e-4,
        "batch_size": 8}
    rows = {row["param"]: row for row in plan["mapping"]}
    assert rows["n_epochs"]["to"] == 3 and rows["n_epochs"]["why"].startswith("carried")
    assert rows["batch_size"]["to"] == {"per_device": 4, "gradient_accumulation_steps": 2}
    assert "never published" in rows["learning_rate_multiplier"]["why"] and rows["learning_rate_multiplier"][
        "from"] == 0.1
    assert rows["seed"]["to"] == 42
    assert plan["data"]["training"] == record.files["train"] and plan["data"]["held_out"] == record.files["val"]
    assert plan["data"]["examples"] == 10 and "imported validation file" in plan["data"]["held_out_source"]
    assert plan["deadlines"]["new_jobs_until"] == "2027-01-06" and plan["deadlines"]["base_model_shuts_down"] == \
        "2027-01-14"
    assert plan["estimate"]["backend"] == "local" and plan["job"] is None
    assert plan["eval_command"] == (f"ftrouter eval --data {record.files['val']} --model "
                                    f"openai:ft:{MINI}:org-redacted:bot:t001 --model NEW_JOB_ID")
    assert Registry().count() == 1  # a dry run records nothing


def test_without_a_model_one_is_suggested_that_fits_the_stated_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    record = imported("ftr-sft002", hyper={"n_epochs": "auto", "batch_size": "auto",
                                           "learning_rate_multiplier": "auto"}, train=OPENAI_DATA / "chat_train.jsonl")
    code, plan, err = migrate(capsys, record.id, "--to", "local", "--gpu", "L4-24GB", "--dry-run", "--json")
    assert code == 0, err
    assert plan["target"]["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert "apache-2.0" in plan["target"]["model_why"] and "fits 1 x L4-24GB" in plan["target"]["model_why"]
    assert plan["target"]["epochs"] == 3 and "not resolved" in plan["mapping"][0]["why"]
    # no validation file: a 10% split is held out and the new job trains on the rest
    assert plan["data"]["held_out"].endswith("migrations/ftr-sft002/openai/val.jsonl")
    assert plan["data"]["training"].endswith("migrations/ftr-sft002/openai/train.jsonl")
    held_out = Path(plan["data"]["held_out"]).read_text().splitlines()
    trained = Path(plan["data"]["training"]).read_text().splitlines()
    assert held_out and not set(held_out) & set(trained) and len(held_out) + len(trained) == 10


def test_dpo_carries_beta_to_local_and_vertex_refuses_it(capsys: pytest.CaptureFixture[str]) -> None:
    record = imported("ftr-dpo001", method="dpo", model="gpt-4o-mini-2024-07-18",
                      hyper={"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 1.0, "beta": 0.2},
                      train=OPENAI_DATA / "dpo_train.jsonl")
    code, plan, err = migrate(capsys, record.id, "--to", "local", "--model", HUB_MODEL, "--dry-run", "--json")
    assert code == 0, err
    target = plan["target"]
    assert (target["method"], target["beta"], target["epochs"], target["learning_rate"]) == ("dpo", 0.2, 2, 1e-5)
    assert next(row for row in plan["mapping"] if row["param"] == "beta")["why"].startswith("carried")
    assert plan["estimate"]["assumptions"]["training_method"] == "dpo"  # priced as DPO (policy + reference passes)

    code, _, err = migrate(capsys, record.id, "--to", "vertex", "--dry-run", "--json")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "sft" in err


def test_a_failed_source_job_is_planned_from_its_data_and_compared_with_its_base(
        capsys: pytest.CaptureFixture[str]) -> None:
    record = imported("ftr-fail01", hyper={"n_epochs": "auto"}, train=OPENAI_DATA / "chat_train.jsonl",
                      val=OPENAI_DATA / "chat_val.jsonl", state=JobState.FAILED,
                      error=JobError(code="invalid_file", message="the file had a bad line"))
    code, plan, err = migrate(capsys, record.id, "--to", "local", "--model", HUB_MODEL, "--dry-run", "--json")
    assert code == 0, err
    assert plan["notes"][0].startswith("the source job failed: the file had a bad line")
    assert f"--model openai:{MINI} --model NEW_JOB_ID" in plan["eval_command"]


def test_jobs_that_cannot_be_moved_are_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    gone = imported("ftr-gone01", hyper={"n_epochs": 3}, train=None,
                    missing=["training file file-abc: deleted at OpenAI or never existed (404)"])
    code, _, err = migrate(capsys, gone.id, "--to", "local", "--model", HUB_MODEL, "--dry-run")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "training file file-abc: deleted" in err and "--from-recorded" in err

    code, plan, err = migrate(capsys, gone.id, "--to", "local", "--model", HUB_MODEL, "--dry-run", "--json",
                              "--from-recorded", str(OPENAI_DATA / "chat_train.jsonl"))
    assert code == 0, err
    assert "--from-recorded" in plan["notes"][0] and plan["data"]["held_out"].endswith("recorded/val.jsonl")

    running = imported("ftr-run001", hyper={}, train=OPENAI_DATA / "chat_train.jsonl", state=JobState.RUNNING)
    code, _, err = migrate(capsys, running.id, "--to", "local", "--dry-run")
    assert code == 2 and "is still running at OpenAI" in err and len(err.strip().splitlines()) == 1

    code, _, err = migrate(capsys, "ftr-nosuch", "--to", "local", "--dry-run")
    assert code == 2 and "no job" in err

    code, _, err = migrate(capsys, gone.id, "--to", "together", "--dry-run", "--from-recorded",
                           str(OPENAI_DATA / "chat_train.jsonl"))
    assert code == 2 and "--model is required with --to together" in err


def test_the_human_plan_prints_the_mapping_and_the_eval_command(capsys: pytest.CaptureFixture[str]) -> None:
    record = imported("ftr-sft003", hyper={"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0},
                      train=OPENAI_DATA / "chat_train.jsonl", val=OPENAI_DATA / "chat_val.jsonl")
    code, out, err = migrate(capsys, record.id, "--to", "local", "--model", HUB_MODEL, "--dry-run")
    assert code == 0, err
    assert "Mapping" in out and "learning_rate_multiplier" in out and "Dry run: nothing was submitted." in out
    assert "ftrouter eval --data" in out and "NEW_JOB_ID" in out
