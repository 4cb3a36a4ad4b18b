"""The local backend through the ``ftrouter`` commands and the job registry: submit, status, cancel,
resume, status --watch, jobs (with the measured run stored as the job's ``actual``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from ftrouter_local import LocalBackend
from local_helpers import cuda_devices

pytestmark = pytest.mark.slow


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Like ``run_cli``, with JSON output parsed."""
    code, out, err = run_cli(capsys, *args)
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else out, err


def test_submit_cancel_resume_and_watch_through_the_cli(capsys: pytest.CaptureFixture[str], backend: LocalBackend,
                                                        tiny_model: Path, chat_data: Path) -> None:
    code, job, err = run(capsys, "submit", "--backend", "local", "--data", str(chat_data), "--model", str(tiny_model),
                         "--max-steps", "120", "--learning-rate", "0.003", "--batch-size", "8",
                         "--option", "logging_steps=5", "--option", "activation_checkpointing=false",
                         "--option", "max_length=96", "--option", "save_steps=1000", "--json")
    assert code == 0, err
    assert job["backend"] == "local" and job["remote_id"] == job["id"]
    # the long-example count rides along with the record (issue 11): none of these is over 96 tokens
    assert job["over_max_length"]["train"]["longer_than_max_length"] == 0
    assert job["over_max_length"]["train"]["kept"] == 64

    deadline = time.monotonic() + 90
    record: dict[str, Any] = job
    while (record["progress"]["step"] or 0) < 3:
        assert time.monotonic() < deadline and record["state"] in ("pending", "running"), record
        time.sleep(0.1)
        code, record, err = run(capsys, "status", job["id"], "--json")
        assert code == 0, err

    code, cancelled, err = run(capsys, "cancel", job["id"], "--json")
    assert code == 0, err
    assert cancelled["state"] == "cancelled" and cancelled["result"]["checkpoint"]

    code, resumed, err = run(capsys, "resume", job["id"], "--json")
    assert code == 0, err
    assert resumed["state"] in ("pending", "running")

    code, final, err = run(capsys, "status", job["id"], "--watch", "--interval", "0.3", "--json")
    assert code == 0, err
    assert final["state"] == "succeeded" and final["progress"]["step"] == 120
    assert Path(final["result"]["adapter_path"], "adapter_model.safetensors").is_file()

    code, listed, err = run(capsys, "jobs", "--json")
    assert code == 0, err
    [stored] = [r for r in listed if r["id"] == job["id"]]
    actual = stored["actual"]
    assert actual["tokens_per_second"] > 0 and actual["wall_time_s"] > 0 and actual["gpu"] == "cpu"
    assert actual["peak_memory_gb"] > 0 and actual["trained_tokens"] > 0

    code, events, err = run(capsys, "events", job["id"], "--json")
    assert code == 0, err
    assert any(e["type"] == "checkpoint" for e in events) and events[-1]["message"].startswith("succeeded")
    # prepare's warnings (a real submit prints no plan) are in the job's events, shown by --wait and events
    assert any(e["level"] == "warning" and e["message"].startswith("no cost estimate") for e in events)


def test_dry_run_shows_the_plan_and_leaves_nothing(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                                   chat_data: Path, ftrouter_home: Path) -> None:
    code, plan, err = run(capsys, "submit", "--backend", "local", "--data", str(chat_data), "--model",
                          str(tiny_model), "--dry-run", "--json", "--option", "recipe=tiny-cpu")
    assert code == 0, err
    assert plan["stats"]["train"]["records"] == 64 and plan["stats"]["train"]["tokens"] > 0
    assert plan["requests"][0]["body"]["command"][1:3] == ["-m", "ftrouter_local.worker"]
    assert plan["requests"][0]["body"]["config"]["learning_rate"] == 0.003  # from the recipe
    assert not list((ftrouter_home / "jobs").glob("*/status.json"))


@pytest.mark.skipif(cuda_devices() > 0, reason="the refusal is for machines without a CUDA GPU")
def test_qlora_on_cpu_fails_before_anything_starts(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                                   chat_data: Path) -> None:
    code, _, err = run(capsys, "submit", "--backend", "local", "--data", str(chat_data), "--model",
                       str(tiny_model), "--adapter", "qlora")
    assert code == 2
    assert err.strip().splitlines() == [
        "ftrouter: qlora_needs_gpu: QLoRA (4-bit NF4 through bitsandbytes) needs a CUDA GPU and this machine "
        "has none; use --adapter lora (or full) to train on the CPU"]


def test_bad_data_is_one_line_naming_the_file_and_line(capsys: pytest.CaptureFixture[str], tiny_model: Path,
                                                      tmp_path: Path, ftrouter_home: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}'
    bad.write_text(good + "\n" + '{"messages": [{"role": "user", "content": "hi"}\n' + good + "\n")
    code, _, err = run(capsys, "submit", "--backend", "local", "--data", str(bad), "--model", str(tiny_model))
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith(f"ftrouter: {bad}:2: ")
    assert not list((ftrouter_home / "jobs").glob("*"))  # no job folder, no half-written file
